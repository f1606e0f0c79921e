"""Revenue and currency in the import report: a CRM's Annual Revenue is company size, not revenue with us; a book
without revenue with us says so plainly; the currency is the user's, the file's, or a default the report names."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.io import ImportFileError, build_mapping, detect_preset, import_book


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def _salesforce(n: int = 423, with_revenue: int = 2, **extra) -> bytes:
    rev = [""] * n
    for i in range(with_revenue):
        rev[i] = str(84_000_000_000 + i * 430_000_000)
    df = pd.DataFrame({"ID": [f"001x{i:011d}" for i in range(n)], "NAME": [f"Acct {i}" for i in range(n)],
                       "OWNERID": "005x0000000001", "BILLINGCOUNTRY": "US", "ANNUALREVENUE": rev,
                       "NUMBEROFEMPLOYEES": "", "ISDELETED": "false", "SYSTEMMODSTAMP": "2024-01-01T00:00:00.000Z",
                       **extra})
    return _csv(df)


def _revenue_warnings(book) -> list[str]:
    return [w for w in book.report.warnings if "revenue" in w.lower()]


def test_salesforce_annual_revenue_is_company_size_not_revenue_with_us():
    book = import_book(("accountData.csv", _salesforce()))
    acc = book.accounts
    assert book.report.files[0]["detected"]["preset"] == "salesforce"
    assert book.report.files[0]["detected"]["mapping"]["annual_revenue"] == "ANNUALREVENUE"
    assert "revenue_12m" not in book.report.files[0]["detected"]["mapping"]
    assert acc["annual_revenue"].iloc[0] == pytest.approx(8.4e10) and acc["annual_revenue"].notna().sum() == 2
    assert (acc["revenue_12m"] == 0).all()
    (warning,) = _revenue_warnings(book)
    assert warning.startswith("accountData.csv: no column with revenue with us was found")
    assert "'ANNUALREVENUE' is the customer's own annual revenue" in warning and "continuity costs" in warning
    assert not any("ANNUALREVENUE' missing" in w or "(421)" in w for w in book.report.warnings)
    assert any("'ANNUALREVENUE' is the customer company's own annual revenue" in n for n in book.report.notes)


def test_a_mapping_can_still_name_annual_revenue_as_revenue_with_us():
    book = import_book(("accountData.csv", _salesforce()), mapping={"columns": {"revenue_12m": "ANNUALREVENUE"}})
    assert book.accounts["revenue_12m"].max() == pytest.approx(8.443e10)
    assert "annual_revenue" not in book.accounts
    (warning,) = _revenue_warnings(book)
    # 421 of 423 rows are empty: that is not "100%"
    assert warning == ("accountData.csv: 'ANNUALREVENUE' is empty in 421 of 423 rows (>99%); those rows count as "
                       "0 revenue.")


def test_company_revenue_that_is_no_number_is_left_empty_with_rows_named():
    data = _salesforce(n=5, with_revenue=0).replace(b"\n001x00000000002,Acct 2,005x0000000001,US,,",
                                                    b"\n001x00000000002,Acct 2,005x0000000001,US,huge,")
    book = import_book(("sf.csv", data))
    assert book.report.rows_accepted == 5 and book.accounts["annual_revenue"].isna().all()
    assert any("1 values of 'ANNUALREVENUE' are not numbers (row 3 'huge')" in w for w in book.report.warnings)


def test_file_without_any_revenue_column_warns_what_that_means():
    data = _csv(pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Alpha", "Beta"], "owner_id": ["M1", "M2"]}))
    book = import_book(("accounts.csv", data))
    assert (book.accounts["revenue_12m"] == 0).all()
    (warning,) = _revenue_warnings(book)
    assert warning.startswith("accounts.csv: no column with revenue with us was found; revenue_12m is 0 for every")
    assert "revenue KPIs, continuity costs" in warning and "mapping file" in warning


def test_revenue_column_of_zeros_warns_too():
    data = _csv(pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Alpha", "Beta"], "revenue_12m": [0, 0]}))
    book = import_book(("zeros.csv", data))
    (warning,) = _revenue_warnings(book)
    assert warning.startswith("zeros.csv: every accepted account has 0 revenue in 'revenue_12m'")


def test_canonical_headers_are_not_taken_for_salesforce():
    headers = ["account_id", "name", "parent_id", "owner_id", "revenue_12m"]
    assert detect_preset(headers)[0] == "generic"
    assert build_mapping(headers).columns["revenue_12m"] == "revenue_12m"


# ---------------------------------------------------------------------------------------------- currency


def _plain() -> bytes:
    return _csv(pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Alpha", "Beta"], "revenue_12m": [10, 20]}))


def test_defaulted_currency_is_named_with_how_to_set_it():
    book = import_book(("accounts.csv", _plain()))
    assert book.currency == "EUR"
    (note,) = [n for n in book.report.notes if "currency" in n]
    assert "labelled EUR by default" in note and "--currency" in note and "Import step" in note


def test_currency_given_by_the_user_needs_no_note_and_is_checked():
    book = import_book(("accounts.csv", _plain()), currency="usd")
    assert book.currency == "USD" and not [n for n in book.report.notes if "currency" in n]
    with pytest.raises(ImportFileError, match="not a three-letter ISO 4217 code"):
        import_book(("accounts.csv", _plain()), currency="dollars")


def test_currency_iso_code_column_sets_the_currency():
    book = import_book(("sf.csv", _salesforce(n=4, CURRENCYISOCODE="USD")))
    assert book.currency == "USD"
    assert any("currency USD, found in column 'CURRENCYISOCODE'" in n for n in book.report.notes)
    # a user who says otherwise is followed, with a warning
    book = import_book(("sf.csv", _salesforce(n=4, CURRENCYISOCODE="USD")), currency="EUR")
    assert book.currency == "EUR" and any("says USD" in w for w in book.report.warnings)


def test_mixed_currency_column_warns():
    book = import_book(("sf.csv", _salesforce(n=4, CURRENCYISOCODE=["USD", "USD", "USD", "EUR"])))
    assert book.currency == "USD"
    assert any("mixes currencies (USD 3, EUR 1 rows)" in w for w in book.report.warnings)


def test_currency_signs_on_revenue_set_the_currency():
    data = b"Kunde;Umsatz\nA;1.234,50 \xe2\x82\xac\nB;99,00 \xe2\x82\xac\n"
    book = import_book(("de.csv", data))
    assert book.currency == "EUR" and book.accounts["revenue_12m"].tolist() == [1234.5, 99.0]
    assert any("currency EUR, found in the € sign" in n for n in book.report.notes)
    book = import_book(("us.csv", b"Customer,Revenue\nA,\"$1,200.00\"\nB,$80.00\n"))
    assert book.currency == "USD"


def test_the_cli_names_a_defaulted_currency_and_the_book_keeps_its_own(tmp_path, capsys):
    # `workbench import` used to pass --currency EUR by default, so a defaulted currency looked chosen; and a saved
    # USD book came back as EUR
    from workbench.book import load_book
    from workbench.cli import main

    src = tmp_path / "accounts.csv"
    src.write_bytes(_csv(pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Alpha", "Beta"],
                                       "revenue_12m": [10, 20], "owner_id": ["M1", "M2"]})))
    assert main(["import", str(src), "--out", str(tmp_path / "eur")]) == 0
    assert "labelled EUR by default" in capsys.readouterr().out
    assert main(["import", str(src), "--currency", "USD", "--out", str(tmp_path / "usd")]) == 0
    assert load_book(tmp_path / "usd").currency == "USD" and load_book(tmp_path / "eur").currency == "EUR"
    assert load_book(tmp_path / "usd", currency="CHF").currency == "CHF"  # said by the caller: the caller wins

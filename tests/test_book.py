"""AccountBook: load/save round trip, report accounting, unknown owners, families."""

import json

import pandas as pd
import pytest

from workbench.book import AccountBook, BookError, account_units, load_book, save_book


def _write(folder, accounts, managers):
    folder.mkdir(parents=True, exist_ok=True)
    accounts.to_csv(folder / "accounts.csv", index=False)
    managers.to_csv(folder / "managers.csv", index=False)


def _frames():
    acc = pd.DataFrame({"account_id": ["001", "002", "003", "004"], "name": ["A GmbH", "B AG", "C KG", "D SE"],
                        "parent_id": ["", "001", "002", ""], "revenue_12m": [10, 20, -3, 40],
                        "owner_id": ["M1", "M2", "M1", "M9"]})
    man = pd.DataFrame({"manager_id": ["M1", "M2"], "name": ["Anna", "Ben"], "role": ["Account Manager"] * 2,
                        "capacity_hours": [1500, 1400]})
    return acc, man


def test_load_keeps_ids_as_text_and_accounts_for_every_row(tmp_path):
    acc, man = _frames()
    _write(tmp_path / "b", acc, man)
    book = load_book(tmp_path / "b")
    assert book.accounts["account_id"].tolist() == ["001", "002", "004"]
    rep = book.report
    assert rep.rows_read == rep.rows_accepted + rep.rows_rejected == 6
    assert rep.rejections.iloc[0]["row"] == 3 and rep.rejections.iloc[0]["column"] == "revenue_12m"
    assert any("not in the managers table" in w for w in rep.warnings)
    assert book.accounts.set_index("account_id").loc["004", "owner_id"] is pd.NA


def test_save_and_reload_parquet_round_trip(tmp_path):
    acc, man = _frames()
    _write(tmp_path / "b", acc, man)
    book = load_book(tmp_path / "b")
    save_book(book, tmp_path / "p")
    assert (tmp_path / "p" / "accounts.parquet").exists()
    again = load_book(tmp_path / "p")
    pd.testing.assert_frame_equal(again.accounts, book.accounts)
    assert again.fingerprint() == book.fingerprint()
    assert json.loads((tmp_path / "p" / "import_report.json").read_text())["rows_read"] == 6


def test_fingerprint_changes_with_content(tmp_path):
    acc, man = _frames()
    a = AccountBook(accounts=acc, managers=man)
    acc2 = acc.copy()
    acc2.loc[0, "revenue_12m"] = 11
    assert a.fingerprint() != AccountBook(accounts=acc2, managers=man).fingerprint()


def test_missing_folder_or_table_is_a_clear_error(tmp_path):
    with pytest.raises(BookError, match="does not exist"):
        load_book(tmp_path / "nope")
    (tmp_path / "e").mkdir()
    with pytest.raises(BookError, match="managers"):
        acc, _ = _frames()
        acc.to_csv(tmp_path / "e" / "accounts.csv", index=False)
        load_book(tmp_path / "e")


def test_account_units_follow_parents_to_the_top():
    acc = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "parent_id": [None, "a", "b", "zz"]})
    assert account_units(acc).tolist() == ["a", "a", "a", "d"]


def test_a_summary_counts_in_words():
    from workbench.book import counted

    assert counted(1, "manager") == "1 manager" and counted(35, "manager") == "35 managers"
    assert counted(1200, "account") == "1,200 accounts"
    acc, man = _frames()
    book = AccountBook(accounts=acc, managers=man.iloc[:1])
    assert ", 1 manager;" in book.summary() or ", 1 manager," in book.summary()

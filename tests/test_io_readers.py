"""Readers: encoding, delimiter, decimal and date detection; broken files give rejections or one clear error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.io import ImportFileError, import_book, read_table, sniff


def _german_csv(path, n=50):
    lines = ["Kundennummer;Firma;Ort;PLZ;Land;Branche;Umsatz;Mitarbeiter;Betreuer;Erstellt am"]
    for i in range(n):
        umsatz = f"{1000 + i * 1234.5:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        lines.append(f"K{i:05d};Müller & Söhne {i} GmbH;Köln;0{5000 + i};Deutschland;Maschinenbau;{umsatz};"
                     f"{10 + i};Jürgen Weiß;{(i % 28) + 1:02d}.03.2024")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def test_german_excel_csv_detects_cp1252_semicolon_decimal_comma_and_dates(tmp_path):
    p = _german_csv(tmp_path / "kunden.csv")
    sn = sniff(p)
    assert sn.detected["encoding"] == "cp1252"
    assert sn.detected["delimiter"] == "semicolon"
    assert (sn.detected["decimal"], sn.detected["thousands"]) == ("comma", "dot")
    book = import_book(p)
    acc = book.accounts
    assert len(acc) == 50 and book.report.rows_rejected == 0
    # "2.234,50" → 2234.5 ; leading zero of the postcode kept; ä/ö/ü survive the cp1252 decoding
    assert acc.loc[acc["account_id"] == "K00001", "revenue_12m"].item() == pytest.approx(2234.5)
    assert acc["postcode"].iloc[0] == "05000"
    assert acc["name"].iloc[0] == "Müller & Söhne 0 GmbH"
    assert set(acc["country"]) == {"DE"} and set(acc["industry"]) == {"Machinery"}
    assert set(acc["owner_id"]) == {"Jürgen Weiß"}
    det = book.report.files[0]["detected"]
    assert det["dates"] == ["dd.mm.yyyy"] and det["preset"] == "generic"


def test_utf8_bom_header_is_clean(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("account_id,name,revenue_12m\r\nA1,Zoë AG,10\r\nA2,Ærø ApS,20\r\n".encode("utf-8-sig"))
    raw = read_table(p)
    assert list(raw.frame.columns) == ["account_id", "name", "revenue_12m"]
    assert raw.detected["encoding"] == "utf-8-sig"
    book = import_book(p)
    assert list(book.accounts["name"]) == ["Zoë AG", "Ærø ApS"]


@pytest.mark.parametrize("delim,name", [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_delimiters(tmp_path, delim, name):
    p = tmp_path / "d.csv"
    p.write_text("\n".join([delim.join(["id", "name", "revenue"]), delim.join(["1", "A, B and C", "5.5"]),
                            delim.join(["2", "D", "7"])]) + "\n") if delim != "," else \
        p.write_text('id,name,revenue\n1,"A, B and C",5.5\n2,D,7\n')
    assert sniff(p).detected["delimiter"] == name
    book = import_book(p)
    assert list(book.accounts["name"]) == ["A, B and C", "D"]
    assert book.accounts["revenue_12m"].tolist() == [5.5, 7.0]


def test_point_decimal_with_thousands_comma(tmp_path):
    p = tmp_path / "us.csv"
    p.write_text('id,name,revenue\n1,A,"1,234,567.89"\n2,B,"12,000.5"\n3,C,7\n')
    assert sniff(p).detected["thousands"] == "comma"
    assert import_book(p).accounts["revenue_12m"].tolist() == [1234567.89, 12000.5, 7.0]


@pytest.mark.parametrize("content,msg", [
    (b"", "is empty"),
    (b"   \r\n\r\n", "is empty"),
    (b"account_id;name;revenue_12m\r\n", "no data rows"),
    (bytes(range(256)) * 40, "binary"),
    (b"\x00\x01\x02garbage\x00" * 100, "binary"),
])
def test_unreadable_files_raise_one_sentence(tmp_path, content, msg):
    p = tmp_path / "broken.csv"
    p.write_bytes(content)
    with pytest.raises(ImportFileError) as e:
        import_book(p)
    text = str(e.value)
    assert msg in text and "broken.csv" in text and "\n" not in text


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImportFileError, match="does not exist"):
        import_book(tmp_path / "nope.csv")
    with pytest.raises(ImportFileError, match="is a folder"):
        import_book(tmp_path)


def test_truncated_mid_row_rejects_last_row_and_keeps_accounting(tmp_path):
    p = tmp_path / "cut.csv"
    p.write_text("account_id,name,revenue_12m,city\nA1,Alpha,10,Berlin\nA2,Beta,20,Hamburg\nA3,Gam")
    book = import_book(p)
    rep = book.report
    assert rep.rows_read == 3 and rep.rows_accepted == 2 and rep.rows_rejected == 1
    rej = rep.rejections.iloc[0]
    assert rej["row"] == 3 and "ends mid-row" in rej["rule"]


def test_truncated_inside_quotes(tmp_path):
    p = tmp_path / "cutq.csv"
    p.write_text('account_id,name,revenue_12m\nA1,"Alpha",10\nA2,"Beta, unfinished')
    rep = import_book(p).report
    assert rep.rows_read == rep.rows_accepted + rep.rows_rejected
    assert rep.rows_accepted == 1


def test_too_many_fields_is_a_rejection_with_row_number(tmp_path):
    p = tmp_path / "wide.csv"
    p.write_text("account_id,name,revenue_12m\nA1,Alpha,10\nA2,Beta,20,extra,fields\nA3,Gamma,30\n")
    rep = import_book(p).report
    assert (rep.rows_read, rep.rows_accepted, rep.rows_rejected) == (3, 2, 1)
    assert rep.rejections.iloc[0]["row"] == 2 and "5 fields" in rep.rejections.iloc[0]["rule"]


def test_duplicate_ids_negative_revenue_text_in_numbers(tmp_path):
    p = tmp_path / "dirty.csv"
    p.write_text("account_id,name,revenue_12m,employees\n"
                 "A1,Alpha,10,5\nA1,Alpha again,11,5\nA2,Beta,-3,5\nA3,Gamma,lots,5\nA4,Delta,4,many\nA5,Eps,,2\n")
    book = import_book(p)
    rep = book.report
    assert rep.rows_read == 6 and rep.rows_accepted + rep.rows_rejected == 6
    rules = dict(zip(rep.rejections["row"], rep.rejections["rule"]))
    assert "duplicate id" in rules[2]
    assert "negative" in rules[3]
    assert "not a number" in rules[4] and "not a number" in rules[5]
    values = dict(zip(rep.rejections["row"], rep.rejections["value"]))
    assert values[4] == "lots" and values[5] == "many"
    # an empty revenue is not a rejection: it is 0 with a warning
    assert book.accounts.set_index("account_id").loc["A5", "revenue_12m"] == 0
    assert any("empty in 1 of 6 rows (17%)" in w for w in rep.warnings)


def test_text_in_numeric_column_with_decimal_comma(tmp_path):
    p = tmp_path / "de.csv"
    p.write_bytes("Kundennummer;Firma;Umsatz\nK1;A;1.234,50\nK2;B;k.A.\nK3;C;12,5\n".encode("cp1252"))
    book = import_book(p)
    assert book.accounts["revenue_12m"].tolist() == [1234.5, 12.5]
    assert book.report.rejections["value"].tolist() == ["k.A."]


def test_one_10mb_line(tmp_path):
    p = tmp_path / "long.csv"
    big = "x" * (10 * 1024 * 1024)
    p.write_text(f"account_id,name,revenue_12m,description\nA1,Alpha,1,{big}\nA2,Beta,2,short\n")
    book = import_book(p)
    assert book.report.rows_accepted == 2
    assert len(book.accounts.loc[0, "description"]) == len(big)


def test_bytes_upload_and_parquet_and_excel_sheet(tmp_path):
    df = pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Alpha", "Beta"], "revenue_12m": [1.0, 2.0],
                       "postcode": ["01067", "20095"]})
    pq = tmp_path / "acc.parquet"
    df.to_parquet(pq)
    assert import_book(pq).report.rows_accepted == 2
    data = df.to_csv(index=False).encode()
    book = import_book(("upload.csv", data))
    assert book.report.files[0]["file"] == "upload.csv" and book.accounts["postcode"].tolist() == ["01067", "20095"]
    xl = tmp_path / "acc.xlsx"
    with pd.ExcelWriter(xl, engine="xlsxwriter") as xw:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(xw, sheet_name="Cover", index=False)
        df.to_excel(xw, sheet_name="Accounts", index=False)
    assert import_book(xl, sheet="Accounts").accounts["name"].tolist() == ["Alpha", "Beta"]
    with pytest.raises(ImportFileError, match="no sheet named"):
        import_book(xl, sheet="Nope")


def test_excel_numbers_as_text_keep_leading_zeros_when_stored_as_text(tmp_path):
    xl = tmp_path / "n.xlsx"
    pd.DataFrame({"id": [101, 102], "name": ["A", "B"], "zip": ["01234", "99999"], "revenue": [1.5, 2]}).to_excel(
        xl, index=False)
    acc = import_book(xl).accounts
    assert acc["account_id"].tolist() == ["101", "102"]  # whole numbers without ".0"
    assert acc["postcode"].tolist() == ["01234", "99999"]
    assert acc["revenue_12m"].tolist() == [1.5, 2.0]


def test_history_long_and_wide(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,name,revenue_12m\nA1,Alpha,10\nA2,Beta,20\n")
    long = tmp_path / "hist_long.csv"
    long.write_text("account_id;month;revenue\nA1;01.01.2024;1,5\nA1;01.02.2024;2\nA2;2024-01-15;3\nA9;01.01.2024;4\n")
    book = import_book(acc, history=long)
    h = book.history
    assert len(h) == 3 and h["period"].min() == pd.Timestamp("2024-01-01")
    assert h.loc[h["account_id"] == "A1", "revenue"].sum() == pytest.approx(3.5)
    assert any("not in the accounts" in w for w in book.report.warnings)
    wide = tmp_path / "hist_wide.csv"
    wide.write_text("account_id,2024-01,2024-02,Mar 2024\nA1,1,2,3\nA2,4,,6\n")
    h = import_book(acc, history=wide).history
    assert len(h) == 5 and sorted(h["period"].dt.month.unique()) == [1, 2, 3]
    assert h["revenue"].sum() == 16


def test_row_accounting_holds_in_report_dict(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("account_id,name,revenue_12m\nA1,,10\nA2,B,-1\nA3,C,3\n")
    d = import_book(p).report.to_dict()
    assert d["rows_read"] == d["rows_accepted"] + d["rows_rejected"] == 3
    assert np.all([r["file"] == "x.csv" for r in d["rejections"]])


def test_excel_falls_back_to_openpyxl_when_calamine_refuses(tmp_path, monkeypatch):
    import python_calamine

    xl = tmp_path / "acc.xlsx"
    pd.DataFrame({"account_id": ["A1"], "name": ["Alpha"], "revenue_12m": [3.5]}).to_excel(xl, index=False)

    def refuse(*_a, **_k):
        raise python_calamine.CalamineError("simulated")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", refuse)
    book = import_book(xl)
    assert book.report.files[0]["detected"]["engine"] == "openpyxl"
    assert book.accounts["revenue_12m"].tolist() == [3.5]


def test_corrupt_xlsx_is_one_sentence(tmp_path):
    xl = tmp_path / "broken.xlsx"
    xl.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(ImportFileError, match="could not be read as an Excel workbook"):
        import_book(xl)


def test_postcodes_stripped_by_a_spreadsheet_are_restored_and_odd_ones_named(tmp_path):
    p = tmp_path / "accounts.csv"
    p.write_text("id,name,country,postcode,revenue\n"
                 "A1,Dresden GmbH,Germany,1067,100\n"
                 "A2,Leipzig AG,DE,04109,100\n"
                 "A3,Graz KG,Austria,8010,100\n"
                 "A4,Typo GmbH,DE,8033,100\n"
                 "A5,Letters GmbH,DE,D-80331,100\n", encoding="utf-8")
    book = import_book(p)
    acc = book.accounts.set_index("account_id")
    assert len(acc) == 5 and book.report.rows_rejected == 0  # a postcode never costs an account
    assert acc.loc["A1", "postcode"] == "01067" and acc.loc["A2", "postcode"] == "04109"
    assert acc.loc["A3", "postcode"] == "8010"
    assert any("2 postcodes had lost their leading zero" in n and "row 1 1067 → 01067" in n
               for n in book.report.notes)
    warn = [w for w in book.report.warnings if "postcode does not fit its country's format" in w]
    assert warn and "row 5 'D-80331' (DE: 5 digits)" in warn[0] and "accounts.csv" in warn[0]

"""Rows the reader cannot take as they are: short rows, NUL bytes, repeated headers, a workbook's cover sheet.

Each becomes a rejection or a warning that names the row or column; rows read = accepted + rejected holds.
"""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.io import ImportFileError, import_book, read_table

HEADER = "account_id,name,country,revenue_12m,potential,owner_id"


def _accounting(rep):
    assert rep.rows_read == rep.rows_accepted + rep.rows_rejected
    for f in rep.files:
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"]


def _rows(n: int, start: int = 1) -> list[str]:
    return [f"A{i},Firma {i},DE,{100 * i},{200 * i},M1" for i in range(start, start + n)]


@pytest.mark.parametrize("extra_long_row", [False, True])
def test_a_short_row_is_rejected_like_a_long_one(tmp_path, extra_long_row):
    lines = [HEADER, *_rows(3), "A4,Fischer GmbH", *_rows(2, 5)]
    if extra_long_row:  # both kinds in one file: the row numbers still fit the file
        lines[2] += ",EXTRA,FIELDS"
    p = tmp_path / "ragged.csv"
    p.write_text("\n".join(lines) + "\n")
    book = import_book(p)
    rep = book.report
    _accounting(rep)
    rej = rep.rejections.set_index("row")
    assert rej.loc[4, "rule"] == "row has 2 fields, the header has 6" and rej.loc[4, "value"] == "A4,Fischer GmbH"
    assert "A4" not in set(book.accounts["account_id"])
    if extra_long_row:
        assert rej.loc[2, "rule"] == "row has 8 fields, the header has 6"
        assert list(book.accounts["account_id"]) == ["A1", "A3", "A5", "A6"]
    else:
        assert list(book.accounts["account_id"]) == ["A1", "A2", "A3", "A5", "A6"]
    # the rows kept carry their own row numbers (rejections found later by validation name the right row)
    raw = read_table(p)
    assert list(raw.row_numbers) == ([1, 3, 5, 6] if extra_long_row else [1, 2, 3, 5, 6])


def test_short_rows_in_a_big_file_stay_on_the_fast_reader(tmp_path):
    lines = [HEADER, *_rows(20_000)]
    lines[15_001] = "A15001,Cut"
    p = tmp_path / "big.csv"
    p.write_text("\n".join(lines) + "\n")
    raw = read_table(p, numeric={"revenue_12m", "potential"})
    assert raw.detected["parser"] == "arrow"
    assert raw.bad_rows["row"].tolist() == [15_001] and len(raw.frame) == 19_999
    assert raw.row_numbers[15_000] == 15_002


def test_a_nul_byte_rejects_its_row_wherever_it_is(tmp_path):
    for at in (2, 4_990):
        lines = [HEADER, *_rows(5_000)]
        lines[at] = lines[at].replace("Firma", "Fir\x00ma")
        p = tmp_path / f"nul{at}.csv"
        p.write_text("\n".join(lines) + "\n")
        book = import_book(p)
        _accounting(book.report)
        rej = book.report.rejections
        assert len(rej) == 1 and rej["row"].item() == at and rej["column"].item() == "name"
        assert "NUL byte" in rej["rule"].item() and rej["value"].item() == f"Fir\\0ma {at}"
        assert book.report.rows_accepted == 4_999


def test_a_binary_file_is_still_refused(tmp_path):
    p = tmp_path / "blob.csv"
    p.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(ImportFileError, match="binary data"):
        import_book(p)


def test_a_repeated_header_is_named(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("account_id,name,revenue_12m,revenue_12m\nA1,Alpha,10,500\nA2,Beta,20,600\n")
    book = import_book(p)
    warn = [w for w in book.report.warnings if "dup.csv" in w and "2 times" in w]
    assert len(warn) == 1 and "column 3 as 'revenue_12m'" in warn[0] and "column 4 as 'revenue_12m.1'" in warn[0]
    assert book.accounts["revenue_12m"].tolist() == [10.0, 20.0]
    # the second column can be mapped by the name the warning gives it
    book = import_book(p, mapping={"columns": {"potential": "revenue_12m.1"}})
    assert book.accounts["potential"].tolist() == [500.0, 600.0]


def test_a_repeated_header_in_a_workbook_is_named(tmp_path):
    p = tmp_path / "dup.xlsx"
    pd.DataFrame([["A1", "Alpha", 10, 500]], columns=["account_id", "name", "revenue_12m", "x"]).rename(
        columns={"x": "revenue_12m"}).to_excel(p, index=False)
    book = import_book(p)
    assert any("'revenue_12m' 2 times" in w and "sheet 'Sheet1'" in w for w in book.report.warnings)


def test_a_cover_sheet_names_the_sheet_read_and_the_others(tmp_path):
    p = tmp_path / "export.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"Note": ["Export from CRM", "Do not edit"]}).to_excel(xw, sheet_name="Read me", index=False)
        pd.DataFrame({"account_id": ["A1"], "name": ["Alpha"], "revenue_12m": [10]}).to_excel(
            xw, sheet_name="Accounts", index=False)
        pd.DataFrame({"manager_id": ["M1"]}).to_excel(xw, sheet_name="Managers", index=False)
    with pytest.raises(ImportFileError) as e:
        import_book(p)
    msg = str(e.value)
    assert "sheet 'Read me'" in msg and "'Accounts', 'Managers'" in msg and "--sheet NAME" in msg
    assert "Excel sheet field" in msg and "\n" not in msg
    assert import_book(p, sheet="Accounts").n_accounts == 1


def test_a_short_row_with_stray_bytes_is_rejected_without_console_noise(tmp_path, capfd):
    # a UTF-8 file with one pasted cp1252 row that is also cut short: Arrow cannot hand that row over as text,
    # so the encoding is settled first, then the row is set aside
    lines = [HEADER.encode(), *(r.encode() for r in _rows(3)), "A4,Müller".encode("cp1252"),
             "A5,Zoë AG,DE,1,2,M1".encode()]
    p = tmp_path / "mixed.csv"
    p.write_bytes(b"\n".join(lines) + b"\n")
    book = import_book(p)
    _accounting(book.report)
    rej = book.report.rejections
    assert rej["row"].tolist() == [4] and rej["value"].tolist() == ["A4,Müller"]
    assert list(book.accounts["name"])[-1] == "Zoë AG"
    assert capfd.readouterr().err == ""


def test_unreadable_pipeline_rows_are_named(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,name\nA1,Alpha\n")
    pipe = tmp_path / "pipe.csv"
    pipe.write_text("account,sales_agent,deal_stage,close_date,close_value\n"
                    "A1,Ann,Won,2024-03-01,100\nA1,Bob\nA1,Bob,Won,2024-04-01,50\n")
    book = import_book(acc, pipeline=pipe)
    assert any(w.startswith("pipe.csv: 1 row could not be read and is not used (row 2: row has 2 fields")
               for w in book.report.warnings)
    assert book.accounts["owner_id"].tolist() == ["Ann"]

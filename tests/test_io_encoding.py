"""Encoding: a UTF-8 export with a few stray Windows-1252 bytes is read as UTF-8, only the stray bytes as cp1252,
and the report names the lines; genuine cp1252 files still read as cp1252 without a warning."""

from __future__ import annotations

import pandas as pd

from workbench.io import import_book, read_table
from workbench.io.readers import SAMPLE_BYTES

CITIES = ["München", "Köln", "Würzburg", "Düsseldorf", "Nürnberg", "Berlin"]


def _rows(n: int) -> list[str]:
    return [f"A{i:05d},König Wärmetechnik Großhandel {i},{CITIES[i % len(CITIES)]},{1000 + i}" for i in range(1, n + 1)]


def _mixed(rows: list[str], cp1252_rows: set[int]) -> bytes:
    """Header plus rows, UTF-8 except the given 1-based data rows, which are cp1252 (as pasted from Excel)."""
    lines = [b"account_id,name,city,revenue_12m"]
    lines += [r.encode("cp1252" if i in cp1252_rows else "utf-8") for i, r in enumerate(rows, start=1)]
    return b"\n".join(lines) + b"\n"


def _encoding_warnings(book) -> list[str]:
    return [w for w in book.report.warnings if "UTF-8" in w]


def test_mostly_utf8_file_keeps_utf8_and_names_the_cp1252_lines(tmp_path):
    rows = _rows(150)
    path = tmp_path / "mixed_enc.csv"
    path.write_bytes(_mixed(rows, {1, 2, 9, 14}))
    book = import_book(path, currency="EUR")
    acc = book.accounts
    # every row reads as written, whichever encoding its line had; no mojibake anywhere
    assert acc["name"].tolist() == [r.split(",")[1] for r in rows]
    assert acc["city"].tolist() == [r.split(",")[2] for r in rows]
    assert not acc["name"].str.contains("Ã").any()
    assert book.report.files[0]["detected"]["encoding"] == "utf-8"
    (warning,) = _encoding_warnings(book)
    assert warning.startswith("mixed_enc.csv: 4 of 151 lines")
    assert "lines 2, 3, 10 and 15, counting the header as line 1" in warning
    assert "Windows-1252 (cp1252)" in warning
    assert book.report.rows_read == 150 == book.report.rows_accepted


def test_stray_bytes_after_the_detection_sample_are_found(tmp_path):
    # the first SAMPLE_BYTES are clean UTF-8: the stray byte only shows when the whole file is read
    rows = _rows(SAMPLE_BYTES // 40 + 2000)
    late = len(rows) - 5
    data = _mixed(rows, {late})
    assert data[:SAMPLE_BYTES].decode("utf-8", errors="strict")
    book = import_book(("big.csv", data), currency="EUR")
    assert book.accounts["name"].tolist() == [r.split(",")[1] for r in rows]
    (warning,) = _encoding_warnings(book)
    assert f"line {late + 1:,}," in warning and "1 of" in warning


def test_a_line_with_both_utf8_and_a_stray_byte_keeps_both(tmp_path):
    data = ("account_id,name,city,revenue_12m\nA1,Müller GmbH,Köln,5\nA2,Bäcker AG,Berlin,6\n").encode()
    data = data.replace("Köln".encode(), "Köln".encode("cp1252"))
    raw = read_table(data, name="line.csv")
    assert raw.frame["name"].tolist() == ["Müller GmbH", "Bäcker AG"]
    assert raw.frame["city"].tolist() == ["Köln", "Berlin"]
    assert raw.detected["not_utf8_lines"] == [2] and "line 2," in raw.warnings[0]


def test_genuine_cp1252_file_still_reads_as_cp1252_without_a_warning(tmp_path):
    rows = _rows(50)
    data = ("account_id,name,city,revenue_12m\n" + "\n".join(rows) + "\n").encode("cp1252")
    book = import_book(("legacy.csv", data), currency="EUR")
    assert book.report.files[0]["detected"]["encoding"] == "cp1252"
    assert book.accounts["city"].tolist() == [r.split(",")[2] for r in rows]
    assert not _encoding_warnings(book)


def test_cp1252_file_whose_first_bytes_are_ascii(tmp_path):
    # detection sees only ASCII (UTF-8); the whole file then shows it is a single-byte export
    rows = [f"A{i:05d},Plain Name {i},Berlin,{i}" for i in range(1, SAMPLE_BYTES // 30 + 100)]
    rows.append("A99999,Jäger Söhne,Köln,7")
    data = ("account_id,name,city,revenue_12m\n" + "\n".join(rows) + "\n").encode("cp1252")
    raw = read_table(data, name="late.csv")
    assert raw.detected["encoding"] == "cp1252" and not raw.warnings
    assert raw.frame["name"].iloc[-1] == "Jäger Söhne"


def test_managers_file_encoding_warning_reaches_the_report(tmp_path):
    acc = (b"account_id,name,revenue_12m,owner_id\nA1,Alpha,10,M1\nA2,Beta,5,M2\n")
    man = ("manager_id,name,capacity_hours\nM1,Jörg Müller,1500\nM2,Sören Weiß,1500\n").encode()
    man = man.replace("Weiß".encode(), "Weiß".encode("cp1252"))
    book = import_book(("accounts.csv", acc), managers=("managers.csv", man), currency="EUR")
    names = pd.Series(book.managers["name"]).tolist()
    assert names == ["Jörg Müller", "Sören Weiß"]
    (warning,) = _encoding_warnings(book)
    assert warning.startswith("managers.csv: 1 of 3 lines") and "line 3," in warning

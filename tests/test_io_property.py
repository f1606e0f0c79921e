"""Property tests: random bytes and randomly corrupted valid CSVs never raise anything but ImportFileError,
and whenever a book comes out, every row read is either accepted or rejected."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.io import ImportFileError, import_book

_VALID = (
    "account_id;name;country;postcode;industry;revenue_12m;employees;owner\r\n"
    "K001;Müller GmbH;Deutschland;01067;Maschinenbau;1.234,50;12;Anna\r\n"
    "K002;Schmidt AG;DE;80331;Handel;99,00;;Bernd\r\n"
    "K003;Weiß & Co. KG;Österreich;1010;technolgy;0;3;Anna\r\n"
    "K004;\"Bauer; Söhne\";CH;8001;;12.000,00;250;Carla\r\n"
    "K005;Wagner SE;DE;20095;Logistik;7,5;40;Bernd\r\n"
).encode("cp1252")

_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(data: bytes, name: str = "fuzz.csv") -> None:
    try:
        book = import_book((name, data))
    except ImportFileError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    rep = book.report
    assert rep.rows_read == rep.rows_accepted + rep.rows_rejected
    for f in rep.files:
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"]
    assert len(book.accounts) == rep.files[0]["rows_accepted"]
    assert book.accounts["account_id"].is_unique
    assert (book.accounts["revenue_12m"] >= 0).all()


@_SETTINGS
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    _check(data)


@_SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(["x.xlsx", "x.parquet", "x.txt"]))
def test_random_bytes_with_other_extensions(data, name):
    _check(data, name)


@_SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.sampled_from(["flip", "drop", "insert", "cut"]),
                          st.binary(min_size=1, max_size=3)), min_size=1, max_size=6))
def test_corrupted_valid_csv(edits):
    data = bytearray(_VALID)
    for pos, op, junk in edits:
        pos = min(pos, max(len(data) - 1, 0))
        if op == "flip" and data:
            data[pos] ^= junk[0] or 1
        elif op == "drop" and data:
            del data[pos]
        elif op == "insert":
            data[pos:pos] = junk
        elif op == "cut":
            del data[pos:]
    _check(bytes(data))


@_SETTINGS
@given(st.lists(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
                         min_size=1, max_size=6), min_size=1, max_size=12),
       st.sampled_from([",", ";", "\t", "|"]))
def test_random_tables(rows, delim):
    header = "account_id" + delim + "name" + delim + "revenue_12m"
    body = "\n".join(delim.join(r) for r in rows)
    _check((header + "\n" + body).encode("utf-8"))


def test_valid_fixture_imports_fully():
    book = import_book(("valid.csv", _VALID))
    assert book.report.rows_read == 5 and book.report.rows_rejected == 0
    assert book.accounts["revenue_12m"].tolist() == [1234.5, 99.0, 0.0, 12000.0, 7.5]
    assert book.accounts["name"].iloc[3] == "Bauer; Söhne"
    assert pd.api.types.is_float_dtype(book.accounts["revenue_12m"])

"""Import checks that name rows: implausible values, unknown countries and owners, history copies and orphans,
and rejection texts that show the cell as the file wrote it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.io import import_book


def _accounting(rep):
    assert rep.rows_read == rep.rows_accepted + rep.rows_rejected
    for f in rep.files:
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"], f


@pytest.fixture
def accounts(tmp_path):
    p = tmp_path / "acc.csv"
    p.write_text("account_id,name,country,revenue_12m,potential,service_need,employees,owner_id\n"
                 "A1,Alpha,DE,100,200,10,5,M001\n"
                 "A2,Beta,XX,99999999999999999999,200,10,5,M001\n"
                 "A3,Gamma,AT,100,200,1000000000,5,m001\n"
                 "A4,Delta,CH,100,2e12,10,99999999999,M999\n"
                 "A5,Eps,DE,100,200,10,5,M999\n")
    return p


@pytest.fixture
def managers(tmp_path):
    p = tmp_path / "mgr.csv"
    p.write_text("manager_id,name,capacity_hours\nM001,Anna Berg,1400\nM002,Jonathan Smith,1500\n")
    return p


def test_implausible_values_are_warnings_naming_rows(accounts):
    book = import_book(accounts)
    _accounting(book.report)
    assert book.n_accounts == 5  # kept: only the user can tell a wrong unit from a real figure
    warn = " | ".join(book.report.warnings)
    assert "revenue_12m above 1,000,000,000,000 (row 2: 1e+20)" in warn
    assert "potential above 1,000,000,000,000 (row 4: 2,000,000,000,000)" in warn
    assert "service_need above 8,760 (row 3: 1,000,000,000)" in warn and "more hours than a year has" in warn
    assert "employees above 3,000,000 (row 4: 99,999,999,999)" in warn


def test_an_unknown_country_code_is_named(accounts):
    warn = [w for w in import_book(accounts).report.warnings if "country" in w]
    assert len(warn) == 1 and "'XX' in row 2" in warn[0] and "no known country or ISO code" in warn[0]


def test_unknown_owners_are_named_with_rows_and_a_near_match(accounts, managers):
    book = import_book(accounts, managers=managers)
    warn = [w for w in book.report.warnings if "name an owner" in w]
    assert len(warn) == 1
    w = warn[0]
    assert w.startswith("acc.csv: 3 accounts name an owner that is not in the managers table (mgr.csv)")
    assert "'M999' (2 accounts: rows 4, 5)" in w and "'m001' (1 account: row 3; did you mean 'M001'?)" in w
    assert book.accounts.set_index("account_id").loc[["A3", "A4", "A5"], "owner_id"].isna().all()


def test_an_owner_name_with_a_typo_suggests_the_manager(tmp_path, managers):
    p = tmp_path / "acc.csv"
    p.write_text("account_id,name,revenue_12m,owner_id\nA1,Alpha,10,Jonathon Smith\n")
    w = [w for w in import_book(p, managers=managers).report.warnings if "name an owner" in w or "names an" in w]
    assert "did you mean 'M002' (Jonathan Smith)?" in w[0]


def test_history_copies_and_unknown_accounts_are_rejections(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,name,revenue_12m\nA1,Alpha,10\nA2,Beta,-5\n")
    hist = tmp_path / "hist.csv"
    hist.write_text("account_id,period,revenue\n"
                    "A1,2025-08-01,700\nA1,2025-09-01,749.51\nA1,2025-09-01,749.51\n"  # row 3 copies row 2
                    "A9,2025-09-01,100\nA2,2025-09-01,50\n"  # A9 unknown, A2 rejected in the accounts
                    "A1,2025-10-01,10\nA1,2025-10-15,20\n")  # two invoices in one month: summed
    book = import_book(acc, history=hist)
    rep = book.report
    _accounting(rep)
    h = book.history.set_index("period")["revenue"]
    assert h[pd.Timestamp("2025-09-01")] == pytest.approx(749.51)  # not doubled
    assert h[pd.Timestamp("2025-10-01")] == pytest.approx(30.0)
    f = next(f for f in rep.files if f["file"] == "hist.csv")
    assert (f["rows_read"], f["rows_accepted"], f["rows_rejected"]) == (7, 4, 3)
    rej = rep.rejections[rep.rejections["file"] == "hist.csv"].set_index("row")
    assert rej.loc[3, "rule"] == "exact copy of row 2; counted once"
    assert "rows 3,456" not in " ".join(rep.warnings)
    assert (rej.loc[4, "column"], rej.loc[4, "value"], rej.loc[4, "rule"]) == (
        "account_id", "A9", "not in the accounts file (acc.csv)")
    assert rej.loc[5, "rule"] == "the account was rejected in acc.csv, so its history is too"
    warn = " | ".join(rep.warnings)
    assert "1 row is an exact copy of an earlier row (row 3 = row 2)" in warn
    assert "2 history rows name an account that is not in the accounts" in warn and "'A9' in row 4" in warn


def test_wide_history_copies_are_counted_once(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,name,revenue_12m\nA1,Alpha,10\n")
    hist = tmp_path / "wide.csv"
    hist.write_text("account_id,2025-01,2025-02\nA1,1,2\nA1,1,2\n")
    book = import_book(acc, history=hist)
    _accounting(book.report)
    assert book.history["revenue"].tolist() == [1.0, 2.0]
    assert book.report.rejections["rule"].str.contains("row 2 of the file is an exact copy of row 1").sum() == 2


def test_rejections_say_greater_than_zero_and_show_the_cell_as_written(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id;name;revenue_12m;owner_id\nA1;Alpha;-5.000,00;M1\nA2;Beta;1.234,50;M1\n"
                   "A3;Gamma;-5000;M1\n")
    mgr = tmp_path / "mgr.csv"
    mgr.write_text("manager_id,name,capacity_hours\nM1,Anna,0\nM2,Ben,-100\nM3,Cem,1400\n")
    book = import_book(acc, managers=mgr)
    rej = book.report.rejections.set_index(["file", "row"])
    assert rej.loc[("acc.csv", 1), "value"] == "-5.000,00" and rej.loc[("acc.csv", 3), "value"] == "-5000"
    assert rej.loc[("mgr.csv", 1), "rule"] == "must be greater than 0" and rej.loc[("mgr.csv", 1), "value"] == "0"
    assert rej.loc[("mgr.csv", 2), "value"] == "-100"


def test_parsed_numbers_are_shown_without_a_trailing_zero_where_no_text_is_kept(tmp_path):
    p = tmp_path / "acc.xlsx"
    pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Alpha", "Beta"],
                  "revenue_12m": [-5000.0, 12.5]}).to_excel(p, index=False)
    rej = import_book(p).report.rejections
    assert rej["value"].tolist() == ["-5000"] and rej["rule"].tolist() == ["must not be negative"]


def test_plausibility_checks_stay_vectorised_on_many_rows(tmp_path):
    n = 50_000
    df = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "name": "X", "country": "DE",
                       "revenue_12m": np.full(n, 100.0), "service_need": np.full(n, 9000.0)})
    p = tmp_path / "big.csv"
    df.to_csv(p, index=False)
    warn = [w for w in import_book(p).report.warnings if "service_need above" in w]
    assert warn[0].startswith("big.csv: 50,000 accounts have service_need above 8,760 (row 1: 9,000; row 2: 9,000; ")


def test_row_lists_have_no_thousands_commas(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,name,revenue_12m\n" + "".join(f"A{i},N{i},1\n" for i in range(1, 1502)))
    hist = tmp_path / "hist.csv"
    hist.write_text("account_id,period,revenue\n" + "A1,2025-01-01,1\n" * 1200 + "".join(f"A9999,2025-01-01,{i}\n" for i in range(3)))
    warn = " | ".join(import_book(acc, history=hist).report.warnings)
    assert "'A9999' in rows 1201, 1202, 1203" in warn and "row 2 = row 1" in warn


def test_import_names_parent_cycles(tmp_path):
    # 'workbench import' says it too, not only a later command that loads the saved book
    from workbench.io import import_book

    f = tmp_path / "accounts.csv"
    f.write_text("Account ID,Account Name,Parent Account ID,Revenue\nA1,Alpha,A2,10\nA2,Beta,A1,20\nA3,Gamma,A3,5\n"
                 "A4,Delta,,7\n", encoding="utf-8")
    book = import_book(f)
    warn = [w for w in book.report.warnings if "parent cycle" in w]
    assert len(warn) == 1 and "2 parent cycles" in warn[0] and "A1 → A2 → A1" in warn[0]
    assert "A3 is its own parent" in warn[0]

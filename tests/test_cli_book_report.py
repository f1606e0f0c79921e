"""Commands that take a book folder say what its load rejected or changed, and keep the rejected rows beside the
results; a book without managers can be segmented, and reallocating it says what it needs."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.book import save_book
from workbench.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def bad_book(tmp_path_factory):
    """The sample book with two broken revenue cells and three accounts owned by managers who do not exist."""
    folder = tmp_path_factory.mktemp("bad")
    acc = pd.read_csv(SAMPLE / "accounts.csv", dtype="string")
    acc.loc[2, "revenue_12m"] = "abc"
    acc.loc[6, "revenue_12m"] = "-5"
    acc.loc[[10, 11, 12], "owner_id"] = ["M999", "M999", "m001"]
    acc.to_csv(folder / "accounts.csv", index=False)
    shutil.copy(SAMPLE / "managers.csv", folder / "managers.csv")
    return folder


def _lines(text: str, start: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(start)]


def test_run_reports_rejections_and_unknown_owners_and_writes_the_rejected_rows(bad_book, tmp_path, capsys):
    rc = main(["run", "--book", str(bad_book), "--out", str(tmp_path / "o"), "--crm", "none",
               "--set", "kpi.draws=0"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    head = _lines(err, "book: ")
    assert len(head) == 1, err
    assert head[0].startswith("book: 2,040 rows read, 2,038 accepted, 2 rejected (first: accounts.csv row 3, "
                              "revenue_12m 'abc': not a number (float); row 7, revenue_12m '-5")
    assert f"every reason goes to {tmp_path / 'o' / 'rejected_rows.csv'} with the results" in head[0]
    assert ("warning: book: 3 accounts name an owner that is not in the managers table (M999, m001 (did you mean "
            "M001?)); they are "
            "treated as unowned") in err
    rejected = pd.read_csv(tmp_path / "o" / "rejected_rows.csv")
    assert rejected["row"].tolist() == [3, 7] and set(rejected["column"]) == {"revenue_12m"}
    assert "rejected_rows.csv" in _lines(out, "wrote ")[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["segment", "reallocate"])
def test_segment_and_reallocate_report_the_load_too(command, bad_book, tmp_path, capsys):
    seg = tmp_path / "seg"
    if command == "reallocate":
        assert main(["segment", str(SAMPLE), "--out", str(seg), "--stability-runs", "0"]) == 0
    args = {"segment": ["segment", str(bad_book), "--stability-runs", "0"],
            "reallocate": ["reallocate", str(bad_book), "--segments", str(seg), "--mode", "auto", "--crm", "none"]}
    capsys.readouterr()
    rc = main([*args[command], "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "2 rejected (first: accounts.csv row 3" in err and "(M999, m001 (did you mean M001?))" in err
    assert len(pd.read_csv(tmp_path / "o" / "rejected_rows.csv")) == 2


def test_a_clean_book_adds_no_load_lines(tmp_path, capsys):
    assert main(["segment", str(SAMPLE), "--out", str(tmp_path / "o"), "--stability-runs", "0"]) == 0
    err = capsys.readouterr().err
    assert not _lines(err, "book: ") and not _lines(err, "warning: book:")
    assert not (tmp_path / "o" / "rejected_rows.csv").exists()


def test_a_semicolon_cp1252_book_folder_is_read_like_an_import(tmp_path, capsys):
    acc = pd.read_csv(SAMPLE / "accounts.csv", dtype="string").head(300)
    for col in ("revenue_12m", "potential", "service_need"):  # a German spreadsheet's decimal comma
        acc[col] = acc[col].str.replace(".", ",", regex=False)
    folder = tmp_path / "b"
    folder.mkdir()
    acc.to_csv(folder / "accounts.csv", index=False, sep=";", encoding="cp1252")
    shutil.copy(SAMPLE / "managers.csv", folder / "managers.csv")
    rc = main(["segment", str(folder), "--out", str(tmp_path / "o"), "--stability-runs", "0"])
    out, err = capsys.readouterr()
    assert rc == 0, err  # was: "'utf-8' codec can't decode byte 0xfc"
    assert "300 accounts" in out and not _lines(err, "book: ")


# ---- a book without managers (the UCI wholesale file imported with the README's mapping)


@pytest.fixture(scope="module")
def no_managers(tmp_path_factory):
    acc = pd.read_csv(SAMPLE / "accounts.csv", dtype={"account_id": "string", "parent_id": "string"}).head(400)
    acc["owner_id"] = pd.NA
    acc["parent_id"] = pd.NA
    from workbench.book import load_book

    book = load_book(SAMPLE)
    book.accounts = acc.astype({"owner_id": "string"})
    book.managers = book.managers.iloc[:0]
    book.history = None
    return save_book(book, tmp_path_factory.mktemp("nomgr") / "book")


def test_a_book_without_managers_can_be_segmented(no_managers, tmp_path, capsys):
    rc = main(["segment", str(no_managers), "--k", "3", "--out", str(tmp_path / "seg"), "--stability-runs", "0"])
    out, err = capsys.readouterr()
    assert rc == 0, err  # was: "no valid manager rows"
    assert "400 accounts, 0 managers" in out and (tmp_path / "seg" / "segments.csv").exists()
    assert "warning: book: no managers" in err and "not reallocated" in err


def test_reallocating_or_running_a_book_without_managers_says_what_it_needs(no_managers, tmp_path, capsys):
    assert main(["segment", str(no_managers), "--k", "3", "--out", str(tmp_path / "seg"),
                 "--stability-runs", "0"]) == 0
    capsys.readouterr()
    for args in (["reallocate", str(no_managers), "--segments", str(tmp_path / "seg")],
                 ["run", "--book", str(no_managers)]):
        rc = main([*args, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert rc == 2
        error = _lines(err, f"workbench {args[0]}: error: ")
        assert len(error) == 1 and "has no managers" in error[0] and "managers file" in error[0] \
            and "owner column" in error[0]
        assert not (tmp_path / "o").exists()


def test_projecting_a_book_without_managers_says_why_not(no_managers, tmp_path, capsys):
    from workbench.results import Assignment, save_result

    empty = pd.DataFrame({"account_id": pd.Series(dtype="string")})
    save_result(Assignment(owners=empty, moves=empty, loads=empty), tmp_path / "asg")
    rc = main(["project", str(no_managers), "--assignment", str(tmp_path / "asg"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "has no managers, so it has no plan to project" in err
    assert not (tmp_path / "o").exists()


def test_the_load_report_lines_name_file_row_column_value_and_rule():
    from workbench.book import AccountBook, ImportReport
    from workbench.cli._common import report_lines

    rej = pd.DataFrame({"file": ["a.csv", "a.csv", "a.csv", "m.csv"], "row": [4, 4, 9, 2],
                        "column": ["revenue_12m", "name", "", "capacity_hours"],
                        "value": ["x" * 80, "", "A1,B", "0"],
                        "rule": ["not a number (float)", "required value is missing", "row has 3 fields, the header "
                                 "has 2", "must be >= 1e-09"]})
    rep = ImportReport(files=[{"rows_read": 10, "rows_accepted": 8, "rows_rejected": 2},
                              {"rows_read": 5, "rows_accepted": 4, "rows_rejected": 1}],
                       rejections=rej, warnings=["w1", "w2"])
    lines = report_lines(AccountBook(accounts=pd.DataFrame(), managers=pd.DataFrame(), report=rep), Path("OUT"))
    assert lines[0] == ("book: 15 rows read, 12 accepted, 3 rejected (first: a.csv row 4, revenue_12m "
                        f"'{'x' * 39}…': not a number (float); row 9, row has 3 fields, the header has 2; "
                        "m.csv row 2, capacity_hours '0': must be >= 1e-09); every reason goes to OUT/rejected_rows.csv with the results")
    assert lines[1:] == ["warning: book: w1", "warning: book: w2"]
    assert json.dumps(lines)  # plain strings


def test_import_quotes_the_first_rejection_reasons_too(tmp_path, capsys):
    acc = pd.read_csv(SAMPLE / "accounts.csv", dtype="string").head(50)
    acc.loc[3, "revenue_12m"] = "abc"
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    assert main(["import", str(tmp_path / "accounts.csv"), "--managers", str(SAMPLE / "managers.csv"),
                 "--out", str(tmp_path / "book")]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if "rejected rows" in x][0]
    assert "(first: accounts.csv row 4, revenue_12m 'abc': not a number" in line

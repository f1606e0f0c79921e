"""CRM ids survive import: the CRM move files of an imported book name the records the CRM knows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from workbench.book import load_book
from workbench.crm import move_files
from workbench.io import import_book
from workbench.results import Assignment

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def _some_moves(book) -> Assignment:
    """Twenty accounts handed to the next manager: enough to compare the files two books give."""
    acc = book.accounts.head(20)
    ids = sorted(book.managers["manager_id"].astype(str))
    to = [ids[(ids.index(o) + 1) % len(ids)] if isinstance(o, str) else ids[0] for o in acc["owner_id"]]
    moves = pd.DataFrame({"account_id": acc["account_id"].astype(str).to_numpy(),
                          "from_manager": acc["owner_id"].astype("string").to_numpy(), "to_manager": to,
                          "reason": "test"})
    return Assignment(owners=pd.DataFrame(), moves=moves, loads=pd.DataFrame())


def test_sample_files_keep_their_crm_ids_for_accounts_and_managers():
    book = import_book(SAMPLE / "accounts.csv", managers=SAMPLE / "managers.csv")
    acc_file = pd.read_csv(SAMPLE / "accounts.csv", dtype=str)
    man_file = pd.read_csv(SAMPLE / "managers.csv", dtype=str)
    got = book.accounts.set_index("account_id")["source_id"].astype(str)
    assert got.to_dict() == acc_file.set_index("account_id")["source_id"].to_dict()
    assert "source_id_source" not in book.accounts
    mgot = book.managers.set_index("manager_id")["source_id"].astype(str)
    assert mgot.to_dict() == man_file.set_index("manager_id")["source_id"].to_dict()


def test_move_files_of_an_imported_book_match_the_sample_folder():
    imported = import_book(SAMPLE / "accounts.csv", managers=SAMPLE / "managers.csv")
    folder = load_book(SAMPLE)
    asg = _some_moves(folder)
    a = move_files(asg, imported, ("salesforce",))["salesforce_account_owner_update.csv"]
    b = move_files(asg, folder, ("salesforce",))["salesforce_account_owner_update.csv"]
    assert len(a) == 20 and a["Id"].str.startswith("001").all() and a["OwnerId"].str.startswith("005").all()
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_crm_id_synonyms_and_derived_ids_are_said(tmp_path):
    p = tmp_path / "acc.csv"
    p.write_text("Kundennummer,Firma,Umsatz,CRM ID\nK1,Alpha,10,0015g000001\nK2,Beta,20,\n")
    book = import_book(p)
    assert book.accounts["source_id"].tolist()[0] == "0015g000001" and pd.isna(book.accounts["source_id"].iloc[1])
    # without a CRM id column the account id is taken, and the report says so
    q = tmp_path / "plain.csv"
    q.write_text("account_id,name,revenue_12m\nA1,Alpha,10\n")
    book = import_book(q)
    assert book.accounts["source_id"].tolist() == ["A1"]
    assert any("no separate CRM id column" in n for n in book.report.notes)


def test_a_crm_id_alone_becomes_the_account_id_and_generated_ids_are_no_crm_ids(tmp_path):
    p = tmp_path / "acc.csv"
    p.write_text("Salesforce ID,name,revenue_12m\n0015g000001,Alpha,10\n")
    acc = import_book(p).accounts
    assert acc[["account_id", "source_id"]].iloc[0].tolist() == ["0015g000001", "0015g000001"]
    q = tmp_path / "noid.csv"
    q.write_text("name,revenue_12m\nAlpha,10\nBeta,20\n")
    book = import_book(q)
    assert book.accounts["source_id"].isna().all()  # A00001 is no id a CRM knows
    assert any("needs_source_ids.csv" in n for n in book.report.notes)


def test_managers_file_with_only_id_and_capacity_imports(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,name,revenue_12m,owner_id\nA1,Alpha,10,M001\nA2,Beta,20,M002\n")
    man = tmp_path / "mgr.csv"
    man.write_text("manager_id,capacity_hours\nM001,1400\nM002,1500\n")
    book = import_book(acc, managers=man)
    m = book.managers.set_index("manager_id")
    assert m["name"].to_dict() == {"M001": "M001", "M002": "M002"}
    assert m["capacity_hours"].tolist() == [1400.0, 1500.0]
    assert any("no name column" in n and "mgr.csv" in n for n in book.report.notes)
    assert book.accounts["owner_id"].tolist() == ["M001", "M002"]
    # neither name nor capacity: still imports, both said
    man.write_text("manager_id,source_id\nM001,0055g01\nM002,0055g02\n")
    book = import_book(acc, managers=man)
    assert book.managers["source_id"].tolist() == ["0055g01", "0055g02"]
    assert any("no capacity column" in n for n in book.report.notes)


def test_managers_known_by_name_only_have_no_crm_user_id():
    # Maven's sales_teams.csv names its agents and has no id: an OwnerId "Rosie Papadopoulos" in the Salesforce
    # file would only fail at the CRM's import, so every such move goes to needs_source_ids.csv, and the note says why
    maven = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "maven_crm_sales_opportunities"
    book = import_book(maven / "accounts.csv", managers=maven / "sales_teams.csv",
                       pipeline=maven / "sales_pipeline.csv")
    assert book.managers["source_id"].isna().all()
    assert any("known by name only" in n and "needs_source_ids.csv" in n for n in book.report.notes)
    owners = book.accounts["owner_id"].dropna().unique()
    moves = pd.DataFrame({"account_id": book.accounts["account_id"].iloc[:3],
                          "from_manager": book.accounts["owner_id"].iloc[:3],
                          "to_manager": [owners[-1]] * 3, "reason": "test"})
    files = move_files(Assignment(owners=pd.DataFrame(), moves=moves, loads=pd.DataFrame()), book, ("salesforce",))
    assert len(files["salesforce_account_owner_update.csv"]) == 0 and len(files["needs_source_ids.csv"]) == 3

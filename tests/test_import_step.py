"""The Import step without a browser: uploads, roles, mapping editor, report, rejected rows, duplicate review,
size limit, saving — each checked through the state it changes."""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime
from pathlib import Path

import ipywidgets as w
import pandas as pd
import pytest

import widgets.import_step as import_step
from widgets.import_step import ImportStep, guess_role
from widgets.state import WorkbenchState
from workbench.book import load_book

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "realdata"
MAVEN = REAL / "maven_crm_sales_opportunities"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def view(tmp_path):
    st = WorkbenchState()
    return ImportStep(st, base_dir=tmp_path)


def _csv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8")


def test_load_canonical_book_folder_keeps_first_behaviour(view, tmp_path):
    folder = tmp_path / "book"
    folder.mkdir()
    pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Alpha", "Beta"], "revenue_12m": [10.0, 5.0],
                  "owner_id": ["M1", "M1"]}).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame({"manager_id": ["M1"], "name": ["Max"], "capacity_hours": [1500]}).to_csv(
        folder / "managers.csv", index=False)
    view.load(str(folder))
    assert view.state.book is not None and view.state.book.n_accounts == 2
    assert view.state.book_path == str(folder)
    assert "<svg" in view._chart.value and "Alpha" in view._table.value
    assert ("Loaded book: 2 accounts (2 rows read, 2 accepted, 0 rejected); 1 manager from managers.csv "
            "(1 row read, 1 accepted, 0 rejected).") in view._msg.value


def test_maven_upload_roles_mapping_and_import(view):
    seen = []
    view.state.observe(lambda ch: seen.append(ch["new"]), names="book")
    view._path.value = str(ROOT / "sample_data")  # what the field showed before the upload
    for f in ("accounts.csv", "sales_teams.csv", "sales_pipeline.csv"):
        view._upload.value = ({"name": f, "type": "text/csv", "size": (MAVEN / f).stat().st_size,
                               "content": memoryview((MAVEN / f).read_bytes()), "last_modified": NOW},)
    assert {n: dd.value for n, dd in view._role.items()} == {
        "accounts.csv": "accounts", "sales_teams.csv": "managers", "sales_pipeline.csv": "pipeline"}
    assert view._map["name"].value == "account" and view._map["industry"].value == "sector"
    assert "encoding utf-8" in view._detected.value and not view._import.disabled
    view._import.click()
    book = view.state.book
    assert len(seen) == 1 and book.n_accounts == 85 and len(book.managers) == 35
    assert book.accounts["owner_id"].notna().all()
    assert view._path.value == ""  # the folder typed before no longer names the book in use
    # accounts and managers are counted apart, not lumped into "120 rows read"
    assert ("Imported accounts.csv: 85 accounts (85 rows read, 85 accepted, 0 rejected); 35 managers from "
            "sales_teams.csv (35 rows read, 35 accepted, 0 rejected).") in view._msg.value
    assert "120 rows" not in view._msg.value
    # the grid said "Revenue 12 m = revenue"; with a pipeline the import used the won value: said in view
    assert ("Revenue 12 m is the won value per account from sales_pipeline.csv (its last 12 months); the accounts "
            "file's 'revenue' is kept as company size.") in html.unescape(view._msg.value)
    # Maven's revenue is USD millions of company size, no currency shown: the book says EUR is a default
    assert "labelled EUR by default" in view._msg.value and "Currency" in view._msg.value
    assert "largest won value" in view._report.value and "<svg" in view._chart.value
    assert view._progress.value == 1.0 and view._progress.layout.display == "none"


def test_user_corrects_the_mapping(view):
    data = _csv(["Kd-Nr,Bezeichnung,Erlös gesamt,Zuständig",
                 "1,Alpha GmbH,100,Ann", "2,Beta AG,250.5,Bo"])
    view.add_file("export.csv", data)
    assert view._map["revenue_12m"].value == ""  # nothing sensible to suggest for "Erlös gesamt"
    view._map["account_id"].value = "Kd-Nr"
    view._map["name"].value = "Bezeichnung"
    view._map["revenue_12m"].value = "Erlös gesamt"
    view._map["owner_name"].value = "Zuständig"
    view.run_import()
    acc = view.state.book.accounts
    assert acc["account_id"].tolist() == ["1", "2"] and acc["revenue_12m"].tolist() == [100.0, 250.5]
    assert sorted(view.state.book.managers["manager_id"]) == ["Ann", "Bo"]
    assert view.state.book.report.files[0]["detected"]["mapping_how"]["revenue_12m"] == "mapping file"
    # and unmapping a suggestion is respected
    view._map["owner_name"].value = ""
    view.run_import()
    assert view.state.book.accounts["owner_id"].isna().all()


def test_upload_over_the_size_limit_is_refused_with_a_clear_message(view, monkeypatch):
    monkeypatch.setattr(import_step, "MAX_UPLOAD_MB", 1)
    big = b"account_id,name,revenue_12m\n" + b"A,B,1\n" * 300_000
    view._upload.value = ({"name": "huge.csv", "type": "text/csv", "size": len(big), "content": memoryview(big),
                           "last_modified": NOW},)
    assert "huge.csv" not in view._role and view.state.book is None
    msg = view._msg.value
    assert "huge.csv" in msg and "limited to 1 MB" in msg and "workbench import" in msg


def test_report_rejections_download_and_save(view, tmp_path):
    view.add_file("dirty.csv", _csv(["account_id,name,revenue_12m,owner", "A1,Alpha,10,Ann", "A2,Beta,-5,Ann",
                                     "A3,Gamma,lots,Bo", "A1,Alpha again,3,Bo"]))
    view.run_import()
    rep = view.state.book.report
    assert (rep.rows_read, rep.rows_accepted, rep.rows_rejected) == (4, 1, 3)
    assert "Rejected rows" in view._rejections.value and "lots" in view._rejections.value
    m = re.search(r'base64,([A-Za-z0-9+/=]+)"', view._download.value)
    csv_text = base64.b64decode(m.group(1)).decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "file,row,column,value,rule" and "must not be negative" in csv_text
    view._save_dir.value = "out"
    view.save_rejections()
    saved = pd.read_csv(tmp_path / "out" / "rejected_rows.csv", encoding="utf-8-sig")
    assert len(saved) == 3 and set(saved["row"]) == {2, 3, 4}
    view.save()
    assert view.state.book_path == str(tmp_path / "out")
    assert load_book(tmp_path / "out").n_accounts == 1
    view._save_dir.value = "/etc/evil"
    view.save()
    assert "inside" in view._msg.value and not Path("/etc/evil").exists()


def test_unreadable_upload_is_a_plain_message(view):
    view.add_file("garbage.csv", bytes(range(256)) * 50)
    view.run_import()
    assert view.state.book is None
    assert "binary data" in view._msg.value and "Traceback" not in view._msg.value


def test_duplicate_review_accept_and_merge(view):
    view.add_file("crm.csv", _csv([
        "account_id,name,postcode,city,revenue_12m",
        "1,Müller Maschinenbau GmbH,80331,München,100",
        "2,Mueller Maschinenbau G.m.b.H.,80331,München,20",
        "3,Schneider Logistik AG,20095,Hamburg,50",
        "4,Schnieder Logistik AG,20095,Hamburg,5",
        "5,Keller Druck GmbH,04109,Leipzig,4",
    ]))
    view.run_import()
    view._threshold.value = 90
    view._find.click()
    assert len(view._candidates) == 2 and len(view._dup_rows.children) == 2
    assert "2 candidate pairs" in view._dup_msg.value
    view.merge()
    assert "Tick the pairs" in view._msg.value and view.state.book.n_accounts == 5
    view._accept[1].value = True  # accept only the second pair
    view._merge.click()
    assert view.state.book.n_accounts == 4
    view._find.click()
    view._accept_all.click()
    assert all(cb.value for cb in view._accept)
    view.merge()
    acc = view.state.book.accounts.set_index("account_id")
    assert len(acc) == 3 and acc.loc["1", "source_ids"] == "1;2" and acc.loc["1", "revenue_12m"] == 120
    assert any("duplicates:" in n for n in view.state.book.report.notes)


def test_role_guess_and_widgets_are_plain_ipywidgets(view):
    assert guess_role("Opportunities_2024.xlsx") == "pipeline"
    assert guess_role("sales_teams.csv") == "managers"
    assert guess_role("umsatzhistorie.csv") == "history"
    assert guess_role("Active Accounts.xlsx") == "accounts"
    assert guess_role("products.csv") == "ignore" and guess_role("Price Book.xlsx") == "ignore"  # Maven's products
    assert isinstance(view._upload, w.FileUpload) and "wb-step" in view._dom_classes


def test_currency_field_sets_the_book_currency_and_refuses_junk(view):
    view.add_file("accounts.csv", _csv(["account_id,name,revenue_12m,owner", "A1,Alpha,10,Ann", "A2,Beta,5,Bo"]))
    view.run_import()
    assert view.state.book.currency == "EUR" and "labelled EUR by default" in view._msg.value
    assert "2 accounts (2 rows read, 2 accepted, 0 rejected); 2 managers derived from the account owners" \
        in view._msg.value
    view._currency.value = "usd"
    view.run_import()
    assert view.state.book.currency == "USD" and "by default" not in view._msg.value
    view._currency.value = "<script>"
    view.run_import()
    assert "three-letter ISO code" in view._msg.value and view.state.book.currency == "USD"


def test_company_revenue_is_a_mapping_field_of_its_own(view):
    view.add_file("sf.csv", _csv(["ID,NAME,OWNERID,ANNUALREVENUE,ISDELETED,BILLINGCOUNTRY",
                                  "001A,Alpha,005A,1000000,false,US"]))
    assert view._map["annual_revenue"].value == "ANNUALREVENUE" and view._map["revenue_12m"].value == ""
    view.run_import()
    assert "no column with revenue with us" in view._report.value


def test_a_file_without_recognisable_columns_points_to_the_mapping_fields(view):
    # the UCI wholesale file: no id, name or revenue column; the core's advice (a mapping file) is the command
    # line's way, the app's is its own mapping fields; and no "reading accounts" is left beside the error
    uci = REAL / "uci_wholesale_customers" / "Wholesale customers data.csv"
    view.add_file(uci.name, uci.read_bytes())
    view.run_import()
    assert view.state.book is None and "wb-msg-error" in view._msg.value
    assert "Column mapping fields above" in view._msg.value and "upload a mapping file (YAML" in view._msg.value
    assert view._progress_text.value == "" and view._progress.layout.display == "none"


WHOLESALE_YAML = b"""columns:
  revenue_12m: [Fresh, Milk, Grocery, Frozen, Detergents_Paper, Delicassen]
  industry: Channel
  region: Region
values:
  industry: {1: Horeca, 2: Retail}
  region: {1: Lisbon, 2: Oporto, 3: Other}
constants:
  country: PT
"""


def test_a_mapping_file_upload_imports_what_the_fields_cannot(view, tmp_path):
    # the README's UCI mapping (a sum of six columns, code labels, a constant) works in the app as on the command
    # line; uploaded first, it is recognised as a mapping file by its extension and not offered as a data file
    uci = REAL / "uci_wholesale_customers" / "Wholesale customers data.csv"
    view.add_file("wholesale.yaml", WHOLESALE_YAML)
    view.add_file(uci.name, uci.read_bytes())
    assert view._role["wholesale.yaml"].value == "mapping" and view._accounts_file() == uci.name
    assert ("From wholesale.yaml: Revenue 12 m = sum of Fresh, Milk, Grocery, Frozen, Detergents_Paper, Delicassen; "
            "labels for the codes of Industry, Region; Country = PT for every row.") in html.unescape(view._detected.value)
    view.run_import()
    acc = view.state.book.accounts
    raw = pd.read_csv(uci)
    assert len(acc) == len(raw) == 440 and "wb-msg-error" not in view._msg.value
    cats = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    assert acc["revenue_12m"].to_numpy().tolist() == raw[cats].sum(axis=1).astype(float).tolist()
    assert set(acc["country"]) == {"PT"} and set(acc["region"]) == {"Lisbon", "Oporto", "Other"}


def test_the_confirmed_mapping_downloads_as_a_file_that_gives_the_same_book(view, tmp_path):
    from workbench.io import import_book

    data = _csv(["Kundennr,Firma,Umsatz,Branche,Betreuer", "K1,Alpha GmbH,100,Handel,M1",
                 "K2,Beta AG,250,Bau,M2"])
    view.add_file("kunden.csv", data)
    view._map["industry"].value = ""          # unmapped against the guess: saved as null, so it stays unmapped
    view._map["revenue_12m"].value = "Umsatz"
    view.offer_mapping()
    link = view._map_link.value
    assert 'download="kunden_mapping.yaml"' in link
    text = base64.b64decode(re.search(r"base64,([^\"]+)", link).group(1)).decode("utf-8")
    assert "industry: null" in text and "revenue_12m: Umsatz" in text and "preset:" in text
    view.run_import()
    (tmp_path / "kunden.csv").write_bytes(data)
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    again = import_book(tmp_path / "kunden.csv", mapping=tmp_path / "m.yaml")
    pd.testing.assert_frame_equal(again.accounts, view.state.book.accounts)
    assert view.state.book.accounts["industry"].isna().all()


def test_a_mapping_file_that_does_not_fit_is_named_and_import_refuses(view):
    view.add_file("accounts.csv", _csv(["Account Id,Account Name", "A1,Alpha"]))
    view.add_file("old.yaml", b"columns:\n  revenue_12m: Umsatz\n")
    msg = html.unescape(view._msg.value)
    assert "Mapping file old.yaml does not fit accounts.csv" in msg and "'Umsatz'" in msg
    view.run_import()
    assert view.state.book is None and "old.yaml" in view._msg.value
    view._role["old.yaml"].value = "ignore"   # set aside, the import goes ahead
    view.run_import()
    assert view.state.book is not None and view.state.book.n_accounts == 1
    view.add_file("broken.yml", b"columns: [a\n  b: c\n")
    assert "Mapping file broken.yml is not valid YAML at line 2" in view._msg.value


def test_two_files_marked_accounts_are_named_not_silently_left(view):
    view.add_file("kunden.csv", _csv(["Kundennr,Firma", "K1,Alpha"]))
    view.add_file("firmen.csv", _csv(["Kundennr,Firma", "K2,Beta"]))
    assert view._import.disabled and view._mapping_box.children == ()
    msg = html.unescape(view._msg.value)
    assert "kunden.csv, firmen.csv are all marked 'accounts'" in msg and "'ignore'" in msg
    view._role["firmen.csv"].value = "ignore"
    assert not view._import.disabled and len(view._mapping_box.children) > 0

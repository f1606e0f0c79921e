"""Presets: Salesforce, HubSpot and Dynamics exports map to the canonical schema; auto detection; YAML overrides."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from workbench.io import ImportFileError, build_mapping, detect_preset, import_book, suggest_mapping


def _hubspot_csv(path):
    df = pd.DataFrame({
        "Record ID": ["9001", "9002", "9003", "9004"],
        "Company name": ["Globex Inc.", "Initech GmbH", "Umbrella Ltd", "Globex Germany GmbH"],
        "Company owner": ["Ann Lee", "Bo Chen", "Ann Lee", ""],
        "Annual Revenue": ["1200000", "", "560000.5", "90000"],
        "Number of Employees": ["1200", "40", "", "15"],
        "Industry": ["COMPUTER_SOFTWARE", "Technolgy", "Pharmaceuticals", "COMPUTER_SOFTWARE"],
        "Country/Region": ["United States", "Germany", "United Kingdom", "Deutschland"],
        "Postal Code": ["10001", "80331", "SW1A 1AA", "10115"],
        "Parent Company": ["", "", "", "Globex Inc."],
        "Create Date": ["2023-01-05 10:00", "2023-02-01 11:00", "2023-03-01 09:30", "2023-04-01 08:00"],
        "Lifecycle Stage": ["Customer", "Customer", "Lead", "Customer"],
    })
    df.to_csv(path, index=False)
    return path


def test_hubspot_export(tmp_path):
    book = import_book(_hubspot_csv(tmp_path / "hubspot-crm-exports-all-companies-2024.csv"))
    acc = book.accounts.set_index("account_id")
    det = book.report.files[0]["detected"]
    assert det["preset"] == "hubspot"
    assert det["mapping"]["name"] == "Company name" and det["mapping"]["country"] == "Country/Region"
    assert list(acc.index) == ["9001", "9002", "9003", "9004"]
    assert acc.loc["9001", "owner_id"] == "Ann Lee" and pd.isna(acc.loc["9004", "owner_id"])
    assert acc["country"].tolist() == ["US", "DE", "GB", "DE"]
    assert acc.loc["9002", "industry"] == "Technology"
    # parent by name → parent id; the family is Globex
    assert acc.loc["9004", "parent_id"] == "9001"
    # HubSpot's Annual Revenue is the company's own revenue: a size signal, not revenue with us
    assert acc.loc["9001", "annual_revenue"] == 1200000 and pd.isna(acc.loc["9002", "annual_revenue"])
    assert (acc["revenue_12m"] == 0).all()
    assert any("no column with revenue with us" in w and "'Annual Revenue'" in w for w in book.report.warnings)
    # managers derived from the owners seen
    assert sorted(book.managers["manager_id"]) == ["Ann Lee", "Bo Chen"]


def _dynamics_xlsx(path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Active Accounts"
    header = ["(Do Not Modify) Account", "(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On",
              "Account Name", "Owner", "Annual Revenue", "Number of Employees", "Address 1: City",
              "Address 1: ZIP/Postal Code", "Address 1: Country/Region", "Industry", "Parent Account"]
    ws.append(header)
    rows = [
        ("Contoso Ltd", "Nancy Davolio", 2500000.0, 120, "Redmond", "98052", "United States", 7, ""),
        ("Fabrikam AG", "Nancy Davolio", 830000.25, 40, "München", "80331", "Germany", 12, ""),
        ("Fabrikam Austria GmbH", "Andrew Fuller", None, 12, "Wien", "1010", "Austria", 12, "Fabrikam AG"),
        ("Adventure Works", "Andrew Fuller", 12000.0, 3, "Zürich", "8001", "Schweiz", 33, ""),
    ]
    rng = uuid.UUID(int=12345)
    for i, r in enumerate(rows):
        guid = str(uuid.UUID(int=rng.int + i))
        ws.append([guid, f"checksum{i}==", f"2024-05-0{i + 1}T10:00:00", *r])
    for col in "ABC":
        ws.column_dimensions[col].hidden = True
    hidden = wb.create_sheet("hiddenSheet")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "account:metadata"
    wb.move_sheet("hiddenSheet", offset=-1)  # Dynamics puts it first; it must not be picked
    wb.active = 1
    wb.save(path)
    return path


def test_dynamics_export_to_excel(tmp_path):
    book = import_book(_dynamics_xlsx(tmp_path / "Active Accounts 5-1-2024 10-00-00 AM.xlsx"))
    det = book.report.files[0]["detected"]
    assert det["preset"] == "dynamics" and det["sheet"] == "Active Accounts" and det["format"] == "excel"
    acc = book.accounts
    assert acc["account_id"].str.len().eq(36).all()  # the hidden GUID column is the id
    assert acc["name"].tolist() == ["Contoso Ltd", "Fabrikam AG", "Fabrikam Austria GmbH", "Adventure Works"]
    # numeric industry codes → Dynamics labels (then harmonised where a canonical label exists)
    assert acc["industry"].tolist() == ["Consulting", "Durable Manufacturing", "Durable Manufacturing", "Wholesale"]
    assert acc["country"].tolist() == ["US", "DE", "AT", "CH"]
    assert acc["postcode"].tolist() == ["98052", "80331", "1010", "8001"]
    assert acc["parent_id"].iloc[2] == acc["account_id"].iloc[1]
    # the hidden checksum columns stay with the book so the file can be written back to Dynamics
    assert "(Do Not Modify) Row Checksum" in acc.columns
    # Dynamics' Annual Revenue is the customer's own revenue (size), not revenue with us
    assert acc["annual_revenue"].iloc[1] == pytest.approx(830000.25) and (acc["revenue_12m"] == 0).all()
    assert any("no column with revenue with us" in w for w in book.report.warnings)


def test_salesforce_report_labels_and_api_names_any_case():
    assert detect_preset(["Account Name", "Account Owner", "Billing Country", "Annual Revenue", "Employees"])[0] \
        == "salesforce"
    m = build_mapping(["Account ID", "Account Name", "Account Owner", "Annual Revenue", "Employees",
                       "Billing Zip/Postal Code", "Billing Country"], preset="auto")
    assert m.preset == "salesforce"
    assert m.columns["owner_name"] == "Account Owner" and m.columns["employees"] == "Employees"
    assert m.columns["postcode"] == "Billing Zip/Postal Code" and m.columns["account_id"] == "Account ID"
    low = build_mapping(["id", "name", "parentid", "ownerid", "annualrevenue", "numberofemployees",
                         "billingcountry", "billingpostalcode", "isdeleted"], preset="auto")
    assert low.preset == "salesforce" and low.columns["parent_id"] == "parentid"


def test_generic_fuzzy_suggestions_for_unknown_headers():
    sugg = suggest_mapping(["Cust. Name", "Revenu", "Postleitzahl", "Sonstiges"], "generic").set_index("target")
    assert sugg.loc["postcode", "source"] == "Postleitzahl" and sugg.loc["postcode", "how"] == "synonym"
    assert sugg.loc["revenue_12m", "source"] == "Revenu" and sugg.loc["revenue_12m", "how"] == "fuzzy"
    assert sugg.loc["potential", "source"] == ""


def test_yaml_mapping_overrides_sums_values_and_constants(tmp_path):
    p = tmp_path / "spend.csv"
    p.write_text("Channel,Region,Fresh,Milk,Kunde\n1,1,100,50,X\n2,3,10,,Y\n")
    mp = tmp_path / "map.yaml"
    mp.write_text("columns:\n  revenue_12m: [Fresh, Milk]\n  industry: Channel\n  region: Region\n"
                  "  name: Kunde\nvalues:\n  industry: {1: Horeca, 2: Retail}\n  region: {1: Lisbon, 3: Other}\n"
                  "constants:\n  country: PT\n")
    book = import_book(p, mapping=mp)
    acc = book.accounts
    assert acc["revenue_12m"].tolist() == [150.0, 10.0]
    assert acc["industry"].tolist() == ["Hospitality", "Retail"]  # Horeca is harmonised to Hospitality
    assert acc["region"].tolist() == ["Lisbon", "Other"] and set(acc["country"]) == {"PT"}
    assert acc["account_id"].tolist() == ["A00001", "A00002"]
    assert book.report.files[0]["detected"]["mapping_how"]["revenue_12m"] == "mapping file"


def test_mapping_errors_are_one_sentence(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("id,name,revenue\n1,A,2\n")
    with pytest.raises(ImportFileError, match="does not have"):
        import_book(p, mapping={"columns": {"revenue_12m": "Umsatz"}})
    with pytest.raises(ImportFileError, match="unknown column"):
        import_book(p, mapping={"columns": {"turnover": "revenue"}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: [1, 2\n")
    with pytest.raises(ImportFileError, match="not valid YAML"):
        import_book(p, mapping=bad)
    with pytest.raises(ImportFileError, match="Unknown preset"):
        import_book(p, preset="sap")


def test_mapping_can_unmap_a_preset_column(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("id,name,revenue,potential\n1,A,2,5\n")
    acc = import_book(p, mapping={"columns": {"potential": None}}).accounts
    assert acc["potential"].isna().all() and acc["potential_source"].tolist() == ["5"]

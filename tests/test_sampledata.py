"""Tests for the sample-data generator: schema validity, determinism, realism targets, truth and dirt."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import fuzz

from workbench import schema
from workbench.book import load_book
from workbench.cli import main as cli_main
from workbench.sampledata import CITIES, ROLES, TIERS, generate

REPO = Path(__file__).resolve().parents[1]
FILES = ("accounts.csv", "managers.csv", "revenue_history.csv")


@pytest.fixture(scope="module")
def data():
    return generate()  # the documented default: 2,000 accounts, 40 managers, 24 months, seed 42


@pytest.fixture(scope="module")
def dirty():
    return generate(n_accounts=3000, n_managers=60, seed=7, dirty=True)


@pytest.fixture(scope="module")
def written(data, tmp_path_factory):
    return data.write(tmp_path_factory.mktemp("book"), truth=True)


def _loads(accounts: pd.DataFrame, managers: pd.DataFrame) -> pd.Series:
    hours = accounts.groupby("owner_id")["service_need"].sum()
    return hours.reindex(managers["manager_id"]).fillna(0).to_numpy() / managers["capacity_hours"].to_numpy()


# --- contract ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table,attr", [("accounts", "accounts"), ("managers", "managers"), ("history", "history")])
def test_clean_tables_pass_the_schema_with_zero_rejections(data, table, attr):
    v = schema.validate(getattr(data, attr), table)
    assert v.rejections.empty, v.rejections.head()
    assert v.rows_accepted == len(getattr(data, attr))


def test_written_folder_loads_as_a_book_and_equals_the_python_data(data, written):
    book = load_book(written)
    assert book.report.rows_rejected == 0
    assert len(book.accounts) == 2000 and len(book.managers) == 40
    assert book.history["period"].nunique() == 24
    assert book.accounts["account_id"].tolist() == data.accounts["account_id"].tolist()
    pd.testing.assert_series_equal(book.accounts["revenue_12m"], data.accounts["revenue_12m"])
    # text survives the round trip exactly: umlauts, leading zeros of postcodes
    assert book.accounts["postcode"].tolist() == data.accounts["postcode"].tolist()
    assert book.accounts["name"].tolist() == data.accounts["name"].tolist()
    assert book.accounts["name"].str.contains("[äöüß]", regex=True).any()
    assert pd.read_csv(written / "accounts.csv").shape == (2000, len(data.accounts.columns))


def test_book_method_gives_a_validated_account_book(data):
    book = data.book()
    assert book.report.rows_rejected == 0
    assert book.n_accounts == 2000 and len(book.history) == len(data.history)


def test_committed_default_set_is_what_the_generator_writes(data, tmp_path):
    out = data.write(tmp_path)
    for f in FILES:
        assert filecmp.cmp(out / f, REPO / "sample_data" / f, shallow=False), f"sample_data/{f} is stale"


def test_same_seed_gives_byte_identical_files_other_seed_differs(tmp_path):
    a = generate(n_accounts=500, n_managers=10, seed=3, dirty=True).write(tmp_path / "a", truth=True)
    b = generate(n_accounts=500, n_managers=10, seed=3, dirty=True).write(tmp_path / "b", truth=True)
    c = generate(n_accounts=500, n_managers=10, seed=4, dirty=True).write(tmp_path / "c", truth=True)
    for f in (*FILES, "truth.csv"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
        assert (a / f).read_bytes() != (c / f).read_bytes(), f


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="n_months must be at least 12"):
        generate(n_months=6)
    with pytest.raises(ValueError, match="n_accounts"):
        generate(n_accounts=0)
    with pytest.raises(ValueError, match="end_month"):
        generate(end_month="October")


# --- realism targets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [42, 1, 2])
def test_revenue_is_heavy_tailed_top_fifth_holds_70_to_80_percent(seed):
    rev = np.sort(generate(seed=seed).accounts["revenue_12m"].to_numpy())[::-1]
    share = rev[: len(rev) // 5].sum() / rev.sum()
    assert 0.70 <= share <= 0.80, share


def test_about_ten_percent_of_accounts_are_in_austria_and_switzerland(data):
    a = data.accounts
    assert set(a["country"]) == {"DE", "AT", "CH"}
    assert 0.07 <= a["country"].isin(["AT", "CH"]).mean() <= 0.13


def test_about_five_percent_of_accounts_are_in_families(data):
    a = data.accounts
    in_family = a["parent_id"].notna() | a["account_id"].isin(a["parent_id"])
    assert 0.03 <= in_family.mean() <= 0.08
    parents = a["parent_id"].dropna()
    assert parents.isin(a["account_id"]).all() and (parents != a.loc[parents.index, "account_id"]).all()
    # a subsidiary's name starts with its parent's name without the legal form
    kids = a[a["parent_id"].notna()]
    parent_name = kids["parent_id"].map(a.set_index("account_id")["name"])
    stem = parent_name.str.split(" ").str[:2].str.join(" ")
    assert (pd.Series([n.startswith(s) for n, s in zip(kids["name"], stem)]).mean()) > 0.95


def test_postcode_city_and_region_agree(data):
    a = data.accounts.merge(CITIES, on=["country", "city"], how="left", validate="many_to_one")
    assert a["plz_lo"].notna().all(), "city not in the city table"
    assert (a["region_x"] == a["region_y"]).all()
    plz = a["postcode"].astype(int)
    assert ((plz >= a["plz_lo"]) & (plz <= a["plz_hi"])).all()
    width = a["postcode"].str.len()
    assert (width[a["country"] == "DE"] == 5).all() and (width[a["country"] != "DE"] == 4).all()
    assert a.loc[a["country"] == "DE", "postcode"].str.startswith("0").any()  # leading zeros kept


def test_german_company_names_with_legal_forms_and_industries(data):
    names = data.accounts["name"]
    for form in ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "SE"):
        assert names.str.endswith(" " + form).any(), form
    assert names.nunique() > 0.97 * len(names)
    assert data.accounts["industry"].nunique() >= 10
    assert (data.accounts["employees"] >= 1).all()


def test_managers_roles_capacity_cost_languages(data):
    m = data.managers
    assert set(m["role"]) == set(ROLES)
    assert m["capacity_hours"].between(1300, 1600).all()
    cost = m.groupby("role")["cost"].mean()
    assert cost["Key Account Manager"] > cost["Account Manager"] > cost["Inside Sales"]
    assert m["languages"].str.split(";").map(lambda langs: "de" in langs).all()
    assert m["region"].isin(data.accounts["region"]).all()


def test_current_loads_are_uneven_but_a_balanced_plan_is_possible(data):
    load = _loads(data.accounts, data.managers)
    assert (load > 1.15).sum() >= 2, "some managers must be clearly overloaded"
    assert (load < 0.85).sum() >= 2, "some managers must be under-used"
    assert data.accounts["service_need"].sum() < data.managers["capacity_hours"].sum()


def test_some_accounts_are_owned_outside_their_region_and_strategic_mostly_by_kams(data):
    a, m = data.accounts, data.managers.set_index("manager_id")
    owned = a[a["owner_id"].notna()]
    outside = (owned["owner_id"].map(m["region"]) != owned["region"]).mean()
    assert 0.05 <= outside <= 0.6
    role = owned["owner_id"].map(m["role"])
    strategic = owned["account_id"].isin(data.truth.loc[data.truth["true_tier"] == "Strategic", "account_id"])
    kam_share = (role[strategic] == "Key Account Manager").mean()
    assert 0.7 <= kam_share < 1.0, kam_share


def test_source_ids_look_like_salesforce_ids_with_valid_checksum(data):
    for ids, prefix in ((data.accounts["source_id"], "001"), (data.managers["source_id"], "005")):
        assert ids.is_unique and (ids.str.len() == 18).all() and ids.str.startswith(prefix).all()
        for sid in ids.head(50):  # the checksum rule, written out independently of the generator
            chunks = [sid[i:i + 5] for i in (0, 5, 10)]
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
            suffix = "".join(alphabet[sum(1 << j for j, ch in enumerate(c) if "A" <= ch <= "Z")] for c in chunks)
            assert sid[15:] == suffix


# --- history and truth ----------------------------------------------------------------------------------------


def test_revenue_12m_equals_the_last_twelve_months_of_history(written):
    book = load_book(written)
    h = book.history
    last12 = h[h["period"] > h["period"].max() - pd.DateOffset(months=12)]
    cents = (last12["revenue"] * 100).round().astype("int64").groupby(last12["account_id"]).sum()
    expected = cents.reindex(book.accounts["account_id"]).fillna(0).to_numpy()
    assert np.array_equal(expected, (book.accounts["revenue_12m"] * 100).round().astype("int64").to_numpy())


def test_history_is_monthly_and_ends_at_end_month(data):
    p = data.history["period"]
    assert p.max() == pd.Timestamp("2026-10-01") and p.min() == pd.Timestamp("2024-11-01")
    assert (p.dt.day == 1).all()
    assert not data.history.duplicated(["account_id", "period"]).any()
    assert (data.history["revenue"] >= 0).all()


def test_churned_accounts_drop_to_zero_and_stay(data):
    t = data.truth
    churned = t[t["churn_period"].notna()]
    assert len(churned) >= 20
    h = data.history.merge(churned[["account_id", "churn_period"]], on="account_id")
    after = h["period"] >= pd.to_datetime(h["churn_period"])
    assert (h.loc[after, "revenue"] == 0).all()
    before = h[~after].groupby("account_id")["revenue"].sum()
    assert (before > 0).mean() > 0.9


def test_truth_tiers_differ_in_value_potential_and_growth(data):
    a = data.accounts.merge(data.truth, on="account_id")
    assert set(a["true_tier"]) == set(TIERS)
    med = a.groupby("true_tier")["revenue_12m"].median()
    assert med["Strategic"] > med["Grow"] > med["Maintain"] > med["Long tail"]
    headroom = (a["potential"] / a["revenue_12m"].clip(lower=1)).groupby(a["true_tier"]).median()
    assert headroom["Grow"] > 1.5 and headroom["Grow"] > headroom["Maintain"]
    growth = a.groupby("true_tier")["growth_rate"].mean()
    assert growth["Grow"] > 0.15 and growth["Long tail"] < 0
    need = a.groupby("true_tier")["service_need"].median()
    assert need["Strategic"] > need["Grow"] > need["Maintain"] > need["Long tail"]


def test_truth_is_written_only_when_asked(data, tmp_path):
    assert not (data.write(tmp_path / "plain") / "truth.csv").exists()
    truth = pd.read_csv(data.write(tmp_path / "with", truth=True) / "truth.csv")
    assert len(truth) == 2000 and {"true_tier", "growth_rate", "churn_period", "duplicate_of"} <= set(truth)


# --- dirty mode -----------------------------------------------------------------------------------------------


def test_dirty_plants_near_duplicates_recorded_in_truth(dirty):
    a, t = dirty.accounts, dirty.truth
    dups = t[t["duplicate_of"].notna()]
    assert len(dups) == 60 and len(a) == 3060
    names = a.set_index("account_id")["name"]
    pairs = pd.DataFrame({"dup": names[dups["account_id"]].to_numpy(),
                          "orig": names[dups["duplicate_of"]].to_numpy()})
    assert (pairs["dup"] != pairs["orig"]).all()
    similarity = [fuzz.token_sort_ratio(x.lower(), y.lower()) for x, y in zip(pairs["dup"], pairs["orig"])]
    assert np.median(similarity) > 85
    assert pairs["dup"].str.contains("G.m.b.H.|Aktiengesellschaft|ue|oe|ae", regex=True).any()
    # a duplicate sits at the same place as its original
    city = a.set_index("account_id")["city"]
    pair_city = pd.DataFrame({"dup": city[dups["account_id"]].to_numpy(),
                              "orig": city[dups["duplicate_of"]].to_numpy()}).dropna()
    assert len(pair_city) > 50 and (pair_city["dup"] == pair_city["orig"]).all()


def test_dirty_impossible_values_are_rejected_by_the_schema_with_reasons(dirty):
    v = schema.validate(dirty.accounts, "accounts", file="accounts.csv")
    rules = set(zip(v.rejections["column"], v.rejections["rule"]))
    assert ("revenue_12m", "must not be negative") in rules
    assert ("employees", "must not be negative") in rules
    dirt = dirty.truth.set_index("account_id")["dirt"].fillna("")
    rejected_ids = v.accepted["account_id"]
    planted = dirt[dirt.str.contains("negative_revenue|employees_minus_one")].index
    assert not rejected_ids.isin(planted).any()
    assert v.rows_rejected == len(planted)


def test_dirty_missing_values_and_wrong_postcodes_are_recorded(dirty):
    a = dirty.accounts.set_index("account_id")
    dirt = dirty.truth.set_index("account_id")["dirt"].fillna("")
    for column in ("industry", "employees", "postcode", "potential", "owner_id"):
        tagged = dirt.index[dirt.str.contains(f"missing_{column}")]
        assert len(tagged) > 0 and a.loc[tagged, column].isna().all(), column
    bad = dirt.index[dirt.str.contains("postcode_wrong_length")]
    expected = np.where(a.loc[bad, "country"].isin(["DE", "Deutschland"]), 5, 4)
    assert len(bad) > 0 and (a.loc[bad, "postcode"].str.len().to_numpy() != expected).all()
    assert a["country"].isin(["Deutschland", "Österreich", "Schweiz"]).any()


def test_dirty_duplicates_split_revenue_so_history_stays_consistent(dirty):
    h = dirty.history
    last12 = h[h["period"] > h["period"].max() - pd.DateOffset(months=12)]
    cents = (last12["revenue"] * 100).round().astype("int64").groupby(last12["account_id"]).sum()
    a = dirty.accounts
    ok = a["revenue_12m"] >= 0
    rev = (a.loc[ok, "revenue_12m"] * 100).round().astype("int64").to_numpy()
    assert np.array_equal(cents.reindex(a.loc[ok, "account_id"]).fillna(0).to_numpy(), rev)


# --- CLI ------------------------------------------------------------------------------------------------------


def test_cli_writes_the_three_files_and_truth_on_request(tmp_path, capsys):
    out = tmp_path / "book"
    rc = cli_main(["sample-data", "--accounts", "300", "--managers", "8", "--months", "18", "--seed", "5",
                   "--out", str(out), "--dirty", "--truth"])
    assert rc == 0
    assert {p.name for p in out.iterdir()} == {*FILES, "truth.csv"}
    assert "306 accounts" in capsys.readouterr().out
    book = load_book(out)
    assert book.history["period"].nunique() == 18
    assert book.report.rows_rejected > 0  # the planted impossible values


def test_cli_reports_bad_arguments_in_one_line(tmp_path, capsys):
    rc = cli_main(["sample-data", "--months", "3", "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "n_months must be at least 12" in err and "Traceback" not in err
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert cli_main(["sample-data", "--accounts", "10", "--managers", "2", "--out", str(blocker)]) == 2
    assert "cannot write the sample data" in capsys.readouterr().err


@pytest.mark.parametrize("n_accounts,n_managers", [(1, 1), (5, 2), (3, 50), (120, 7)])
def test_tiny_and_odd_sized_books_are_still_valid(n_accounts, n_managers, tmp_path):
    data = generate(n_accounts=n_accounts, n_managers=n_managers, n_months=12, seed=11)
    assert len(data.accounts) == n_accounts and len(data.managers) == n_managers
    assert data.managers["region"].notna().all()
    book = load_book(data.write(tmp_path))
    assert book.report.rows_rejected == 0 and book.n_accounts == n_accounts
    assert book.accounts["owner_id"].dropna().isin(book.managers["manager_id"]).all()


def test_text_with_commas_quotes_and_line_breaks_is_quoted_and_round_trips(data, tmp_path):
    accounts = data.accounts.head(20).copy()
    accounts.loc[0, "name"] = 'Müller, Söhne "Nord" GmbH'
    accounts.loc[1, "name"] = "Zeile\nzwei AG"
    data_changed = type(data)(accounts=accounts, managers=data.managers, history=data.history.head(0),
                              truth=data.truth, params=data.params)
    out = data_changed.write(tmp_path)
    back = pd.read_csv(out / "accounts.csv", dtype=str, keep_default_na=False)
    assert back["name"].tolist() == accounts["name"].tolist()
    assert back["postcode"].tolist() == accounts["postcode"].tolist()

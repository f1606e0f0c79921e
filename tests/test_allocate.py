"""Reallocation engine: contract, hard constraints (capacity, band, locks, families), diagnosis, events, CRM files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.allocate import InfeasibleError, parse_event, reallocate
from workbench.book import AccountBook, account_units
from workbench.results import Assignment, Segmentation

ROLES = ("Key Account Manager", "Account Manager", "Inside Sales")
REGIONS = ("Bayern", "Berlin", "Hessen", "Wien", "Zürich", "Hamburg")
COUNTRY = {"Bayern": "DE", "Berlin": "DE", "Hessen": "DE", "Wien": "AT", "Zürich": "CH", "Hamburg": "DE"}
SEG_HOURS = np.array([60.0, 20.0, 8.0, 2.0])
SEG_ROLE = ("Key Account Manager", "Account Manager", "Account Manager", "Inside Sales")
SEG_NAME = ("Strategic", "Grow", "Maintain", "Long tail")


def synthetic_book(n: int = 600, m: int = 16, seed: int = 0, slack: float = 1.15, skew: float = 1.5,
                   unowned: float = 0.02, families: float = 0.05) -> tuple[AccountBook, Segmentation]:
    """A small book with uneven owners (a quarter of each role's managers pulls extra accounts) and a coverage
    model whose total need is capacity / ``slack``."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(4, size=n, p=[0.05, 0.25, 0.4, 0.3])
    region = rng.choice(REGIONS, size=n)
    rev = np.round(rng.lognormal(10, 1.0, n) * (4 - seg), 2)
    ids = np.array([f"A{i:05d}" for i in range(n)])
    mroles = np.array(ROLES)[rng.choice(3, size=m, p=[0.2, 0.55, 0.25])]
    mroles[:3] = ROLES
    seg_role = np.array(SEG_ROLE)[seg]
    need = SEG_HOURS[seg]
    per_role = {r: need[seg_role == r].sum() / (mroles == r).sum() for r in ROLES}
    cap = np.array([per_role[r] * slack for r in mroles]) * rng.uniform(0.9, 1.1, m)
    owner = np.empty(n, dtype=object)
    for r in ROLES:
        idx = np.flatnonzero(seg_role == r)
        ms = np.flatnonzero(mroles == r)
        p = np.ones(len(ms))
        p[: max(1, len(ms) // 4)] += skew
        owner[idx] = np.array([f"M{j:03d}" for j in ms])[rng.choice(len(ms), size=len(idx), p=p / p.sum())]
    owner[rng.random(n) < unowned] = None
    parent = np.full(n, None, dtype=object)
    fam = np.flatnonzero(rng.random(n) < families)
    parent[fam] = ids[rng.integers(0, n, len(fam))]
    parent[parent == ids] = None
    acc = pd.DataFrame({"account_id": ids, "name": [f"Firma {i}" for i in range(n)], "parent_id": parent,
                        "country": [COUNTRY[r] for r in region], "region": region,
                        "industry": rng.choice(["Retail", "Software", "Health", "Logistics"], size=n),
                        "revenue_12m": rev, "potential": rev * rng.uniform(1, 3, n), "owner_id": owner,
                        "source_id": [f"001{i:012d}" for i in range(n)]})
    for c in ("account_id", "parent_id", "owner_id", "source_id", "region", "country", "industry", "name"):
        acc[c] = acc[c].astype("string")
    mgr = pd.DataFrame({"manager_id": [f"M{j:03d}" for j in range(m)], "name": [f"Manager {j}" for j in range(m)],
                        "role": mroles, "region": rng.choice(REGIONS, size=m),
                        "languages": rng.choice(["de", "de;en", "de;fr"], m), "capacity_hours": np.round(cap, 1),
                        "source_id": [f"005{j:012d}" for j in range(m)]}).astype(
        {"manager_id": "string", "name": "string", "role": "string", "region": "string", "source_id": "string"})
    labels = pd.DataFrame({"account_id": ids, "segment_id": seg, "segment": np.array(SEG_NAME)[seg]})
    cov = pd.DataFrame({"segment_id": range(4), "segment": SEG_NAME, "role": SEG_ROLE,
                        "hours_per_account": SEG_HOURS, "accounts_per_manager": [25, 80, 200, 800]})
    return AccountBook(accounts=acc, managers=mgr), Segmentation(labels=labels, profiles=pd.DataFrame(), coverage=cov)


@pytest.fixture(scope="module")
def small():
    return synthetic_book()


@pytest.fixture(scope="module")
def plan(small):
    book, seg = small
    return reallocate(book, seg)


def _check_band(asg: Assignment, tol: float = 1e-6) -> None:
    ld = asg.loads[asg.loads["target_hours"] > 0]
    assert (ld["hours_after"] <= ld["band_high"] + tol).all(), ld[ld["hours_after"] > ld["band_high"] + tol]
    assert (ld["hours_after"] >= ld["band_low"] - tol).all(), ld[ld["hours_after"] < ld["band_low"] - tol]
    assert (ld["hours_after"] <= ld["capacity_hours"] + tol).all()


def test_contract_columns_and_types(plan, small):
    book, _ = small
    assert isinstance(plan, Assignment)
    assert {"account_id", "from_manager", "to_manager", "hours"} <= set(plan.owners.columns)
    assert {"account_id", "from_manager", "to_manager", "reason"} <= set(plan.moves.columns)
    need = {"manager_id", "name", "role", "capacity_hours", "target_hours", "band_low", "band_high",
            "accounts_before", "accounts_after", "hours_before", "hours_after", "revenue_before", "revenue_after",
            "potential_before", "potential_after", "in_band_before", "in_band_after"}
    assert need <= set(plan.loads.columns)
    for key in ("objective", "lower_bound", "gap", "seconds", "status", "solver", "diagnosis"):
        assert key in plan.stats
    assert len(plan.owners) == len(book.accounts)
    assert plan.owners["to_manager"].notna().all()
    assert plan.loads["accounts_after"].sum() == len(book.accounts)
    assert plan.loads["hours_after"].sum() == pytest.approx(plan.owners["hours"].sum())
    # every move is a real owner change and has a sentence
    assert (plan.moves["from_manager"].fillna("-") != plan.moves["to_manager"]).all()
    assert plan.moves["reason"].str.len().min() > 10


def test_feasible_plan_respects_capacity_and_band(plan):
    assert plan.stats["status"] in ("optimal", "feasible")
    assert plan.stats["diagnosis"] == ""
    _check_band(plan)
    assert plan.stats["managers_in_band_before"] < plan.stats["managers_in_band_after"] == len(plan.loads)
    assert plan.stats["lower_bound"] <= plan.stats["objective"] + 1e-6
    # the gap is to the LP bound, which lumpy 60-hour accounts keep apart from any integer plan (the
    # comparison with the exact integer program is in test_allocate_exact.py)
    assert 0 <= plan.stats["gap"] < 0.05


def test_unowned_accounts_get_an_owner_with_reason(plan, small):
    book, _ = small
    unowned = book.accounts.loc[book.accounts["owner_id"].isna(), "account_id"]
    assert len(unowned)
    mv = plan.moves.set_index("account_id")
    assert set(unowned) <= set(mv.index)
    assert mv.loc[list(unowned), "from_manager"].isna().all()
    assert (mv.loc[list(unowned), "reason_code"] == "unowned").all()
    assert mv.loc[list(unowned), "reason"].str.startswith("Unowned").all()


def test_families_never_split(plan, small):
    book, _ = small
    units = pd.Series(account_units(book.accounts), index=book.accounts["account_id"].to_numpy())
    owners = plan.owners.set_index("account_id")["to_manager"]
    per_unit = owners.groupby(units.reindex(owners.index).to_numpy()).nunique()
    assert (per_unit == 1).all()
    assert (units.value_counts() > 1).any()  # the book really has families


def test_reasons_name_the_overloaded_manager(plan):
    over = plan.moves[plan.moves["reason_code"] == "over_capacity"]
    assert len(over)
    first = over.iloc[0]
    assert first["reason"].startswith(first["from_name"] + " over capacity by ")
    assert "% under target" in first["reason"] or "% over target" in first["reason"]


def test_deterministic(small):
    book, seg = small
    a = reallocate(book, seg, seed=3)
    b = reallocate(book, seg, seed=3)
    pd.testing.assert_frame_equal(a.owners, b.owners)
    pd.testing.assert_frame_equal(a.moves, b.moves)
    assert a.stats["objective"] == b.stats["objective"]


def test_locks_hold(small):
    book, seg = small
    acc = book.accounts
    owned = acc[acc["owner_id"].notna() & acc["parent_id"].isna()]
    keep = owned["account_id"].iloc[:5].tolist()
    other = owned["account_id"].iloc[5]
    other_owner = owned["owner_id"].iloc[5]
    target = book.managers.loc[(book.managers["manager_id"] != other_owner)
                               & (book.managers["role"] == book.managers.set_index("manager_id").loc[
                                   other_owner, "role"]), "manager_id"].iloc[0]
    locks = pd.DataFrame({"account_id": keep + [other], "manager_id": [None] * 5 + [target]})
    asg = reallocate(book, seg, locks=locks)
    to = asg.owners.set_index("account_id")["to_manager"]
    assert (to.loc[keep].to_numpy() == owned["owner_id"].iloc[:5].to_numpy()).all()
    assert to.loc[other] == target
    assert asg.moves.set_index("account_id").loc[other, "reason_code"] == "lock"


def test_capacity_below_demand_is_diagnosed(small):
    book, seg = small
    tight = AccountBook(accounts=book.accounts, managers=book.managers.assign(
        capacity_hours=book.managers["capacity_hours"] * 0.6))
    asg = reallocate(book=tight, segmentation=seg)
    assert asg.stats["status"] == "infeasible"
    assert "Capacity below demand" in asg.stats["diagnosis"]
    assert "Add capacity" in asg.stats["diagnosis"]
    # the share of the need that can be served ("429 % short" read oddly where 81 % of the need went unmet)
    import re
    need = float(asg.owners["hours"].sum())
    have = float(tight.managers["capacity_hours"].sum())
    share = re.search(r"\(enough for (\d+)% of it\)", asg.stats["diagnosis"])
    assert share and int(share.group(1)) == round(100 * have / need)


def test_lock_onto_full_manager_is_diagnosed(small):
    book, seg = small
    acc = book.accounts
    mgr = book.managers.iloc[0]
    same_role = seg.labels.set_index("account_id")["segment_id"].map(dict(enumerate(SEG_ROLE)))
    ids = acc.loc[acc["parent_id"].isna() & same_role.reindex(acc["account_id"]).eq(mgr["role"]).to_numpy(),
                  "account_id"]
    asg = reallocate(book, seg, locks={a: mgr["manager_id"] for a in ids})
    assert asg.stats["status"] == "infeasible"
    assert "Locks put" in asg.stats["diagnosis"] and mgr["name"] in asg.stats["diagnosis"]


def test_too_tight_move_limit_is_diagnosed(small):
    book, seg = small
    asg = reallocate(book, seg, max_move_share=0.01)
    assert asg.stats["status"] == "infeasible"
    assert "move limit" in asg.stats["diagnosis"]
    # the diagnosis names the share to set, and that share is what the returned plan needed
    import re

    m = re.search(r"needs about ([\d,]+); raise the move limit to at least ([\d.]+) %", asg.stats["diagnosis"])
    assert m, asg.stats["diagnosis"]
    need, share = int(m.group(1).replace(",", "")), float(m.group(2)) / 100
    owned = int(book.accounts["owner_id"].notna().sum())
    assert need == asg.stats["owned_moves"] and share >= need / owned > 0.01
    assert share - need / owned < 0.001


def test_move_limit_holds_when_feasible(small, plan):
    book, seg = small
    owned_moves = plan.moves["from_manager"].notna().sum()
    share = (owned_moves * 1.3) / book.accounts["owner_id"].notna().sum()
    asg = reallocate(book, seg, max_move_share=share)
    assert asg.stats["status"] != "infeasible", asg.stats["diagnosis"]
    assert asg.moves["from_manager"].notna().sum() <= share * book.accounts["owner_id"].notna().sum() + 1e-9
    _check_band(asg)


def test_manager_leaves_and_hire_joins(small):
    book, seg = small
    leaver = book.managers.loc[book.managers["role"] == "Account Manager", "manager_id"].iloc[0]
    events = [{"type": "leave", "manager_id": leaver},
              {"type": "hire", "name": "Ana Roth", "role": "Account Manager", "region": "Bayern",
               "capacity_hours": 900.0, "ramp": 0.5}]
    asg = reallocate(book, seg, events=events)
    ld = asg.loads.set_index("manager_id")
    assert ld.loc[leaver, "hours_after"] == 0 and ld.loc[leaver, "accounts_after"] == 0
    assert ld.loc["NEW-1", "capacity_hours"] == pytest.approx(450.0)
    assert ld.loc["NEW-1", "hours_after"] > 0
    left = asg.moves[asg.moves["from_manager"] == leaver]
    assert (left["reason_code"].isin(["manager_leaves", "family"])).all()
    assert len(left) == (book.accounts["owner_id"] == leaver).sum()
    _check_band(asg)


def test_override_with_rest_frozen(small, plan):
    book, seg = small
    acc = book.accounts[book.accounts["parent_id"].isna() & book.accounts["owner_id"].notna()].iloc[0]
    dest = book.managers.loc[book.managers["manager_id"] != acc["owner_id"], "manager_id"].iloc[0]
    asg = reallocate(book, seg, events=[{"type": "override", "account_id": acc["account_id"], "manager_id": dest,
                                         "rest": "freeze"}], base=plan)
    to = asg.owners.set_index("account_id")["to_manager"]
    assert to.loc[acc["account_id"]] == dest
    base_to = plan.owners.set_index("account_id")["to_manager"]
    same_family = account_units(book.accounts) == account_units(book.accounts)[
        book.accounts["account_id"].eq(acc["account_id"]).to_numpy()][0]
    others = book.accounts.loc[~same_family, "account_id"]
    assert (to.loc[others] == base_to.loc[others]).all()


def test_bad_inputs_give_plain_errors(small):
    book, seg = small
    with pytest.raises(ValueError, match="band"):
        reallocate(book, seg, band=1.5)
    with pytest.raises(ValueError, match="not in the accounts table"):
        reallocate(book, seg, locks=["NOPE"])
    with pytest.raises(ValueError, match="not in the managers table"):
        reallocate(book, seg, events=[{"type": "leave", "manager_id": "X"}])
    with pytest.raises(ValueError, match="unknown weight"):
        reallocate(book, seg, weights={"speed": 1})
    assert issubclass(InfeasibleError, ValueError)


def test_parse_event():
    assert parse_event("leave:M007") == {"type": "leave", "manager_id": "M007"}
    assert parse_event("override:A1=M2,freeze") == {"type": "override", "account_id": "A1", "manager_id": "M2",
                                                    "rest": "freeze"}
    ev = parse_event("hire:name=Ana,role=Account Manager,capacity_hours=1600,ramp=0.5")
    assert ev["capacity_hours"] == 1600.0 and ev["ramp"] == 0.5 and ev["role"] == "Account Manager"
    with pytest.raises(ValueError):
        parse_event("fire:M1")


# ------------------------------------------------------------------------------------------ charts, CRM, CLI
def _marks(spec: dict) -> int:
    """Rows of inline data across a (layered) Vega-Lite spec: an upper bound on its marks."""
    total = 0
    for ds in spec.get("datasets", {}).values():
        total += len(ds)
    return total


def test_charts_are_bounded_and_draw_the_band(plan, small):
    from workbench.report.charts.allocate import moves_by_reason_chart, region_chart, workload_chart

    book, _ = small
    spec = workload_chart(plan.loads, band=0.15, max_managers=10).to_dict()
    assert "band ±15%" in spec["title"]
    strip = [ly for ly in spec["layer"] if ly["mark"]["type"] == "rect"]
    assert strip and spec["datasets"][strip[0]["data"]["name"]] == [{"lo": 0.85, "hi": 1.15}]
    points = [ly for ly in spec["layer"] if ly["mark"]["type"] == "circle"][0]
    assert len(spec["datasets"][points["data"]["name"]]) == 2 * 10  # before and after per manager
    assert _marks(spec) <= 5000
    reg = region_chart(plan.owners, book.accounts, plan.loads).to_dict()
    rows = next(iter(reg["datasets"].values()))
    assert {r["when"] for r in rows} == {"before", "after"}
    assert all(0 <= r["local_share"] <= 1 for r in rows)
    # a region no manager sits in cannot be served locally by any plan: named in the subtitle, not drawn as bars
    acc = book.accounts.copy()
    acc.loc[acc.index[:7], "region"] = "Atlantis"
    reg = region_chart(plan.owners, acc, plan.loads).to_dict()
    rows = next(iter(reg["datasets"].values()))
    assert "Atlantis" not in {r["region"] for r in rows} and {r["when"] for r in rows} == {"before", "after"}
    no_mgr = sorted(set(acc["region"]) - set(plan.loads["region"]))
    assert "Atlantis" in no_mgr
    sub = reg["title"]["subtitle"][0]
    assert sub.startswith(f"Not shown: {len(no_mgr)} regions without a manager of their own (")
    assert all(r in sub for r in no_mgr[:4]) and not set(no_mgr) & {r["region"] for r in rows}
    rs = moves_by_reason_chart(plan.moves).to_dict()
    counts = {r["reason_code"]: r["accounts"] for r in next(iter(rs["datasets"].values()))}
    assert counts == plan.moves["reason_code"].value_counts().to_dict()
    from workbench.allocate import reason_label
    assert {r["reason"] for r in next(iter(rs["datasets"].values()))} == {reason_label(c) for c in counts}
    assert rs["encoding"]["y"]["field"] == "reason" and reason_label("over_capacity") == "Owner over capacity"


def test_workload_chart_cuts_an_outlier_and_names_managers_once(plan):
    from workbench.report.charts.allocate import manager_labels, workload_chart

    loads = plan.loads.copy()
    # a book whose owners are known only by name (Maven's CRM): "Darcel Schlecht", not "Darcel Schlecht (…)" twice
    assert manager_labels(pd.Series(["M1", "Darcel Schlecht"]), pd.Series(["Ana", "Darcel Schlecht"])).tolist() == [
        "Ana (M1)", "Darcel Schlecht"]
    plain = workload_chart(loads, band=0.15).to_dict()
    assert "axis cut" not in plain["title"]
    # one manager at 11.5 × target must not squash everyone else's band into a sliver
    i = loads.index[0]
    loads.loc[i, "hours_before"] = 11.5 * loads.loc[i, "target_hours"]
    spec = workload_chart(loads, band=0.15).to_dict()
    assert spec["title"].endswith("axis cut at 300%")
    points = [ly for ly in spec["layer"] if ly["mark"]["type"] == "circle"][0]
    assert points["encoding"]["x"]["scale"] == {"domain": [0, 3.0], "clamp": True}
    labels = {r["label"] for r in spec["datasets"][points["data"]["name"]]}
    name = loads.loc[i, "name"]
    assert any(lb.startswith(str(name)) and lb.endswith(": 1,150 %") for lb in labels)


def test_crm_move_files(plan, small, tmp_path):
    from workbench.crm import move_table, write_move_files

    book, _ = small
    paths = write_move_files(plan, book, tmp_path)
    names = {p.name for p in paths}
    assert {"salesforce_account_owner_update.csv", "hubspot_company_owner_import.csv",
            "dynamics365_account_owner_import.csv", "moves_plain.csv"} <= names
    sf = pd.read_csv(tmp_path / "salesforce_account_owner_update.csv", dtype=str)
    assert list(sf.columns) == ["Id", "OwnerId"] and len(sf) == len(plan.moves)
    src = book.accounts.set_index("account_id")["source_id"]
    msrc = book.managers.set_index("manager_id")["source_id"]
    mv = plan.moves.set_index("account_id")
    first = mv.index[0]
    row = sf[sf["Id"] == src[first]].iloc[0]
    assert row["OwnerId"] == msrc[mv.loc[first, "to_manager"]]
    hs = pd.read_csv(tmp_path / "hubspot_company_owner_import.csv", dtype=str)
    assert list(hs.columns) == ["Record ID", "Company owner"]
    dy = pd.read_csv(tmp_path / "dynamics365_account_owner_import.csv", dtype=str)
    assert list(dy.columns) == ["accountid", "ownerid", "owneridtype"] and (dy["owneridtype"] == "systemuser").all()
    plain = pd.read_csv(tmp_path / "moves_plain.csv", dtype=str)
    assert len(plain) == len(plan.moves) and plain["reason"].notna().all()
    # a new hire has no CRM id yet: those rows go to needs_source_ids.csv, not into the import files
    hired = reallocate(book, _small_seg(small), events=[{"type": "hire", "name": "Ana Roth", "role": "Account Manager",
                                                         "capacity_hours": 900.0, "ramp": 1.0}])
    paths = write_move_files(hired, book, tmp_path / "hire")
    table = move_table(hired, book)
    to_new = int((table["to_manager"] == "NEW-1").sum())
    assert to_new > 0
    missing = pd.read_csv(tmp_path / "hire" / "needs_source_ids.csv", dtype=str)
    assert len(missing) == to_new
    sf2 = pd.read_csv(tmp_path / "hire" / "salesforce_account_owner_update.csv", dtype=str)
    assert len(sf2) == len(hired.moves) - to_new and sf2["OwnerId"].notna().all()
    with pytest.raises(ValueError, match="unknown CRM"):
        write_move_files(plan, book, tmp_path, systems=("sap",))


def _small_seg(small):
    return small[1]


def test_cli_reallocate(small, tmp_path, capsys):
    from workbench.book import save_book
    from workbench.cli import main
    from workbench.results import save_result

    book, seg = small
    save_book(book, tmp_path / "book", fmt="csv")
    save_result(seg, tmp_path / "seg")
    lock = tmp_path / "locks.csv"
    acc = book.accounts[book.accounts["owner_id"].notna() & book.accounts["parent_id"].isna()].iloc[0]
    pd.DataFrame({"account_id": [acc["account_id"]]}).to_csv(lock, index=False)
    leaver = book.managers["manager_id"].iloc[4]
    rc = main(["reallocate", str(tmp_path / "book"), "--segments", str(tmp_path / "seg"), "--out",
               str(tmp_path / "out"), "--band", "0.12", "--lock", str(lock), "--event", f"leave:{leaver}",
               "--weight", "fit=2"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "accounts change owner" in out and "gap" in out
    moves = pd.read_csv(tmp_path / "out" / "moves.csv", dtype={"account_id": str})
    managers = pd.read_csv(tmp_path / "out" / "managers.csv")
    assert {"account_id", "from_manager", "to_manager", "reason"} <= set(moves.columns)
    assert acc["account_id"] not in set(moves["account_id"])
    assert managers.set_index("manager_id").loc[leaver, "accounts_after"] == 0
    assert (tmp_path / "out" / "salesforce_account_owner_update.csv").exists()
    meta = (tmp_path / "out" / "allocation.json").read_text()
    assert '"band": 0.12' in meta and '"candidates": 12' in meta
    # the command line's default is the engine's, so the CLI, `workbench run` and Python plan alike
    import inspect

    from workbench.cli.reallocate import _DEFAULT_CANDIDATES
    assert _DEFAULT_CANDIDATES == inspect.signature(reallocate).parameters["candidates"].default
    rc = main(["reallocate", str(tmp_path / "book"), "--segments", str(tmp_path / "seg"), "--out",
               str(tmp_path / "out5"), "--candidates", "3", "--crm", "none"])
    assert rc == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "out5" / "allocation.json").read_text())
    assert meta["params"]["candidates"] == 3 and meta["stats"]["candidates_per_unit"] == 3
    # infeasible: one plain line and exit code 2
    rc = main(["reallocate", str(tmp_path / "book"), "--segments", str(tmp_path / "seg"), "--out",
               str(tmp_path / "out2"), "--max-move-share", "0.001"])
    err = capsys.readouterr().err
    assert rc == 2 and "no feasible plan" in err and "move limit" in err and "Traceback" not in err
    assert not (tmp_path / "out2" / "salesforce_account_owner_update.csv").exists()
    # a band no plan can meet (±0 %): the closest plan is written, with a warning naming what it misses
    rc = main(["reallocate", str(tmp_path / "book"), "--segments", str(tmp_path / "seg"), "--out",
               str(tmp_path / "out4"), "--band", "0"])
    err = capsys.readouterr().err
    assert rc == 0 and "warning: no plan meets every setting" in err and "band" in err
    assert (tmp_path / "out4" / "moves.csv").exists() and "infeasible" in (tmp_path / "out4" / "allocation.json").read_text()
    rc = main(["reallocate", str(tmp_path / "book"), "--segments", str(tmp_path / "nowhere"), "--out",
               str(tmp_path / "out3")])
    assert rc == 2 and "holds no segmentation" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ sample data
def _truth_segmentation(data) -> Segmentation:
    """Segments = the generator's true tiers; hours per account = the tier's mean service need; Maintain
    accounts may be served by any role (the generator routes them to Account Managers and Inside Sales)."""
    tiers = ["Strategic", "Grow", "Maintain", "Long tail"]
    lab = data.truth[["account_id", "true_tier"]].rename(columns={"true_tier": "segment"})
    lab["segment_id"] = lab["segment"].map({t: i for i, t in enumerate(tiers)})
    need = data.accounts.merge(lab, on="account_id").groupby("segment_id")["service_need"].mean()
    cov = pd.DataFrame({"segment_id": range(4), "segment": tiers,
                        "role": ["Key Account Manager", "Account Manager", None, "Inside Sales"],
                        "hours_per_account": need.reindex(range(4)).to_numpy()})
    return Segmentation(labels=lab[["account_id", "segment_id", "segment"]], profiles=pd.DataFrame(), coverage=cov)


def _naive_rebalance(book: AccountBook, seg: Segmentation, asg: Assignment) -> tuple[int, bool]:
    """The spreadsheet way to a balanced book, for comparison: deal the accounts afresh, largest first, each to
    the eligible manager (same serving role) with the lowest load relative to target — balance without regard
    to current owners. Returns (accounts that change owner, every manager inside the band). A Python loop is
    fine here: it is the baseline, not the tool."""
    ld = asg.loads.set_index("manager_id")
    tgt, low, high = (ld[c].to_numpy(dtype=float) for c in ("target_hours", "band_low", "band_high"))
    roles = ld["role"].astype(str).to_numpy()
    cov_role = seg.coverage.set_index("segment_id")["role"]
    acc_role = seg.labels.set_index("account_id")["segment_id"].map(cov_role)
    own = asg.owners.set_index("account_id")
    order = own["hours"].sort_values(ascending=False, kind="stable").index
    load = np.zeros(len(ld))
    new_owner = {}
    for acc_id in order:
        r = acc_role.get(acc_id)
        elig = (roles == r) if isinstance(r, str) else np.ones(len(ld), bool)
        util = np.where(elig, (load + own.at[acc_id, "hours"]) / np.maximum(tgt, 1e-9), np.inf)
        j = int(np.argmin(util))
        load[j] += own.at[acc_id, "hours"]
        new_owner[acc_id] = ld.index[j]
    before = book.accounts.set_index("account_id")["owner_id"]
    moved = sum(1 for a, m in new_owner.items() if before.get(a) is pd.NA or before.get(a) != m)
    return moved, bool(((load >= low - 1e-6) & (load <= high + 1e-6)).all())


def test_sample_data_overloaded_managers_end_in_band_with_fewer_moves_than_naive():
    from workbench.sampledata import generate

    data = generate(n_accounts=2000, n_managers=40, seed=42)
    book = data.book()
    seg = _truth_segmentation(data)
    asg = reallocate(book, seg)
    assert asg.stats["status"] in ("optimal", "feasible"), asg.stats["diagnosis"]
    ld = asg.loads
    overloaded = ld["hours_before"] > ld["band_high"]
    assert overloaded.sum() >= 5  # the sample book really is uneven
    assert ld.loc[overloaded, "in_band_after"].all()
    assert ld["in_band_after"].all()
    _check_band(asg)
    naive, naive_in_band = _naive_rebalance(book, seg, asg)
    print(f"optimised: {len(asg.moves)} moves; naive: {naive} moves, all in band: {naive_in_band}")
    assert len(asg.moves) < naive
    # the moves are argued: over-capacity reasons name the manager and the receiver's fit
    over = asg.moves[asg.moves["reason_code"] == "over_capacity"]
    assert len(over) and over["reason"].str.contains(" over capacity by ").all()


def test_role_short_of_capacity_spills_over_with_a_warning(small):
    book, seg = small
    kam = book.managers["role"] == "Key Account Manager"
    thin = AccountBook(accounts=book.accounts, managers=book.managers.assign(
        capacity_hours=np.where(kam, book.managers["capacity_hours"] * 0.5, book.managers["capacity_hours"] * 1.3)))
    asg = reallocate(thin, seg)
    assert asg.stats["status"] != "infeasible"
    assert "Key Account Manager" in asg.stats["diagnosis"] and asg.stats["warnings"]
    strategic = seg.labels.loc[seg.labels["segment_id"] == 0, "account_id"]
    to = asg.owners.set_index("account_id").loc[strategic, "to_manager"]
    roles = thin.managers.set_index("manager_id")["role"]
    assert (roles.reindex(to).to_numpy() != "Key Account Manager").any()  # some strategic accounts spill over
    _check_band(asg)


def test_a_role_short_of_capacity_gives_the_segment_steps_figure_too():
    # the segment step counts each account under its own segment's role (35,155 h of Account Manager work on the
    # sample book), the plan counts a family under its most demanding member's (34,694 h): both in the message,
    # or the two screens seem to disagree
    import re

    from workbench.sampledata import generate
    from workbench.segment import segment
    from workbench.segment.profiles import capacity_gap

    book = generate(n_accounts=2000, n_managers=40, seed=42).book()
    seg = segment(book)
    gap = capacity_gap(seg.coverage, book.managers).set_index("role")
    diagnosis = reallocate(book, seg).stats["diagnosis"]
    found = re.search(r"role 'Account Manager': its accounts need ([\d,]+) h a year \(account families counted "
                      r"under their most demanding member's role; ([\d,]+) h account by account\)", diagnosis)
    assert found, diagnosis
    plan_h, one_by_one = (float(x.replace(",", "")) for x in found.groups())
    assert one_by_one == pytest.approx(gap.loc["Account Manager", "hours_needed"], abs=0.5)
    assert plan_h != one_by_one


def test_moves_summary_counts_owner_changes_apart_from_first_owners():
    from workbench.allocate import moves_summary

    mv = pd.DataFrame({"from_manager": ["M1", None, "M2", None], "to_manager": ["M2", "M1", "M3", "M3"]})
    assert moves_summary(mv) == "2 accounts change owner and 2 unowned accounts get one"
    assert moves_summary(mv.iloc[:1]) == "1 account changes owner"
    assert moves_summary(mv.iloc[1:2]) == "0 accounts change owner and 1 unowned account gets one"
    assert moves_summary(mv.iloc[:0]) == "0 accounts change owner"
    # a leaver's accounts are handed over, not counted as owner changes (the KPIs keep them apart too)
    assert moves_summary(mv, leavers=["M1"]) == ("1 account changes owner, 1 account of leaving managers gets a new "
                                                 "one and 2 unowned accounts get one")


def test_a_taker_above_its_target_says_why_it_still_takes():
    # "Miriam Graf has the same region and is 11 % over target" read like a contradiction in the room
    from workbench.sampledata import generate
    from workbench.segment import segment

    book = generate(n_accounts=2000, n_managers=40, seed=42).book()
    plan = reallocate(book, segment(book))
    ld = plan.loads.set_index("manager_id")
    mv = plan.moves[~plan.moves["reason_code"].isin(["override", "lock", "family", "under_band"])]
    above = (ld["hours_before"] > ld["target_hours"]).reindex(mv["to_manager"].astype(str)).to_numpy()
    said = mv["reason"].str.contains("% over target, still inside the band|% over target but hands over more hours",
                                     regex=True).to_numpy()
    assert above.any() and (said == above).all()


def test_book_without_owners_roles_or_regions(small):
    """A bare book (no owners, no roles, no regions, no coverage role) still gets a balanced plan and says what
    it could not use."""
    book, seg = small
    bare = AccountBook(accounts=book.accounts.assign(owner_id=None).drop(columns=["region", "country", "industry"]),
                       managers=book.managers.drop(columns=["role", "region", "languages"]))
    cov = seg.coverage.drop(columns=["role"])
    asg = reallocate(bare, Segmentation(labels=seg.labels.iloc[:-5], profiles=seg.profiles, coverage=cov))
    assert asg.stats["status"] != "infeasible"
    assert len(asg.moves) == len(book.accounts) and (asg.moves["reason_code"] == "unowned").all()
    notes = " ".join(asg.stats["notes"])
    assert "no serving role" in notes and "5 accounts have no segment" in notes
    _check_band(asg)


def test_thorough_mode_is_never_worse_and_deterministic(small):
    book, seg = small
    fast = reallocate(book, seg, mode="auto")
    a = reallocate(book, seg, mode="thorough")
    heard = []
    b = reallocate(book, seg, mode="thorough", progress=lambda *x: heard.append(x))
    # the solver's stages, then the tables, at rising shares to 1 (a bar for the minutes a big book takes)
    assert [stage for stage, _ in heard][-4:] == ["LP-priced parts", "LP disagreements", "plan tables", "done"]
    assert "exact LP" in dict(heard) and [f for _, f in heard] == sorted(f for _, f in heard) and heard[-1][1] == 1
    assert a.stats["solver"] == "lagrangian+chains+milp+lp"
    assert a.stats["objective"] <= fast.stats["objective"] + 1e-6
    # thorough reports the exact LP bound (the lp route's), tighter than auto's Lagrangian one
    exact_lp = reallocate(book, seg, mode="lp").stats["lower_bound"]
    assert a.stats["lower_bound"] == pytest.approx(exact_lp, rel=1e-6)
    assert fast.stats["lower_bound"] < a.stats["lower_bound"]
    pd.testing.assert_frame_equal(a.owners, b.owners)
    _check_band(a)


def test_a_generated_100k_book_meets_the_default_band():
    """On a generated 100k-account, 2,000-manager book at the default ±15 % band, two Account Managers in thinly
    populated regions (Burgenland, Solothurn) stayed under the band with 6 candidate managers per account, and
    the plan was reported infeasible. A missed band now widens the candidates at any size (before: only on books
    of at most WIDEN_CELLS units × managers)."""
    from workbench.allocate.engine import WIDEN_CELLS
    from workbench.sampledata import generate
    from workbench.segment import segment

    book = generate(n_accounts=100_000, n_managers=2_000, seed=42).book()
    seg = segment(book)
    asg = reallocate(book, seg, candidates=6)  # the old default: the widening is what meets the band
    s = asg.stats
    assert s["units"] * s["active_managers"] > WIDEN_CELLS  # the size the old rule never widened
    assert s["status"] != "infeasible", s["diagnosis"]
    assert s["managers_in_band_after"] == s["active_managers"] and s["band_violation_hours"] == 0
    assert any("candidates widened" in n for n in s["notes"])
    # the default (12 per account) meets it at once: no widening needed, no costlier plan
    default = reallocate(book, seg).stats
    assert default["status"] != "infeasible" and default["managers_in_band_after"] == default["active_managers"]
    assert not any("candidates widened" in n for n in default["notes"])
    assert default["objective"] <= s["objective"] + 1e-6


def test_a_band_miss_claims_no_plan_can_only_with_a_proof(small, monkeypatch):
    """A ±0 % band is missed (hours come in account-sized pieces), but the LP relaxation meets it: the diagnosis
    says the plan found misses it, not that no plan can; with a proof (``band_reachable`` False) it says so."""
    from workbench.allocate import solver as S

    book, seg = small
    miss = reallocate(book, seg, band=0.0)
    assert miss.stats["status"] == "infeasible"
    text = miss.stats["diagnosis"]
    assert "The plan found leaves managers outside the band (no proof that none can keep it)" in text
    assert "No plan" not in text and "Widen the band" in text and "thorough plan search" in text
    monkeypatch.setattr(S, "band_reachable", lambda problem, max_entries=200_000: False)
    text = reallocate(book, seg, band=0.0).stats["diagnosis"]
    assert "No plan over these candidates keeps every manager inside the band" in text
    assert "thorough plan search" not in text  # a proof: searching longer cannot help


def test_moves_summary_of_a_plan_with_a_leaver_agrees_with_the_kpis():
    # the sample book with one manager leaving: the summary's counts are the KPIs' "Accounts moved" and "Accounts
    # of leavers handed over" (the CLI once printed 472 owner changes beside a KPI of 236)
    from workbench.allocate import moves_summary
    from workbench.book import load_book
    from workbench.pipeline import run

    book = load_book(Path(__file__).resolve().parents[1] / "sample_data")
    leaver = book.managers["manager_id"].iloc[3]
    res = run(book, {"segment": {"k": 5}, "allocate": {"events": [{"type": "leave", "manager_id": leaver}]}})
    asg, kpis = res.assignment, res.projection.kpis
    assert asg.stats["status"] != "infeasible"
    moved, handed = int(kpis["accounts_moved"]["scenario"]), int(kpis["accounts_from_leavers"]["scenario"])
    unowned = int(asg.moves["from_manager"].isna().sum())
    assert handed > 0 and moved > 0
    text = f"{moved} accounts change owner, {handed} accounts of leaving managers get a new one"
    assert moves_summary(asg) == text + (f" and {unowned} unowned accounts get one" if unowned else "")


def test_an_account_too_big_for_every_band_is_named_with_the_band_that_would_hold_it():
    # the Maven case: an account family needs more hours than any manager's band allows, so no plan can keep the
    # band; the diagnosis names it, the band that would hold it and the hours per account behind it (capacity well
    # above the need, so the band and not the capacity is what it exceeds)
    book, seg = synthetic_book(slack=1.8)
    target = reallocate(book, seg).loads["target_hours"].max()
    strategic = seg.labels.loc[seg.labels["segment"] == "Strategic", "account_id"].astype(str).to_numpy()
    n = int(np.ceil(1.3 * target / SEG_HOURS[0]))  # a family of strategic accounts, 1.3 x the largest target
    assert n <= len(strategic)
    acc = book.accounts.copy()
    acc["parent_id"] = acc["parent_id"].where(~acc["account_id"].isin(strategic[:n]), strategic[0])
    acc.loc[acc["account_id"] == strategic[0], "parent_id"] = pd.NA
    acc["parent_id"] = acc["parent_id"].where(~acc["parent_id"].isin(strategic[1:n]), pd.NA)  # no other family
    asg = reallocate(AccountBook(accounts=acc, managers=book.managers), seg, band=0.15)
    d = asg.stats["diagnosis"]
    assert asg.stats["status"] == "infeasible"
    head = "1 account (an account family counts as one) needs more hours a year than any manager's band allows"
    assert d.startswith(head), d
    members = acc.loc[acc["account_id"].isin(strategic[:n]), "name"]  # named after its lead (most revenue)
    assert any(f"{m} (" in d for m in members) and "a family of" in d and "whatever the plan" in d
    found = re.search(r"No band below ±(\d+) % can hold it: widen the band to ±\1 %", d)
    assert found and 30 <= int(found.group(1)) <= 50, d
    assert "lower their hours per account in the Segment step (Strategic: 60.0 h per account;" in d
    assert "the coverage model's default: the data has no service need" in d

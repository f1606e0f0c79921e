"""ScenarioStore: round trip, versions, publish, soft delete, read-only open, migrations, YAML, pseudonyms.

``make_scenario`` builds result objects of the documented shape from a seed; the crash, compare and export
tests and ``bench/scenario.py`` import it from here.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from workbench.results import Assignment, Projection, Segmentation
from workbench.scenario import (
    SCHEMA_VERSION,
    Scenario,
    ScenarioStore,
    ScenarioStoreError,
    _m1,
    aliases,
    pseudonymise,
    read_yaml,
)

SEGMENTS = np.array(["Strategic", "Grow", "Maintain", "Long tail"])


def make_scenario(name: str = "Balanced", n_accounts: int = 500, n_managers: int = 10, seed: int = 0,
                  band: float = 0.15, draws: int = 200, move_share: float = 0.1) -> Scenario:
    """A scenario with results of the shapes ``workbench.results`` documents, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    acc = pd.array([f"A{i:07d}" for i in range(n_accounts)], dtype="string")
    mgr_ids = np.array([f"M{j:03d}" for j in range(n_managers)], dtype=object)
    seg_id = rng.integers(0, 4, n_accounts)
    labels = pd.DataFrame({"account_id": acc, "segment_id": seg_id, "segment": SEGMENTS[seg_id]})
    rev = rng.lognormal(10, 1.2, n_accounts)
    profiles = pd.DataFrame({"segment_id": np.arange(4), "segment": SEGMENTS,
                             "n_accounts": np.bincount(seg_id, minlength=4),
                             "revenue_share": np.bincount(seg_id, weights=rev, minlength=4) / rev.sum()})
    coverage = pd.DataFrame({"segment_id": np.arange(4), "segment": SEGMENTS,
                             "role": ["Key Account Manager", "Account Manager", "Account Manager", "Inside Sales"],
                             "hours_per_account": [120.0, 40.0, 12.0, 2.0],
                             "accounts_per_manager": [8.0, 30.0, 100.0, 600.0]})
    seg = Segmentation(labels, profiles, coverage, params={"method": "kmeans", "k": 4, "seed": seed},
                       quality={"silhouette": float(rng.uniform(0.2, 0.5))})
    before = rng.integers(0, n_managers, n_accounts)
    moved = rng.random(n_accounts) < move_share
    after = np.where(moved, (before + rng.integers(1, n_managers, n_accounts)) % n_managers, before)
    hours = np.asarray(coverage["hours_per_account"])[seg_id]
    owners = pd.DataFrame({"account_id": acc, "from_manager": pd.array(mgr_ids[before], dtype="string"),
                           "to_manager": pd.array(mgr_ids[after], dtype="string"), "hours": hours})
    reasons = np.array(["balance: M000 was over band", "fit: industry experience", "continuity: family moves together"])
    moves = owners.loc[moved, ["account_id", "from_manager", "to_manager"]].reset_index(drop=True)
    moves["reason"] = pd.array(reasons[rng.integers(0, 3, len(moves))], dtype="string")
    hb = np.bincount(before, weights=hours, minlength=n_managers)
    ha = np.bincount(after, weights=hours, minlength=n_managers)
    target = np.full(n_managers, hours.sum() / n_managers)
    loads = pd.DataFrame({"manager_id": pd.array(mgr_ids, dtype="string"),
                          "name": pd.array([f"Manager Person {j}" for j in range(n_managers)], dtype="string"),
                          "role": "Account Manager", "capacity_hours": 1600.0, "target_hours": target,
                          "band_low": target * (1 - band), "band_high": target * (1 + band),
                          "accounts_before": np.bincount(before, minlength=n_managers),
                          "accounts_after": np.bincount(after, minlength=n_managers),
                          "hours_before": hb, "hours_after": ha,
                          "revenue_before": np.bincount(before, weights=rev, minlength=n_managers),
                          "revenue_after": np.bincount(after, weights=rev, minlength=n_managers)})
    asg = Assignment(owners, moves, loads, params={"band": band},
                     stats={"objective": float(rng.random()), "gap": 0.004, "seconds": 0.2, "status": "optimal"})
    base = float(rev.sum())
    gain = float(rng.uniform(0.01, 0.05))
    kpis = {
        # the change's own band is narrower than the value's: baseline and scenario move together in every draw
        "revenue_12m": {"label": "Revenue (12 months)", "unit": "EUR", "baseline": base, "scenario": base * (1 + gain),
                        "delta": base * gain, "p10": base * (1 + gain - 0.02), "p50": base * (1 + gain),
                        "p90": base * (1 + gain + 0.02), "delta_p10": base * (gain - 0.008),
                        "delta_p90": base * (gain + 0.008)},
        "accounts_moved": {"label": "Accounts moved", "unit": "accounts", "baseline": 0.0,
                           "scenario": float(moved.sum()), "delta": float(moved.sum()),
                           "p10": None, "p50": None, "p90": None},
        "workload_imbalance": {"label": "Workload imbalance", "unit": "share", "baseline": float(hb.std() / hb.mean()),
                               "scenario": float(ha.std() / ha.mean()),
                               "delta": float(ha.std() / ha.mean() - hb.std() / hb.mean()),
                               "p10": None, "p50": None, "p90": None},
    }
    months = np.arange(1, 13)
    series = pd.DataFrame({"month": months, "baseline": base / 12 * np.ones(12),
                           "scenario": base / 12 * (1 + gain * months / 12)})
    series["scenario_p10"] = series["scenario"] * 0.98
    series["scenario_p50"] = series["scenario"]
    series["scenario_p90"] = series["scenario"] * 1.02
    by_segment = pd.DataFrame({"segment": SEGMENTS, "baseline": np.bincount(seg_id, weights=rev, minlength=4)})
    by_segment["scenario"] = by_segment["baseline"] * (1 + gain)
    by_manager = loads[["manager_id", "name", "revenue_before", "revenue_after"]].copy()
    proj = Projection(kpis, series, by_segment, by_manager,
                      assumptions={"owner_change_loss": {"value": 0.15, "low": 0.132, "high": 0.176,
                                                         "source": "Shi et al. 2017, J. Marketing 81(2)"},
                                   "effort_elasticity": 0.34},
                      params={"horizon_months": 12, "draws": draws, "seed": seed})
    params = {"segment": {"method": "kmeans", "k": 4, "seed": seed}, "allocate": {"band": band},
              "kpi": {"horizon_months": 12, "draws": draws, "seed": seed}}
    report = {"rows_read": n_accounts + 3, "rows_accepted": n_accounts, "rows_rejected": 3, "files": [],
              "warnings": ["3 accounts name an owner that is not in the managers table"], "notes": [],
              "rejections": [{"file": "accounts.csv", "row": 7, "column": "revenue_12m", "value": "-5",
                              "rule": "must be >= 0"}]}
    return Scenario(name=name, params=params, fingerprint=f"fp{seed:014d}", description=f"seed {seed}",
                    author="tester", segmentation=seg, assignment=asg, projection=proj, import_report=report,
                    book_summary=f"{n_accounts:,} accounts, {n_managers} managers")


def assert_same_results(a: Scenario, b: Scenario) -> None:
    """Frames equal with dtypes; dicts equal."""
    for attr in ("segmentation", "assignment", "projection"):
        x, y = getattr(a, attr), getattr(b, attr)
        for f in x.__dataclass_fields__:
            vx, vy = getattr(x, f), getattr(y, f)
            if isinstance(vx, pd.DataFrame):
                pd.testing.assert_frame_equal(vx, vy, check_exact=True)
            else:
                assert vx == vy, (attr, f)
    assert a.params == b.params and a.fingerprint == b.fingerprint and a.import_report == b.import_report


@pytest.fixture
def store(tmp_path):
    with ScenarioStore(tmp_path / "ws" / "scenarios.sqlite") as s:
        yield s


def test_round_trip_is_identical(store):
    sc = make_scenario("Balanced", seed=1)
    assert store.save(sc) == 1
    back = store.load("Balanced")
    assert_same_results(sc, back)
    assert back.version == 1 and back.author == "tester" and back.created == sc.created and not back.published
    assert store.path.stat().st_size > 0


def test_tuples_and_non_text_keys_survive_a_round_trip(store):
    sc = make_scenario("T")
    sc.projection.params["purchase_model"] = {"abgd": (1.5, 0.3), "names": {0: "Strategic", 1: "Grow"},
                                              "nested": [(1, 2), {"k": (3,)}], "pair_key": {(1, 2): "x"}}
    sc.params["segment"]["names"] = {0: "Strategic"}
    store.save(sc)
    back = store.load("T")
    assert back.projection.params == sc.projection.params and back.params == sc.params


def test_wal_mode_and_schema_version(store):
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version == SCHEMA_VERSION
    assert store.integrity_ok()


def test_versions_history_and_load_by_version(store):
    store.save(make_scenario("A", seed=1))
    store.save(make_scenario("A", seed=2))
    store.save(make_scenario("B", seed=3))
    hist = store.history("A")
    assert list(hist["version"]) == [1, 2]
    assert store.load("A").params["segment"]["seed"] == 2
    assert store.load("A", version=1).params["segment"]["seed"] == 1
    lst = store.list()
    assert list(lst["name"]) == ["A", "B"] and list(lst["versions"]) == [2, 1] and list(lst["version"]) == [2, 1]
    assert lst["revenue_12m"].notna().all()
    with pytest.raises(ScenarioStoreError, match="no version 7"):
        store.load("A", version=7)


def test_publish_pins_a_version_and_unpublish_hides(store):
    store.save(make_scenario("A", seed=1), publish=True)
    store.save(make_scenario("A", seed=2))
    store.save(make_scenario("B", seed=3))
    assert store.names(published_only=True) == ["A"]
    pub = store.list(published_only=True)
    assert list(pub["version"]) == [1]
    assert store.load("A", published_only=True).params["segment"]["seed"] == 1
    assert store.load("A", published_only=True).published
    store.publish("A")
    assert store.load("A", published_only=True).version == 2
    store.unpublish("A")
    assert store.names(published_only=True) == []
    with pytest.raises(ScenarioStoreError, match="not published"):
        store.load("A", published_only=True)
    with pytest.raises(ScenarioStoreError, match="No scenario named 'Z'"):
        store.publish("Z")


def test_soft_delete_and_restore(store):
    store.save(make_scenario("A", seed=1), publish=True)
    store.delete("A")
    assert store.names() == [] and store.names(published_only=True) == []
    with pytest.raises(ScenarioStoreError, match="No scenario named 'A'"):
        store.load("A")
    assert store.load("A", include_deleted=True).version == 1
    assert store.list(include_deleted=True)["deleted"].tolist() == [True]
    store.restore("A")
    assert store.names() == ["A"] and store.names(published_only=True) == []
    store.delete("A")
    assert store.save(make_scenario("A", seed=4)) == 2  # saving a deleted name revives it with history
    assert store.names() == ["A"]


def test_read_only_open_reads_but_cannot_write(store, tmp_path):
    store.save(make_scenario("A", seed=1), publish=True)
    ro = ScenarioStore(store.path, read_only=True)
    assert ro.names(published_only=True) == ["A"]
    assert_same_results(store.load("A"), ro.load("A"))
    with pytest.raises(ScenarioStoreError, match="read-only"):
        ro.save(make_scenario("B"))
    with pytest.raises(ScenarioStoreError, match="read-only"):
        ro.publish("A")
    # the raw connection refuses writes too (mode=ro), not only our API
    with pytest.raises(sqlite3.OperationalError):
        ro._db.execute("DELETE FROM scenarios")
    # a reader sees a save made after it opened
    store.save(make_scenario("C", seed=2))
    assert "C" in ro.names()
    ro.close()
    with pytest.raises(ScenarioStoreError, match="No scenario store"):
        ScenarioStore(tmp_path / "missing.sqlite", read_only=True)


def test_not_a_store_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ScenarioStoreError, match="not a readable scenario store"):
        ScenarioStore(bad)


def test_migration_from_schema_1_keeps_data(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    _m1(db)
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute("INSERT INTO scenarios VALUES ('Old', '2025-01-01T00:00:00+00:00', 1, 1, '2025-01-01', NULL)")
    meta = '{"projection": {"kpis": {"revenue_12m": {"scenario": 123.5}}}, "scenario": {}}'
    db.execute("INSERT INTO versions (name, version, description, author, created, saved_at, fingerprint, params_json,"
               " meta_json) VALUES ('Old', 1, 'd', 'a', 'c', 's', 'f', '{}', ?)", (meta,))
    db.close()
    with pytest.raises(ScenarioStoreError, match="schema 1"):
        ScenarioStore(path, read_only=True)
    with ScenarioStore(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        lst = s.list()
        assert lst.loc[0, "name"] == "Old" and lst.loc[0, "revenue_12m"] == 123.5
        s.save(make_scenario("New"))
    with ScenarioStore(path, read_only=True) as ro:
        assert ro.names() == ["New", "Old"]


def test_newer_store_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    ScenarioStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.close()
    with pytest.raises(ScenarioStoreError, match="newer workbench"):
        ScenarioStore(path)


@pytest.mark.parametrize("bad", ["", " ", "a" * 101, "tab\tname"])
def test_bad_names_are_refused(store, bad):
    with pytest.raises(ScenarioStoreError, match="name must be"):
        store.save(make_scenario(bad))


def test_damaged_blob_is_detected(store):
    store.save(make_scenario("A"))
    store._db.execute("UPDATE parts SET data = X'00112233' WHERE part = 'assignment.moves'")
    with pytest.raises(ScenarioStoreError, match="assignment.moves is damaged"):
        store.load("A")


def test_parameter_only_scenario_round_trip(store):
    sc = Scenario("Params only", params={"allocate": {"band": 0.1}})
    store.save(sc)
    back = store.load("Params only")
    assert back.params == {"allocate": {"band": 0.1}} and back.segmentation is None and not back.has_results
    with pytest.raises(ScenarioStoreError, match="parameters only"):
        back.to_run_result()


def test_yaml_round_trip(tmp_path):
    sc = make_scenario("Wide band", seed=5, band=0.2)
    sc.params["segment"]["coverage"] = {"Strategic": {"role": "Key Account Manager", "hours_per_account": 120}}
    sc.params["kpi"]["assumptions"] = {"owner_change_loss": 0.15}
    path = tmp_path / "wide.yaml"
    sc.to_yaml(path)
    back = read_yaml(path)
    assert back.name == "Wide band" and back.params == sc.params and back.fingerprint == sc.fingerprint
    assert back.author == "tester" and back.created == sc.created and back.segmentation is None
    assert Scenario.from_yaml(path.read_text()).params == sc.params


@pytest.mark.parametrize("text, match", [
    ("name: x\nparams:\n  segmnt: {k: 3}\n", "unknown parameter section 'segmnt'"),
    ("- a\n- b\n", "must be a mapping"),
    ("name: x\nparams: [1, 2]\n", "'params' must be a mapping"),
    ("name: x\nparams:\n  segment: 5\n", "section 'segment' must be a mapping"),
    ("name: [unclosed\n", "not valid YAML at line"),
])
def test_yaml_errors_are_one_sentence(text, match):
    with pytest.raises(ScenarioStoreError, match=match):
        read_yaml(text)


def test_yaml_missing_file(tmp_path):
    with pytest.raises(ScenarioStoreError, match="does not exist"):
        read_yaml(tmp_path / "nope.yaml")


def test_aliases_are_stable_keyed_and_distinct():
    ids = pd.Series([f"A{i}" for i in range(20000)] + [None])
    a1 = aliases(ids, "salt-one", "Account", 12)
    a2 = aliases(ids[::-1].reset_index(drop=True), "salt-one", "Account", 12)[::-1]
    assert list(a1) == list(a2)  # order-independent, deterministic
    assert a1[-1] is None and len(set(a1[:-1])) == 20000
    assert a1[0].startswith("Account ") and len(a1[0]) == len("Account ") + 12
    assert (aliases(ids[:5], "salt-two", "Account", 12) != a1[:5]).all()


def test_pseudonymise_replaces_names_everywhere(store):
    sc = make_scenario("A", n_managers=6)
    ps = pseudonymise(sc, store.alias_salt)
    loads, moves = ps.assignment.loads, ps.assignment.moves
    assert not loads["name"].str.contains("Person").any()
    assert (loads["name"] == loads["manager_id"]).all() and loads["manager_id"].str.startswith("Manager ").all()
    assert not ps.segmentation.labels["account_id"].str.startswith("A0").any()
    assert set(moves["to_manager"]) <= set(loads["manager_id"])
    assert not moves["reason"].str.contains("M000").any()
    assert ps.import_report["rejections"][0]["value"] == "…"
    # the same manager gets the same alias in another scenario of the same store; numbers untouched
    other = pseudonymise(make_scenario("B", n_managers=6, seed=9), store.alias_salt)
    assert list(other.assignment.loads["manager_id"]) == list(loads["manager_id"])
    np.testing.assert_array_equal(ps.assignment.loads["hours_after"], sc.assignment.loads["hours_after"])
    assert sc.assignment.loads["name"].str.contains("Person").all()  # the original is not modified


def test_pseudonymise_covers_name_columns_beside_ids():
    sc = make_scenario("A", n_managers=6)
    names = sc.assignment.loads.set_index("manager_id")["name"]
    moves = sc.assignment.moves
    moves["from_name"] = moves["from_manager"].map(names)
    moves["to_name"] = moves["to_manager"].map(names)
    moves["account_name"] = "Company " + moves["account_id"].astype(str)
    moves["reason"] = "Manager Person 1 was over band"
    ps = pseudonymise(sc, "salt").assignment.moves
    assert (ps["to_name"] == ps["to_manager"]).all() and (ps["from_name"] == ps["from_manager"]).all()
    assert (ps["account_name"] == ps["account_id"]).all() and not ps["account_name"].str.contains("Company").any()
    assert not ps["reason"].str.contains("Person").any() and ps["reason"].str.endswith("was over band").all()


def test_pseudonymise_covers_locks_events_author_and_description():
    import dataclasses
    import json

    sc = make_scenario("A", n_managers=6)
    alloc = {"band": 0.15, "locks": [{"account_id": "A0000007", "manager_id": "M002"}],
             "events": [{"type": "leave", "manager_id": "M001"},
                        {"type": "override", "account_id": "A0000003", "manager_id": "M004", "rest": "freeze"},
                        {"type": "hire", "name": "Jane Realname", "role": "Account Manager", "ramp": 0.5}]}
    sc.params = {"allocate": alloc}
    sc.assignment = dataclasses.replace(sc.assignment, params=dict(alloc))
    sc.author, sc.description = "Ann Consultant", "What if Manager Person 1 leaves (M001)?"
    ps = pseudonymise(sc, "salt")
    text = json.dumps([ps.params, ps.assignment.params, ps.author, ps.description])
    for real in ("A0000007", "A0000003", "M001", "M002", "M004", "Jane", "Ann", "Person 1"):
        assert real not in text, real
    # the aliases are the ones the frames use, so a lock still names the same manager as the loads table
    loads = pseudonymise(sc, "salt").assignment.loads
    real_ids = list(sc.assignment.loads["manager_id"])
    assert ps.params["allocate"]["locks"][0]["manager_id"] == loads["manager_id"].iloc[real_ids.index("M002")]
    assert ps.params["allocate"]["events"][0] == {"type": "leave",
                                                  "manager_id": loads["manager_id"].iloc[real_ids.index("M001")]}
    assert ps.params["allocate"]["events"][1]["rest"] == "freeze" and ps.params["allocate"]["band"] == 0.15
    assert ps.description.startswith("What if Manager ") and ps.author.startswith("Author ")
    assert sc.params["allocate"]["locks"][0]["account_id"] == "A0000007"  # the original is not modified


def test_frame_encoding_keeps_dtypes_and_missing_values_exactly():
    from workbench.scenario import _frame_bytes, _frame_from_bytes

    n = 3000
    rng = np.random.default_rng(0)
    reasons = np.array(["balance", "fit", "continuity"], dtype=object)
    df = pd.DataFrame({
        "reason_obj": reasons[rng.integers(0, 3, n)],                                # repeats → dictionary path
        "reason_str": pd.array(reasons[rng.integers(0, 3, n)], dtype="string"),
        "with_na": pd.array(np.where(rng.random(n) < 0.1, None, reasons[rng.integers(0, 3, n)]), dtype="string"),
        "obj_nan": np.where(rng.random(n) < 0.1, np.nan, reasons[rng.integers(0, 3, n)]).astype(object),
        "mixed": np.array([1, "a", 2.5] * (n // 3), dtype=object).astype(str).astype(object),
        "ids": np.array([f"A{i}" for i in range(n)], dtype=object),                  # unique → plain path
        "x": rng.random(n), "k": rng.integers(0, 5, n), "cat": pd.Categorical(reasons[rng.integers(0, 3, n)]),
        "nullable": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), dtype="Int64"),
    })
    df.loc[5, "obj_nan"] = None  # None and NaN side by side: both come back missing (Parquet has one null)
    back = _frame_from_bytes(_frame_bytes(df))
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert back["obj_nan"].isna().sum() == df["obj_nan"].isna().sum()
    empty = df.drop(columns=["cat"]).iloc[:0]  # (Parquet drops the categories of an empty categorical)
    pd.testing.assert_frame_equal(_frame_from_bytes(_frame_bytes(empty)), empty, check_exact=True)

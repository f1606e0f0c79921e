"""Every result frame a scenario saves loads back exactly, whatever its columns hold; what cannot stops the save.

The Maven CRM book has no region, so its move list carries an all-empty ``region`` text column; from 50 moves
such a column was stored as a categorical without categories, Parquet gave it back as a plain column and every
load failed ("'NumpyExtensionArray' object has no attribute 'codes'"): no compare, export or dashboard.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scenario_store import assert_same_results, make_scenario

from workbench.compare import compare
from workbench.report.export import export_excel, export_html
from workbench.scenario import ScenarioStore, ScenarioStoreError, _frame_bytes, _frame_from_bytes

MAVEN = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "maven_crm_sales_opportunities"
WORDS = np.array(["Nord", "Süd", "West", "Ost", "Zürich", ""], dtype=object)


def _column(kind: str, n: int, missing: float, distinct: int, rng: np.random.Generator):
    """One column of ``kind`` with ``n`` rows, about ``missing`` of them missing, ``distinct`` values at most."""
    gone = rng.random(n) < missing
    pick = WORDS[rng.integers(0, min(distinct, len(WORDS)), n)] if distinct <= len(WORDS) else \
        np.array([f"A{i:06d}" for i in rng.integers(0, distinct, n)], dtype=object)
    text = np.where(gone, None, pick).astype(object)
    if kind in ("string", "string[pyarrow]"):
        return pd.array(text, dtype=kind)
    if kind == "str_nan":
        return pd.array(text, dtype=pd.StringDtype("python", na_value=np.nan))
    if kind == "object_text":
        return np.where(gone, np.nan, pick).astype(object) if missing else pick
    if kind == "object_numbers":
        return np.where(gone, None, rng.integers(0, distinct + 1, n)).astype(object)
    if kind == "category":
        cats = list(dict.fromkeys(WORDS[: max(1, min(distinct, len(WORDS)))]))[::-1] + ["unused"]
        return pd.Categorical(text, categories=cats, ordered=bool(distinct % 2))
    if kind == "float":
        return np.where(gone, np.nan, rng.normal(0, 1e6, n))
    if kind == "int":
        return rng.integers(-5, distinct + 1, n)
    if kind == "Int64":
        return pd.array(np.where(gone, None, rng.integers(0, distinct + 1, n)), dtype="Int64")
    if kind == "bool":
        return rng.random(n) < 0.5
    if kind == "boolean":
        return pd.array(np.where(gone, None, rng.random(n) < 0.5), dtype="boolean")
    if kind == "datetime":
        return pd.Series(pd.to_datetime("2024-01-31") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
                         ).where(~gone).to_numpy()
    if kind == "datetime_tz":
        return pd.DatetimeIndex(pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="h"))
    raise AssertionError(kind)


KINDS = ["string", "string[pyarrow]", "str_nan", "object_text", "object_numbers", "category", "float", "int",
         "Int64", "bool", "boolean", "datetime", "datetime_tz"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=5),
       n=st.sampled_from([0, 1, 2, 49, 50, 51, 120, 2500]),
       missing=st.sampled_from([0.0, 0.3, 1.0]),
       distinct=st.sampled_from([1, 2, 6, 5000]),
       seed=st.integers(0, 2**16))
def test_any_frame_of_these_column_kinds_round_trips_exactly(kinds, n, missing, distinct, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"{k}_{i}": _column(k, n, missing, distinct, rng) for i, k in enumerate(kinds)})
    back = _frame_from_bytes(_frame_bytes(df))
    pd.testing.assert_frame_equal(back, df, check_exact=True)


@pytest.mark.parametrize("n", [0, 1, 49, 50, 3000])
def test_the_edge_cases_by_name(n):
    """All-empty text (the Maven region), one value only, empty strings, an empty frame, unused and no categories,
    an index that is not 0..n-1."""
    df = pd.DataFrame({
        "region": pd.array([pd.NA] * n, dtype="string"),
        "region_pa": pd.array([pd.NA] * n, dtype="string[pyarrow]"),
        "one": pd.array(["DE"] * n, dtype="string"),
        "blank": pd.array([""] * n, dtype="string"),
        "obj_none": np.full(n, None, dtype=object),
        "obj_one": np.full(n, "x", dtype=object),
        "no_categories": pd.Categorical([None] * n, categories=[]),
        "unused_category": pd.Categorical(["a"] * n, categories=["a", "b"]),
        "int_categories": pd.Categorical([2] * n, categories=[1, 2, 3]),
    }, index=pd.RangeIndex(10, 10 + 2 * n, 2))
    pd.testing.assert_frame_equal(_frame_from_bytes(_frame_bytes(df)), df, check_exact=True)


def _maven_like(name: str, seed: int, band: float = 0.15):
    """A scenario whose moves carry the columns a real plan has, ``region`` all empty as on the Maven book."""
    sc = make_scenario(name, n_accounts=600, n_managers=12, seed=seed, band=band)
    moves = sc.assignment.moves
    assert len(moves) >= 50
    moves["region"] = pd.array([pd.NA] * len(moves), dtype="string")
    moves["segment"] = pd.array(["Long tail 1 – low value"] * len(moves), dtype="string")
    moves["revenue_12m"] = np.linspace(1e3, 1e5, len(moves))
    return sc


def test_a_move_list_without_regions_saves_loads_compares_and_exports(tmp_path):
    with ScenarioStore(tmp_path / "s.sqlite") as store:
        a, b = _maven_like("A: ±30 %", 1, band=0.3), _maven_like("B: ±15 %", 2)
        store.save(a, publish=True)
        store.save(b, publish=True)
        la, lb = store.load(a.name), store.load(b.name)
    assert_same_results(a, la)
    assert la.assignment.moves["region"].isna().all()
    cmp = compare([la, lb])
    assert list(cmp.names) == [a.name, b.name]
    assert export_excel(la, tmp_path / "a.xlsx").stat().st_size > 0
    assert "<svg" in export_html(cmp, tmp_path / "c.html").read_text(encoding="utf-8")


def test_the_dashboard_shows_such_a_scenario(tmp_path):
    from widgets.dashboard import Dashboard

    path = tmp_path / "s.sqlite"
    with ScenarioStore(path) as store:
        store.save(_maven_like("A", 1), publish=True)
        store.save(_maven_like("B", 2), publish=True)
    d = Dashboard(path, poll_seconds=None)
    assert "wb-msg-ok" in d._msg.value and "codes" not in d._msg.value
    d.show_comparison(["A", "B"])
    assert "Comparing" in d._msg.value and "<svg" in d._cmp_charts[0].value


def test_a_frame_the_store_cannot_keep_stops_the_save_with_a_sentence(tmp_path):
    with ScenarioStore(tmp_path / "s.sqlite") as store:
        store.save(make_scenario("Kept", n_accounts=200, seed=1))
        lists = make_scenario("Lists", n_accounts=200, seed=2)
        lists.assignment.moves["tags"] = [["a", "b"]] * len(lists.assignment.moves)  # Parquet gives arrays back
        with pytest.raises(ScenarioStoreError, match=r"'Lists' was not saved: its move list would not load back "
                                                     r"as it is: column 'tags'"):
            store.save(lists)
        mixed = make_scenario("Mixed", n_accounts=200, seed=3)
        mixed.assignment.loads["note"] = [1, "one"] * (len(mixed.assignment.loads) // 2)
        with pytest.raises(ScenarioStoreError, match=r"its manager loads cannot be stored \(column 'note' mixes"):
            store.save(mixed)
        assert store.names() == ["Kept"]  # nothing half-saved
        assert store.integrity_ok()


def test_author_description_and_created_survive_a_round_trip(tmp_path):
    sc = make_scenario("Meta")
    sc.author, sc.description, sc.created = "Anna Berater", "Workshop day 1", "2026-11-30T16:13:11+00:00"
    with ScenarioStore(tmp_path / "s.sqlite") as store:
        store.save(sc)
        back = store.load("Meta")
        listed = store.list().set_index("name")
    assert (back.author, back.description, back.created) == (sc.author, sc.description, sc.created)
    assert listed.loc["Meta", "author"] == "Anna Berater"


@pytest.mark.skipif(not (MAVEN / "accounts.csv").is_file(), reason="the Maven CRM files are not here")
def test_real_maven_scenarios_load_back(tmp_path):
    from workbench.io import import_book
    from workbench.pipeline import run

    book = import_book(MAVEN / "accounts.csv", managers=MAVEN / "sales_teams.csv",
                       pipeline=MAVEN / "sales_pipeline.csv")
    from workbench.scenario import Scenario

    with ScenarioStore(tmp_path / "s.sqlite") as store:
        for name, band in (("A", 0.3), ("C", 0.15)):
            sc = Scenario.from_run(name, run(book, {"allocate": {"band": band}, "kpi": {"draws": 50}}), book)
            store.save(sc, publish=True)
            assert_same_results(sc, store.load(name))
        cmp = compare([store.load("A"), store.load("C")])
    assert len(cmp.kpi_table)

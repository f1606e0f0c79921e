"""compare(): KPI deltas and bands, move overlap, loads side by side, parameter diff; and its chart builders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_scenario_store import make_scenario

from workbench.compare import compare, flatten_params
from workbench.report.charts import MAX_MARKS
from workbench.report.charts.compare import (
    kpi_bands,
    kpi_series,
    loads_before_after,
    loads_side_by_side,
    move_overlap,
)
from workbench.scenario import Scenario


@pytest.fixture(scope="module")
def trio():
    a = make_scenario("Tight band", seed=1, band=0.10)
    b = make_scenario("Wide band", seed=2, band=0.20)
    c = make_scenario("Same as A", seed=1, band=0.10)
    c.params["kpi"]["assumptions"] = {"owner_change_loss": 0.12}
    return a, b, c


def _marks(chart) -> int:
    """Data rows across all datasets of a chart spec (an upper bound on its marks)."""
    return sum(len(v) for v in chart.to_dict().get("datasets", {}).values())


def test_kpi_deltas_against_baseline_and_reference(trio):
    a, b, _ = trio
    cmp = compare([a, b])
    k = cmp.kpis.set_index(["kpi", "scenario"])
    ra, rb = a.projection.kpis["revenue_12m"], b.projection.kpis["revenue_12m"]
    assert k.loc[("revenue_12m", "Wide band"), "delta_vs_reference"] == pytest.approx(rb["scenario"] - ra["scenario"])
    assert k.loc[("revenue_12m", "Tight band"), "delta_vs_reference"] == 0
    assert k.loc[("revenue_12m", "Wide band"), "p10"] == pytest.approx(rb["p10"])
    assert np.isnan(k.loc[("accounts_moved", "Wide band"), "p10"])  # no Monte Carlo → NaN band
    wide = cmp.kpi_table.set_index("kpi")
    assert wide.loc["revenue_12m", "Wide band"] == pytest.approx(rb["scenario"])
    assert wide.loc["revenue_12m", "Wide band value P10–P90"] != ""
    assert wide.loc["accounts_moved", "Wide band value P10–P90"] == ""
    # the change's own band (as on the KPI cards) beside the value's, each named
    assert k.loc[("revenue_12m", "Wide band"), "delta_p10"] == pytest.approx(rb["delta_p10"])
    assert wide.loc["revenue_12m", "Wide band change P10–P90"] != ""
    assert list(cmp.kpis["kpi"].unique()) == list(a.projection.kpis)


def test_move_overlap_counts(trio):
    a, b, c = trio
    cmp = compare([a, b, c])
    ov = cmp.overlap.set_index(["a", "b"])
    # identical move lists: full overlap, same targets
    same = ov.loc[("Tight band", "Same as A")]
    assert same["jaccard"] == 1.0 and same["same_target"] == same["both_moved"] == len(a.assignment.moves)
    # cross-check a different pair by set arithmetic
    ma, mb = set(a.assignment.moves["account_id"]), set(b.assignment.moves["account_id"])
    pair = ov.loc[("Tight band", "Wide band")]
    assert pair["both_moved"] == len(ma & mb) and pair["only_a"] == len(ma - mb) and pair["only_b"] == len(mb - ma)
    assert pair["jaccard"] == pytest.approx(len(ma & mb) / len(ma | mb))
    assert len(cmp.overlap) == 3
    assert set(cmp.moves["account_id"]) == ma | mb
    moved_b = cmp.moves.set_index("account_id")["Wide band"]
    assert moved_b.notna().sum() == len(mb)


def test_loads_side_by_side(trio):
    a, b, _ = trio
    cmp = compare([a, b])
    la = a.assignment.loads.set_index("manager_id")
    got = cmp.loads.set_index("manager_id")
    np.testing.assert_allclose(got["hours_after · Tight band"], la["hours_after"])
    np.testing.assert_allclose(got["hours_after · Wide band"], b.assignment.loads.set_index("manager_id")["hours_after"])
    assert len(cmp.loads_long) == len(a.assignment.loads) + len(b.assignment.loads)


def test_parameter_diff(trio):
    a, b, c = trio
    cmp = compare([a, b, c])
    diff = cmp.param_diff.set_index("parameter")
    assert "allocate.band" in diff.index and diff.loc["allocate.band", "Wide band"] == "0.2"
    assert "kpi.assumptions.owner_change_loss" in diff.index
    assert diff.loc["kpi.assumptions.owner_change_loss", "Tight band"] == "—"
    assert "segment.method" not in diff.index  # equal everywhere → not a difference
    assert flatten_params({"a": {"b": [1, 2], "c": {}}}) == {"a.b": "[1, 2]", "a.c": "{}"}


def test_same_name_versions_get_labels_and_errors():
    a, b = make_scenario("X", seed=1), make_scenario("X", seed=2)
    a.version, b.version = 1, 2
    assert compare([a, b]).names == ["X v1", "X v2"]
    with pytest.raises(ValueError, match="at least two"):
        compare([a])
    with pytest.raises(ValueError, match="only once"):
        compare([a, a])
    with pytest.raises(ValueError, match="parameters only"):
        compare([a, Scenario("Y")])


def test_different_books_warn(trio):
    a, b, c = trio
    assert compare([a, c]).warnings == []
    assert "different books" in compare([a, b]).warnings[0]


def test_baselines_that_differ_are_shown_per_scenario():
    """Same book, other KPI assumptions: the reference's baseline alone would mislabel the other scenario's change."""
    import copy

    from workbench.report.format import comparison_display

    a = make_scenario("Base", seed=1)
    b = make_scenario("Churn up", seed=1)
    b.projection = copy.deepcopy(b.projection)
    b.projection.kpis["revenue_12m"]["baseline"] *= 0.9
    same = compare([a, make_scenario("Again", seed=1)])
    assert same.warnings == [] and "Again baseline" not in same.kpi_table.columns
    assert "Baseline" in comparison_display(same).columns
    assert not any(c.endswith(" baseline") for c in comparison_display(same).columns)
    cmp = compare([a, b])
    assert len(cmp.warnings) == 1 and "baselines differ" in cmp.warnings[0] and "Revenue (12 months)" in cmp.warnings[0]
    assert "Accounts moved" not in cmp.warnings[0]
    wide = cmp.kpi_table.set_index("kpi")
    assert wide.loc["revenue_12m", "Churn up baseline"] == pytest.approx(b.projection.kpis["revenue_12m"]["baseline"])
    assert wide.loc["revenue_12m", "baseline"] == pytest.approx(a.projection.kpis["revenue_12m"]["baseline"])
    shown = comparison_display(cmp)
    assert list(shown.columns[:3]) == ["KPI", "Base baseline", "Base"] and "Baseline" not in shown.columns
    assert "Churn up baseline" in shown.columns


def test_chart_specs_carry_the_numbers(trio):
    a, b, c = trio
    cmp = compare([a, b, c])
    spec = kpi_bands(cmp.kpis).to_dict()
    assert len(spec["vconcat"]) == cmp.kpis["kpi"].nunique()
    values = [r for ds in spec["datasets"].values() for r in ds]
    assert any(r.get("value") == pytest.approx(b.projection.kpis["revenue_12m"]["scenario"]) for r in values)
    assert "p10" in str(spec["vconcat"][0])
    ov = move_overlap(cmp.overlap).to_dict()
    assert sum(len(v) for v in ov["datasets"].values()) == 2 * len(cmp.overlap)
    series = kpi_series(a.projection.series).to_dict()
    assert any(layer["mark"]["type"] == "area" for layer in series["layer"])


def test_charts_stay_under_the_mark_limit():
    big = [make_scenario(f"S{i}", n_accounts=20_000, n_managers=400, seed=i) for i in range(4)]
    cmp = compare(big)
    chart = loads_side_by_side(cmp.loads_long)
    assert _marks(chart) <= MAX_MARKS
    assert "25 of 400" in chart.to_dict()["title"]  # one row per manager: a few dozen stay readable
    assert _marks(loads_before_after(big[0].assignment.loads)) <= MAX_MARKS
    assert _marks(kpi_bands(cmp.kpis)) <= MAX_MARKS


def test_comparison_is_deterministic(trio):
    a, b, c = trio
    x, y = compare([a, b, c]), compare([a, b, c])
    for f in ("kpis", "kpi_table", "moves", "overlap", "loads", "params"):
        pd.testing.assert_frame_equal(getattr(x, f), getattr(y, f))


def test_kpi_bands_default_to_the_headline_kpis():
    a, b = make_scenario("A", seed=1), make_scenario("B", seed=2)
    for sc in (a, b):  # a real projection carries about twenty KPIs
        for i in range(15):
            sc.projection.kpis[f"extra_{i}"] = {"label": f"Extra {i}", "unit": "", "baseline": 1.0,
                                                "scenario": 2.0, "delta": 1.0, "p10": None, "p50": None, "p90": None}
    kpis = compare([a, b]).kpis
    titles = [p["title"]["text"] for p in kpi_bands(kpis).to_dict()["vconcat"]]
    assert titles == ["Revenue (12 months)", "Accounts moved", "Workload imbalance"]
    assert len(kpi_bands(kpis, keys=["extra_1", "extra_2"]).to_dict()["vconcat"]) == 2


def test_kpi_bands_chart_the_change_from_zero_with_readable_figures():
    """160 M vs 159.8 M EUR looked identical as bars from zero: the chart shows each scenario's change against
    its baseline instead, from an axis through zero, with the figure as people read it next to the bar."""
    a, b = make_scenario("A", seed=1), make_scenario("B", seed=2)
    cmp = compare([a, b])
    spec = kpi_bands(cmp.kpis).to_dict()
    rev = spec["vconcat"][0]
    # the subtitle says what the bar and the whisker are (they had no legend)
    assert rev["title"]["subtitle"] == ["change against the baseline (EUR)",
                                        "bar: the change · black line: its P10–P90 band"]
    bar = rev["layer"][0]
    assert bar["mark"]["type"] == "bar" and bar["encoding"]["x"]["field"] == "change"
    domain = bar["encoding"]["x"]["scale"]["domain"]
    assert domain[0] <= 0 < domain[1]  # the axis holds zero: bars are honest lengths
    assert any(layer["mark"]["type"] == "rule" and layer["encoding"]["x"].get("datum") == 0 for layer in rev["layer"])
    rows = {r["scenario"]: r for r in spec["datasets"][rev["layer"][0]["data"]["name"]]}
    kb = b.projection.kpis["revenue_12m"]
    assert rows["B"]["change"] == pytest.approx(kb["scenario"] - kb["baseline"])
    assert rows["B"]["shown"].startswith("+") and rows["B"]["shown"].endswith("EUR")
    texts = [layer for layer in rev["layer"] if layer["mark"]["type"] == "text"]
    assert texts and texts[0]["encoding"]["text"]["field"] == "shown"
    whisker = [layer for layer in rev["layer"] if layer["encoding"].get("x2")]
    assert whisker and whisker[0]["encoding"]["x2"]["field"] == "p90_change"
    # few, formatted ticks: index values had overlapping labels ("0.000.02")
    axes = [p["layer"][0]["encoding"]["x"]["axis"] for p in spec["vconcat"]]
    assert all(ax["tickCount"] <= 5 and ax["labelOverlap"] for ax in axes)
    assert axes[0]["format"].endswith("s") and axes[1]["format"] == "+,.0f"
    # shares are charted in percentage points
    share = spec["vconcat"][2]
    assert "percentage points" in share["title"]["subtitle"]
    rows = spec["datasets"][share["layer"][0]["data"]["name"]]
    kw = a.projection.kpis["workload_imbalance"]
    assert rows[0]["change"] == pytest.approx(100 * (kw["scenario"] - kw["baseline"]))
    assert rows[0]["shown"].endswith(" pp")


def test_own_band_kpi_says_so_and_legends_have_no_field_names():
    a, b = make_scenario("A", seed=1, band=0.15), make_scenario("B", seed=1, band=0.05)
    for sc, before in ((a, 0.25), (b, 0.075)):
        sc.projection.kpis["managers_in_band"] = {"label": "Managers inside the workload band", "unit": "share",
                                                  "baseline": before, "scenario": 1.0, "delta": 1.0 - before,
                                                  "p10": None, "p50": None, "p90": None}
    cmp = compare([a, b])
    assert cmp.warnings == [] and "own band" in cmp.notes[0]
    panel = kpi_bands(cmp.kpis, keys=["managers_in_band"]).to_dict()["vconcat"][0]
    assert "each against its own band" in panel["title"]["subtitle"]
    series = kpi_series(a.projection.series).to_dict()
    line = [layer for layer in series["layer"] if layer["mark"]["type"] == "line"][0]
    assert line["encoding"]["color"]["title"] is None
    assert line["encoding"]["color"]["scale"]["domain"] == ["without the plan (baseline)", "with the plan"]
    pts = [ly for ly in loads_before_after(a.assignment.loads).to_dict()["layer"] if ly["mark"]["type"] == "point"][0]
    assert pts["encoding"]["color"]["title"] is None
    side = loads_side_by_side(cmp.loads_long).to_dict()["layer"][-1]
    assert side["encoding"]["color"]["title"] is None

"""Dashboard views without a browser: the moves a stakeholder reads and the comparison's table and notes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_scenario_store import make_scenario

from workbench.compare import compare
from workbench.scenario import ScenarioStore


def _with_revenue(sc, seed: int):
    moves = sc.assignment.moves
    moves["revenue_12m"] = np.random.default_rng(seed).lognormal(10, 1.5, len(moves)).round(2)
    return sc


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "s.sqlite"
    wide = make_scenario("Wide", n_accounts=1500, n_managers=12, seed=1, band=0.15)
    narrow = make_scenario("Narrow", n_accounts=1500, n_managers=12, seed=1, band=0.05)
    # the same book and assumptions; only the band differs, and with it the before-plan share inside the band
    for sc, before in ((wide, 0.25), (narrow, 0.075)):
        sc.projection.kpis["managers_in_band"] = {"label": "Managers inside the workload band", "unit": "share",
                                                  "baseline": before, "scenario": 1.0, "delta": 1.0 - before,
                                                  "p10": None, "p50": None, "p90": None}
    with ScenarioStore(path) as store:
        store.save(_with_revenue(wide, 1), publish=True)
        store.save(_with_revenue(narrow, 1), publish=True)
    return path


def test_moves_are_compact_sorted_by_revenue_and_say_how_many_are_shown(store_path):
    from widgets.dashboard import MOVES_SHOWN, Dashboard, moves_for_people

    d = Dashboard(store_path, poll_seconds=None)
    sc = d._load("Wide")
    n = len(sc.assignment.moves)
    assert n > MOVES_SHOWN
    shown, by_revenue = moves_for_people(sc)
    assert by_revenue and len(shown) == MOVES_SHOWN
    assert list(shown.columns) == ["Account", "Segment", "From", "To", "Revenue, 12 months", "Reason"]
    top = sc.assignment.moves.sort_values("revenue_12m", ascending=False)["account_id"].head(MOVES_SHOWN)
    assert shown["Account"].tolist() == top.tolist()  # the most valuable first, not by id
    assert shown["Revenue, 12 months"].str.endswith("EUR").all()
    assert shown["From"].str.startswith("Manager Person").all()  # names, not manager ids
    html = d._moves.value
    assert f"{MOVES_SHOWN} of {n:,} moves shown, largest revenue first" in html
    assert 'class="wb-moves"' in html and "wb-wrap-last" in html and "<th>Reason</th>" in html
    assert "more rows" not in html and ">M0" not in html  # no manager ids as cells
    assert "Traceback" not in d._msg.value


def test_moves_without_revenue_keep_the_plan_order_and_fill_a_missing_owner():
    from widgets.dashboard import moves_for_people

    sc = make_scenario("Plain", n_accounts=300, n_managers=6, seed=2)
    sc.assignment.moves.loc[0, "from_manager"] = pd.NA  # an account nobody owned before
    names = sc.assignment.loads.set_index("manager_id")["name"]
    sc.assignment.loads["name"] = sc.assignment.loads["manager_id"].map(names)
    shown, by_revenue = moves_for_people(sc, limit=5)
    assert not by_revenue and len(shown) == 5 and "Revenue, 12 months" not in shown.columns
    assert shown["Account"].tolist() == sc.assignment.moves["account_id"].head(5).tolist()
    assert shown.loc[0, "From"] == "no owner"


def test_comparison_shows_notes_apart_from_warnings_and_the_bands_in_a_table_of_their_own(store_path):
    """Three scenarios took 12 columns with their bands and were cut off at 1,280 px: the values and changes form
    one table, the bands (of each change, as on the KPI cards) a second one."""
    from widgets.dashboard import Dashboard
    from widgets.scenario_step import comparison_table
    from workbench.report.format import comparison_cells, fmt_kpi

    d = Dashboard(store_path, poll_seconds=None)
    d.show_comparison(["Wide", "Narrow"])
    html = d._cmp_kpis.value
    assert "wb-msg-warning" not in html  # one book, one set of assumptions: no alarm
    assert 'wb-msg wb-msg-info' in html and "own band" in html
    assert 'class="wb-cmp"' in html
    cmp = compare([d._load("Wide"), d._load("Narrow")])
    assert list(comparison_table(cmp).columns) == ["KPI", "Baseline", "Wide", "Narrow", "Narrow vs Wide"]
    # on screen one column per scenario: its value, its change and its difference to the first beneath
    assert list(comparison_cells(cmp).columns) == ["KPI", "Baseline", "Wide", "Narrow"]
    k = cmp.kpis.set_index(["kpi", "scenario"]).loc[("revenue_12m", "Narrow")]
    diff = fmt_kpi(k["delta_vs_reference"], "EUR", sign=True, decimals=0)
    assert f"{diff} vs Wide" in html
    assert html.index(f"{diff} vs Wide") < html.index("change against its own baseline, P10–P90")
    k = d._load("Narrow").projection.kpis["revenue_12m"]
    from workbench.report.format import change_band_text

    assert html.count("<table") == 2 and change_band_text(k) in html.replace("\xa0", " ")  # (no break in a figure)
    assert "Band ± (share of target)" in d._cmp_params.value and "±15 %" in d._cmp_params.value

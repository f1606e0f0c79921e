"""The KPIs step's numbers read like the rest of the app: shares in percent (as the Reallocate step sets them),
amounts without decimals, headers in words, tables that fit; and each assumption says what its draws vary over."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_kpi_step import _state

from widgets.kpi_step import KpiStep, _band_note
from workbench.assumptions import Assumptions
from workbench.kpi.display import backtest_table, estimates_table, manager_table, segment_table


@pytest.fixture(scope="module")
def view():
    st, asg = _state()
    v = KpiStep(st)
    st.assignment = asg
    return v


def _cells(html_text: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", html_text)


def _headers(html_text: str) -> list[str]:
    return re.findall(r"<th[^>]*>(.*?)</th>", html_text)


def test_shares_are_set_in_percent_and_their_draw_range_follows_the_value(view):
    loss = view._sliders["handover_loss"]
    assert (loss.value, loss.min, loss.max, loss.readout_format) == (15.0, 10.0, 20.0, ".1f")
    assert view._sliders["retention"].max == 97.0 and view._sliders["elasticity"].value == 0.3
    info = view._info["handover_loss"].value
    assert "range 10 to 20 %; drawn from 10 to 20 % around the value" in info and "(share" not in info
    loss.value = 10
    assert view.state.projection.assumptions["handover_loss"] == 0.10
    assert view.state.params["kpi"]["assumptions"] == {"handover_loss": 0.10}
    assert "drawn from 6.7 to 13.3 % around the value" in view._info["handover_loss"].value
    assert "not drawn" in view._info["discount_rate"].value and "EUR an hour" in view._info["cost_per_hour"].value
    # a scenario's assumptions come back into the percent sliders exactly
    view.state.set_section("kpi", assumptions={"handover_churn_uplift": 0.06, "handover_loss": 0.07 + 0.05})
    assert view._sliders["handover_churn_uplift"].value == 6.0 and view._sliders["handover_loss"].value == 12.0
    assert view.assumptions["handover_loss"] == 0.12
    view.reset()
    assert loss.value == 15.0 and view.state.params["kpi"]["assumptions"] == {}


def test_tables_show_amounts_without_decimals_and_shares_in_percent(view):
    proj = view.state.projection
    seg, mgr = view._segments.value, view._managers.value
    for text in (seg, mgr, view._estimates.value, view._bt_table.value):
        assert not re.search(r"<th[^>]*>[a-z_]+</th>", text), "a code name as a header"
        # no amount with decimals ("3,743,756.76"), no bare fraction ("1.52", "0.048")
        assert not [c for c in _cells(text) if re.fullmatch(r"[+-]?[\d,]+\.\d+", c)], _cells(text)
    assert "Utilisation" in _headers(mgr) and re.search(r"<td>\d+ % → \d+ %</td>", mgr)
    assert any(h.startswith("Next 12 months, new owners (EUR)") for h in _headers(mgr))
    assert "Manager ID" not in mgr and "manager id" not in mgr
    assert len(_headers(mgr)) <= 8 and len(_headers(seg)) <= 10  # fits 1,280 px with wrapping headers
    assert 'white-space: normal' in seg
    # the figures are the projection's own
    top = proj.by_manager.reindex(proj.by_manager["revenue_delta_12m"].abs().sort_values(ascending=False).index)
    first = top.iloc[0]
    from workbench.report.format import fmt_kpi
    assert f"<td>{fmt_kpi(first['revenue_after_12m'], '', decimals=0)}</td>" in mgr
    est = _headers(view._estimates.value)
    assert est == ["Segment", "Growth per year (standard error)", "Revenue retained a year (standard error)"]
    assert re.search(r"<td>-?\d+\.\d % \(\d+\.\d pp\)</td>", view._estimates.value)
    assert "Error (MAPE)" in _headers(view._bt_table.value)


def test_display_tables_by_themselves():
    by_manager = pd.DataFrame({
        "manager_id": ["M1", "M2"], "name": ["Anna", None], "role": [None, None],
        "accounts_before": [27, 3], "accounts_after": [24, 6], "moved_in": [0, 3], "moved_out": [3, 0],
        "utilisation_before": [1.52, 0.4], "utilisation_after": [0.98, 0.81],
        "revenue_before_12m": [3_743_756.76, 999.5], "revenue_after_12m": [3_500_000.0, 12_345.0],
        "revenue_delta_12m": [-243_756.76, 11_345.5]})
    t = manager_table(by_manager, "EUR")
    assert list(t.columns) == ["Manager", "Accounts", "Moved in / out", "Utilisation",
                               "Next 12 months, owners kept (EUR)", "Next 12 months, new owners (EUR)",
                               "Change (EUR)"]  # no role column for a team without roles
    assert t.iloc[0].tolist() == ["Anna", "27 → 24", "0 / -3", "152 % → 98 %", "3.74 M", "3.50 M", "-244 k"]
    assert t.iloc[1, 0] == "M2" and t.iloc[1, 4] == "1,000" and t.iloc[1, 6] == "+11 k"
    est = pd.DataFrame({"segment": ["Grow", "Tail"], "growth": [0.048, 0.01], "growth_se": [0.012, 0.0],
                        "growth_source": ["history", "default"], "retention": [0.95, 0.9],
                        "retention_se": [0.004, float("nan")], "retention_source": ["history", "history"]})
    e = estimates_table(est)
    assert e.iloc[0].tolist() == ["Grow", "4.8 % (1.2 pp)", "95.0 % (0.4 pp)"]
    assert e.iloc[1].tolist() == ["Tail", "–", "90.0 %"]
    bt = backtest_table(pd.DataFrame({"segment": ["Total"], "actual": [70_632_949.2], "projected": [72_344_828.2],
                                      "mape": [0.037], "coverage": [0.667]}), "EUR")
    assert bt.iloc[0].tolist() == ["Total", "70.63 M", "72.34 M", "3.7 %", "67 %"]
    seg = pd.DataFrame({"segment": ["Grow"], "accounts": [314], "revenue_last_12m": [46_553_392.0],
                        "baseline_revenue_12m": [59_186_887.4], "scenario_revenue_12m": [59_739_346.4],
                        "delta_revenue_12m": [552_459.0], "retention_baseline": [0.991], "accounts_moved": [12],
                        "revenue_at_risk": [1_234.5]})
    assert segment_table(seg, "EUR").iloc[0].tolist() == ["Grow", "314", "46.55 M", "59.19 M", "59.74 M", "+552 k",
                                                          "99.1 %", "12", "1,234"]


def test_a_value_outside_its_band_is_explained():
    kpis = {"revenue_12m": {"label": "Revenue, next 12 months", "delta": -441e3, "delta_p10": -982e3,
                            "delta_p90": -449e3},
            "clv": {"label": "Customer lifetime value (retention-based)", "delta": -1.0, "delta_p10": -2.0,
                    "delta_p90": 0.0}}
    one_sided = Assumptions.from_dict({"assumptions": {"retention": {"value": 1.0, "low": 0.95, "high": 1.0}}})
    note = _band_note(kpis, one_sided)
    assert "Revenue, next 12 months: the value lies outside its P10–P90 band" in note
    assert "Customer lifetime value" not in note
    assert "Annual revenue retention (when history cannot estimate it) sits at the edge" in note
    assert "history lean one way" in _band_note(kpis, Assumptions())
    kpis["revenue_12m"]["delta"] = -700e3
    assert _band_note(kpis, one_sided) == ""

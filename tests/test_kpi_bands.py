"""KPI bands and their values: a card's P10–P90 band holds the KPI's own value wherever the assumptions are set.

Monte Carlo draws each uncertain assumption around the value in use (``Assumption.draw_range``). It used to draw
from the assumption's fixed range, so a value set at an end of the range had every draw on one side of it: with
the handover loss at 10 % (its low end) the revenue card read "-441 k USD, change P10–P90: -982 k … -449 k".
"""

from __future__ import annotations

import pytest
from test_kpi import assignment, small_book

from workbench.assumptions import Assumptions
from workbench.kpi import KpiModel

# the KPIs whose change the handover loss drives; the card shows each one's change with its P10–P90 band
BANDED = ("revenue_12m", "revenue_horizon", "revenue_growth", "revenue_at_risk", "delta_handover", "clv",
          "gross_margin_after_cts", "revenue_per_manager")


@pytest.fixture(scope="module")
def handover_model():
    """200 accounts swap owners in pairs (no manager's load changes): the change is the handover's alone."""
    book, seg = small_book(n=800, m=8, months=24)
    frm = book.accounts["owner_id"].to_numpy(dtype=object)
    to = frm.copy()
    to[0:200:2], to[1:200:2] = frm[1:200:2], frm[0:200:2]
    model = KpiModel().fit(book, seg, assignment(book, to=to))
    assert model.project().kpis["delta_coverage"]["scenario"] == pytest.approx(0.0, abs=1e-6)
    return model


def _assert_values_inside_their_bands(proj):
    for key in BANDED:
        k = proj.kpis[key]
        assert k["delta_p10"] <= k["delta"] <= k["delta_p90"], (key, k["delta_p10"], k["delta"], k["delta_p90"])
        assert k["p10"] <= k["scenario"] <= k["p90"], key
        # not merely inside: near the middle (the value is the median of the one assumption that moves it)
        assert abs(k["p50"] - k["scenario"]) <= 0.25 * (k["p90"] - k["p10"]), key


@pytest.mark.parametrize("loss", [0.10, 0.20], ids=["low end", "high end"])
def test_a_value_at_an_end_of_its_range_stays_inside_the_band(handover_model, loss):
    proj = handover_model.project({"handover_loss": loss}, draws=1000, seed=0)
    _assert_values_inside_their_bands(proj)


def test_a_company_value_outside_the_default_range_stays_inside_the_band(handover_model):
    # the company's own figure and range (a scenario file), at the low end of that range and above the default's
    a = Assumptions.from_dict({"assumptions": {"handover_loss": {"value": 0.25, "low": 0.25, "high": 0.35,
                                                                 "source": "our CRM, 2025"}}})
    assert a["handover_loss"] > Assumptions().items["handover_loss"].high
    proj = handover_model.project(a, draws=1000, seed=0)
    _assert_values_inside_their_bands(proj)


def test_every_uncertain_assumption_at_an_end_at_once(handover_model):
    ends = {"handover_loss": 0.10, "handover_match_relief": 0.60, "handover_recovery_months": 24,
            "handover_churn_uplift": 0.06, "elasticity": 0.20, "effort_ratio_cap": 3.0, "gross_margin": 0.20,
            "retention": 0.97, "baseline_growth": 0.10}
    for values in (ends, {n: Assumptions().items[n].low for n in ends},
                   {n: Assumptions().items[n].high for n in ends}):
        _assert_values_inside_their_bands(handover_model.project(values, draws=1000, seed=3))


def test_the_draws_move_with_the_value_and_stay_deterministic(handover_model):
    p1 = handover_model.project({"handover_loss": 0.10}, draws=500, seed=11)
    p2 = handover_model.project({"handover_loss": 0.10}, draws=500, seed=11)
    assert p1.kpis == p2.kpis
    assert p1.params["draw_ranges"]["handover_loss"] == pytest.approx([0.10 * 2 / 3, 0.10 * 4 / 3])
    # the default's draws are its stated range, as before
    p0 = handover_model.project(None, draws=500, seed=11)
    assert p0.params["draw_ranges"]["handover_loss"] == pytest.approx([0.10, 0.20])
    assert handover_model.project(draws=0).params["draw_ranges"] == {}

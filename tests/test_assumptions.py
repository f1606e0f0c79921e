"""Assumptions: every number has a default, a range, a unit and a source; edits are range-checked; YAML round trip."""

from __future__ import annotations

import pytest

from workbench.assumptions import DEFAULT_ASSUMPTIONS, Assumption, AssumptionError, Assumptions


def test_defaults_are_documented_and_inside_their_range():
    a = Assumptions()
    assert {"handover_loss", "elasticity", "retention", "gross_margin", "discount_rate", "cost_per_hour",
            "handover_match_relief", "handover_churn_uplift"} <= set(a)
    for item in a.items.values():
        assert item.low <= item.value <= item.high, item.name
        assert item.unit and item.label
        assert len(item.source) > 20, item.name
    assert a["handover_loss"] == 0.15 and a.items["handover_loss"].low == 0.10
    assert a.items["handover_loss"].high == 0.20 and "Shi" in a.items["handover_loss"].source
    assert a["elasticity"] == 0.30 and "Albers" in a.items["elasticity"].source
    frame = a.to_frame()
    assert list(frame.columns) == ["name", "label", "value", "low", "high", "unit", "uncertain", "source",
                                   "draw_low", "draw_high"]
    assert len(frame) == len(DEFAULT_ASSUMPTIONS)


def test_with_values_is_a_checked_copy():
    a = Assumptions()
    b = a.with_values(handover_loss=0.12, elasticity="0.25")
    assert a["handover_loss"] == 0.15 and b["handover_loss"] == 0.12 and b["elasticity"] == 0.25
    with pytest.raises(AssumptionError, match="handover_loss = 0.5 is outside its range 0.1 to 0.2"):
        a.with_values(handover_loss=0.5)
    with pytest.raises(AssumptionError, match="unknown assumption 'elastcity'"):
        a.with_values(elastcity=0.3)
    with pytest.raises(AssumptionError, match="must be a number"):
        a.with_values(elasticity="high")
    with pytest.raises(AssumptionError, match="finite"):
        a.with_values(elasticity=float("nan"))
    assert a.with_values(response_lag_months=2.6)["response_lag_months"] == 3.0
    with pytest.raises(AssumptionError, match="between 0 and 1"):
        a.with_values(segment_retention={"Grow": 1.4})


def test_yaml_round_trip(tmp_path):
    a = Assumptions().with_values(handover_loss=0.18, gross_margin=0.42, segment_retention={"Long tail": 0.85})
    path = a.to_yaml(tmp_path / "scenario.yaml")
    text = path.read_text(encoding="utf-8")
    assert "Shi, Sridhar" in text and "handover_loss" in text
    b = Assumptions.from_yaml(path)
    assert b.values() == a.values()
    assert b.items["elasticity"].source == a.items["elasticity"].source


def test_yaml_short_form_and_company_range(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("assumptions:\n  handover_loss: 0.11\n  gross_margin:\n    value: 0.6\n    low: 0.5\n"
                 "    high: 0.7\n    source: our controlling 2025\n", encoding="utf-8")
    a = Assumptions.from_yaml(p)
    assert a["handover_loss"] == 0.11 and a["gross_margin"] == 0.6
    assert a.items["gross_margin"].source == "our controlling 2025"


@pytest.mark.parametrize("text, message", [
    ("assumptions:\n  handover_loss: 0.5\n", "s.yaml: assumption handover_loss = 0.5 is outside its range"),
    ("assumptions:\n  margin: 0.5\n", "unknown assumption 'margin'"),
    ("assumptions: [1, 2]\n", "must be a mapping"),
    ("assumptions:\n  elasticity: {value: 0.3, typo: 1}\n", "unknown field"),
    ("assumptions: {a: [\n", "not valid YAML"),
    ("- 1\n- 2\n", "expected a mapping"),
    ("assumptions:\n  elasticity: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
])
def test_bad_yaml_is_one_clear_sentence(tmp_path, text, message):
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(AssumptionError, match=message):
        Assumptions.from_yaml(p)


def test_missing_file_and_bad_range():
    with pytest.raises(AssumptionError, match="does not exist"):
        Assumptions.from_yaml("/nonexistent/s.yaml")
    with pytest.raises(AssumptionError, match="range low"):
        Assumptions(items={"elasticity": Assumption("elasticity", "e", 0.3, 0.5, 0.2, "elasticity", "x")})


def test_draws_keep_the_ranges_relative_width_around_the_value():
    """Monte Carlo varies an assumption around the value in use: the range's relative width (half its width over
    its midpoint) or, for a range holding negative values, its half-width; cut at what it can physically be."""
    a = Assumptions()
    loss = a.items["handover_loss"]
    assert loss.draw_range() == pytest.approx((0.10, 0.20))  # the default sits mid-range: draws = the range
    assert a.with_values(handover_loss=0.10).items["handover_loss"].draw_range() == pytest.approx((0.10 * 2 / 3,
                                                                                                0.10 * 4 / 3))
    assert a.with_values(handover_loss=0.20).items["handover_loss"].draw_range() == pytest.approx((0.20 * 2 / 3,
                                                                                                0.20 * 4 / 3))
    # growth −5 … +10 % holds negative values: ± 7.5 points around the value
    assert a.with_values(baseline_growth=0.10).items["baseline_growth"].draw_range() == pytest.approx((0.025, 0.175))
    # a range from 0: ± 100 % of the value, so "no extra churn" is not drawn at all
    assert a.with_values(handover_churn_uplift=0.0).items["handover_churn_uplift"].draw_range() == (0.0, 0.0)
    # cut at the physical bound: retention cannot exceed 1; the value is still the mode, well inside
    r = a.with_values(retention=0.97).items["retention"]
    lo, hi = r.draw_range()
    assert hi == 1.0 and lo < 0.97 and not r.one_sided()
    # not uncertain: no spread
    assert a.items["discount_rate"].draw_range() == (0.08, 0.08)
    assert set(a.draw_ranges()) == {n for n, it in a.items.items() if it.uncertain}
    assert a.one_sided() == []


def test_a_company_range_at_a_physical_bound_is_one_sided_and_bounds_are_the_models():
    a = Assumptions.from_dict({"assumptions": {"retention": {"value": 1.0, "low": 0.95, "high": 1.0}}})
    assert a.items["retention"].draw_range()[1] == 1.0 and a.one_sided() == ["retention"]
    with pytest.raises(AssumptionError, match="retention: range high 1.2 is above the highest it can be, 1"):
        Assumptions.from_dict({"assumptions": {"retention": {"value": 1.0, "low": 0.9, "high": 1.2}}})
    with pytest.raises(AssumptionError, match="below the lowest it can be"):
        Assumptions.from_dict({"assumptions": {"handover_loss": {"value": 0.0, "low": -0.1, "high": 0.2}}})
    # bounds cannot be restated by a file or a constructor: they are what the quantity can be
    own = Assumption("elasticity", "e", 0.3, 0.2, 0.4, "elasticity", "x", bounds=(-5.0, 5.0))
    assert Assumptions(items={"elasticity": own}).items["elasticity"].bounds == (0.0, 1.0)

"""Comparing scenarios on real pipeline runs: a band-dependent baseline is explained, not flagged as other books or
assumptions; truly other assumptions or books still raise the alarm. Parameter names and values for people."""

from __future__ import annotations

import html

import pytest

from workbench.compare import OWN_YARDSTICK_KPIS, compare, param_label, param_text
from workbench.pipeline import run
from workbench.report.format import comparison_display
from workbench.sampledata import generate
from workbench.scenario import Scenario


@pytest.fixture(scope="module")
def book():
    return generate(n_accounts=400, n_managers=12, seed=3).book()


@pytest.fixture(scope="module")
def wide(book):
    return Scenario.from_run("Wide ±25%", run(book, {"allocate": {"band": 0.25}}), book)


def test_other_band_on_the_same_book_is_no_alarm(book, wide):
    tight = Scenario.from_run("Tight ±5%", run(book, {"allocate": {"band": 0.05}}), book)
    kb, kt = wide.projection.kpis["managers_in_band"], tight.projection.kpis["managers_in_band"]
    assert kb["baseline"] != kt["baseline"]  # the before-plan share is counted against each scenario's band
    cmp = compare([wide, tight])
    assert cmp.warnings == []
    assert len(cmp.notes) == 1
    note = cmp.notes[0]
    assert "own band" in note and "±25 %" in note and "±5 %" in note and "Baseline column shows Wide ±25%'s" in note
    assert f"{kb['baseline'] * 100:.1f} %" in note and f"{kt['baseline'] * 100:.1f} %" in note
    from workbench.report.export import comparison_html
    assert f"<p class='note'>{html.escape(note)}</p>" in comparison_html(cmp)  # the HTML report says it too
    shown = comparison_display(cmp)  # one Baseline column: every other baseline is the same
    assert "Baseline" in shown.columns and not any(c.endswith(" baseline") for c in shown.columns)
    # the raw table for the workbook keeps each scenario's own numbers
    raw = cmp.kpi_table.set_index("kpi")
    assert raw.loc["managers_in_band", "Tight ±5% baseline"] == pytest.approx(kt["baseline"])
    assert cmp.param_diff_table().to_dict("records") == [
        {"Parameter": "Band ± (share of target)", "Wide ±25%": "±25 %", "Tight ±5%": "±5 %"}]


def test_other_assumptions_or_books_still_raise_the_alarm(book, wide):
    margin = Scenario.from_run("Margin 30%", run(book, {"allocate": {"band": 0.25},
                                                        "kpi": {"assumptions": {"gross_margin": 0.30}}}), book)
    cmp = compare([wide, margin])
    assert len(cmp.warnings) == 1 and "baselines differ" in cmp.warnings[0]
    assert "KPI assumptions differ (Gross margin on revenue)" in cmp.warnings[0]
    assert "Gross margin after cost to serve" in cmp.warnings[0]
    assert not any(lab in cmp.warnings[0] for lab in ("balance band", "workload band"))
    assert cmp.notes == []
    other_book = generate(n_accounts=400, n_managers=12, seed=4).book()
    other = Scenario.from_run("Other book", run(other_book, {"allocate": {"band": 0.25}}), other_book)
    cmp = compare([wide, other])
    assert "different books" in cmp.warnings[0]
    assert "baselines differ" in cmp.warnings[1] and "computed on different books" in cmp.warnings[1]
    # the table then shows every scenario's own baseline, so the note does not point at one Baseline column
    assert all("Baseline column" not in n for n in cmp.notes)
    assert any(c.endswith(" baseline") for c in comparison_display(cmp).columns)


def test_parameter_labels_for_people():
    assert param_label("allocate.band") == "Band ± (share of target)"
    assert param_text("allocate.band", "0.15") == "±15 %"
    assert param_text("allocate.max_move_share", "null") == "no limit"
    assert param_text("allocate.max_move_share", "0.2") == "20 %"
    # locks and what-if events in words, by name where the scenarios know the ids
    assert param_text("allocate.locks", '[{"account_id": "A1"}, {"account_id": "A2", "manager_id": "M7"}]',
                      {"A2": "Acme GmbH", "M7": "Lena Peters"}) == \
        "A1 stays with its owner; Acme GmbH stays with Lena Peters"
    assert param_text("segment.features", '["revenue", "headroom"]') == "revenue, headroom"
    assert param_text("segment.method", '"kmeans"') == "kmeans"
    assert param_text("kpi.seed", "—") == "—"  # a scenario that does not set it
    assert param_label("kpi.assumptions.gross_margin") == "Gross margin on revenue"
    assert param_text("kpi.assumptions.gross_margin", "0.3") == "30 %"
    assert param_label("segment.coverage.2.role") == "Coverage model edits › 2 › role"
    assert param_label("something_new.sub_key") == "Something new › sub key"
    assert set(OWN_YARDSTICK_KPIS) == {"managers_in_band"}

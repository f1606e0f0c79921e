"""Exports: the Excel workbook re-read with openpyxl holds the same numbers; HTML is offline; charts render."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from test_scenario_store import make_scenario

from workbench.compare import compare
from workbench.report.export import (
    assumptions_table,
    export_excel,
    export_html,
    kpi_frame,
    save_chart,
    scenario_charts,
)
from workbench.scenario import Scenario, ScenarioStore


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    # through the store, so the export sees exactly what a saved scenario holds
    sc = make_scenario("Balanced ±15 %", n_accounts=3000, n_managers=25, seed=3)
    with ScenarioStore(tmp_path_factory.mktemp("s") / "s.sqlite") as store:
        store.save(sc)
        return store.load(sc.name)


@pytest.fixture(scope="module")
def workbook(scenario, tmp_path_factory):
    path = tmp_path_factory.mktemp("x") / "out" / "balanced.xlsx"
    seen = []
    export_excel(scenario, path, progress=lambda stage, frac: seen.append((stage, frac)))
    assert seen[-1] == ("done", 1.0) and [f for _, f in seen] == sorted(f for _, f in seen)
    return load_workbook(path, read_only=False)


def _sheet_frame(ws, header_row: int = 1) -> pd.DataFrame:
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_workbook_has_the_sheets(workbook):
    assert workbook.sheetnames == ["Summary", "KPIs", "Monthly", "Moves", "Manager loads", "Segments",
                                   "Assumptions", "Import report"]


def test_kpis_round_trip(workbook, scenario):
    got = _sheet_frame(workbook["KPIs"]).set_index("kpi")
    # the change's band and the value's band each say which they are
    heads = {"baseline": "baseline", "scenario": "scenario", "delta": "change", "delta_p10": "change_p10",
             "delta_p90": "change_p90", "p10": "scenario_p10", "p90": "scenario_p90"}
    for key, k in scenario.projection.kpis.items():
        for col, head in heads.items():
            want = k.get(col)
            if want is None:
                assert pd.isna(got.loc[key, head])  # an empty cell, not 0
            else:
                assert got.loc[key, head] == pytest.approx(want, rel=1e-12)


def test_each_kpi_row_has_the_number_format_of_its_unit(workbook, scenario):
    """A share reads 7.5 % (not 0.08), an index 0.221, a count 351 (not 351.00), an amount 1,234,567; the cells keep
    the raw numbers. On the KPIs sheet and in the Summary's headline table."""
    want = {"share": "0.0%", "index": "0.000", "accounts": "#,##0", scenario.currency: "#,##0"}
    kpis = scenario.projection.kpis
    units = {k["unit"] for k in kpis.values()}
    assert {"share", "accounts", scenario.currency} <= units  # (an index KPI, when present, reads 0.000)
    ws = workbook["KPIs"]
    header = [c.value for c in ws[1]]
    rows = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1)}
    for key, k in kpis.items():
        fmt = want[k["unit"]]
        if k["unit"] == "accounts" and not float(k["scenario"]).is_integer():
            fmt = "#,##0.0"  # an average (accounts per manager of a role)
        for col, head in (("baseline", "baseline"), ("scenario", "scenario"), ("delta", "change")):
            cell = ws.cell(row=rows[key], column=header.index(head) + 1)
            assert cell.number_format == fmt, (key, col, cell.number_format)
            assert cell.value == pytest.approx(k[col], rel=1e-12)
    summary = workbook["Summary"]
    head = next(r for r in range(1, summary.max_row + 1) if summary.cell(row=r, column=1).value == "KPI")
    labels = {summary.cell(row=r, column=1).value: r for r in range(head + 1, head + 1 + len(kpis))}
    for k in kpis.values():
        if k["unit"] in ("share", "index"):
            assert summary.cell(row=labels[k["label"]], column=5).number_format == want[k["unit"]]  # change


def test_loads_and_moves_round_trip(workbook, scenario):
    loads = _sheet_frame(workbook["Manager loads"])
    want = scenario.assignment.loads
    assert list(loads.columns) == list(want.columns)
    for col in ("hours_before", "hours_after", "revenue_after", "band_low", "accounts_after"):
        np.testing.assert_allclose(loads[col].astype(float), want[col].astype(float), rtol=1e-12)
    assert list(loads["manager_id"]) == list(want["manager_id"])
    moves = _sheet_frame(workbook["Moves"])
    assert len(moves) == len(scenario.assignment.moves)
    assert list(moves["to_manager"]) == list(scenario.assignment.moves["to_manager"])
    names = want.set_index("manager_id")["name"]
    assert list(moves["to_name"]) == list(scenario.assignment.moves["to_manager"].map(names))
    monthly = _sheet_frame(workbook["Monthly"])
    np.testing.assert_allclose(monthly["scenario_p90"].astype(float), scenario.projection.series["scenario_p90"])


def test_formatting_for_humans(workbook):
    ws = workbook["Manager loads"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    header = [c.value for c in ws[1]]
    col = header.index("hours_after") + 1
    assert ws.cell(row=2, column=col).number_format == "#,##0.0"
    assert ws.cell(row=2, column=header.index("revenue_after") + 1).number_format == "#,##0.00"
    assert ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width >= len("hours_after")
    assert ws.cell(row=1, column=1).font.b


def test_assumptions_with_sources(workbook, scenario):
    df = _sheet_frame(workbook["Assumptions"]).set_index("name")
    assert df.loc["owner_change_loss", "value"] == pytest.approx(0.15)
    assert "Shi et al. 2017" in df.loc["owner_change_loss", "source"]
    assert df.loc["effort_elasticity", "value"] == pytest.approx(0.34)


def test_summary_and_import_report(workbook, scenario):
    summary = [[c for c in r if c is not None] for r in workbook["Summary"].iter_rows(values_only=True)]
    flat = [x for r in summary for x in r]
    assert f"Scenario: {scenario.name}" in flat and scenario.fingerprint in flat
    # parameters for people, with the path and raw value a scenario file uses beside them
    from workbench.compare import param_label
    band = next(r for r in summary if r and r[0] == param_label("allocate.band"))
    assert band[1].startswith("±") and band[2].startswith("allocate.band = ")
    rep = [x for r in workbook["Import report"].iter_rows(values_only=True) for x in r if x is not None]
    assert any("3 rejected" in str(x) for x in rep) and "must be >= 0" in rep


def test_assumption_sources_from_defaults_when_only_values_are_known():
    sc = make_scenario("x")
    from workbench.assumptions import DEFAULT_ASSUMPTIONS

    name, default = next(iter(DEFAULT_ASSUMPTIONS.items()))
    sc.projection.assumptions = {name: default.value * 1.1, "segment_retention": {"Grow": 0.93}}
    sc.params["kpi"]["assumptions"] = {"assumptions": {name: {"value": default.value * 1.1, "source": "CFO, 2026"}}}
    t = assumptions_table(sc).set_index("name")
    assert t.loc[name, "source"] == "CFO, 2026" and t.loc[name, "low"] == default.low
    assert t.loc["segment_retention.Grow", "value"] == pytest.approx(0.93)


def test_html_report_is_self_contained(scenario, tmp_path):
    path = export_html(scenario, tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("<svg") == 3 and scenario.name in text
    # nothing that a browser would fetch: no scripts, links, external images or CSS imports
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", text, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", text, re.I)
    kp = kpi_frame(scenario).set_index("kpi")
    # the KPIs read as on the cards (the workbook keeps the raw numbers)
    from workbench.report.format import fmt_kpi, kpi_display

    assert fmt_kpi(kp.loc["revenue_12m", "scenario"], kp.loc["revenue_12m", "unit"]) in text
    shown = kpi_display(scenario.projection.kpis)
    assert shown["KPI"].iloc[0] == kp.loc["revenue_12m", "label"]
    assert ">Change P10–P90</th>" in text and ">Scenario P10–P90</th>" in text
    cmp_path = export_html([scenario, make_scenario("Other", seed=8)], tmp_path / "c.html")
    ctext = cmp_path.read_text(encoding="utf-8")
    assert ctext.count("<svg") == 3 and "Other" in ctext and "different books" in ctext
    # one column per scenario, each with its difference to the first beneath its value
    assert "Other</th>" in ctext and f"vs {scenario.name}" in ctext.replace("\xa0", " ")


def test_chart_export_svg_and_png(scenario, tmp_path):
    chart = scenario_charts(scenario)["monthly"]
    svg = save_chart(chart, tmp_path / "m.svg").read_text()
    assert svg.lstrip().startswith("<svg")
    png = save_chart(chart, tmp_path / "m.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    with pytest.raises(ValueError, match=".svg or .png"):
        save_chart(chart, tmp_path / "m.pdf")


def test_parameter_only_scenario_is_refused(tmp_path):
    with pytest.raises(ValueError, match="parameters only"):
        export_excel(Scenario("p"), tmp_path / "p.xlsx")
    assert not (tmp_path / "p.xlsx").exists()


def test_comparison_numbers_are_the_scenarios(scenario):
    other = make_scenario("Other", seed=8)
    cmp = compare([scenario, other])
    assert cmp.kpis["value"].iloc[0] == pytest.approx(scenario.projection.kpis[cmp.kpis["kpi"].iloc[0]]["scenario"])


def test_report_figures_read_like_the_cards():
    from workbench.report.format import kpi_display, when

    kpis = {"accounts_moved": {"label": "Accounts moved", "unit": "accounts", "baseline": 0.0, "scenario": 334.0,
                               "delta": 334.0, "p10": None, "p90": None},
            "revenue_12m": {"label": "Revenue", "unit": "EUR", "baseline": 157.5e6, "scenario": 160.06e6,
                            "delta": 2.56e6, "p10": None, "p90": None},
            "managers_in_band": {"label": "In band", "unit": "share", "baseline": 0.25, "scenario": 1.0,
                                 "delta": 0.75, "p10": None, "p90": None}}
    t = kpi_display(kpis)
    assert list(t.columns) == ["KPI", "Baseline", "Scenario", "Change"]  # no band column without draws
    assert list(t["KPI"]) == ["Revenue", "In band", "Accounts moved"]  # headline order, not dict order
    assert t.iloc[0].tolist() == ["Revenue", "157.50 M EUR", "160.06 M EUR", "+2.56 M EUR"]
    assert t.iloc[1].tolist() == ["In band", "25.0 %", "100.0 %", "+75.0 pp"]
    assert t.iloc[2].tolist() == ["Accounts moved", "0 accounts", "334 accounts", "+334 accounts"]
    kpis["revenue_12m"].update(p10=158e6, p90=161e6)
    assert kpi_display(kpis)["Scenario P10–P90"].iloc[0] == "158.00 M EUR … 161.00 M EUR"
    assert when("2026-11-30T00:18:32+00:00") == "30 Nov 2026, 00:18 UTC" and when("not a date") == "not a date"
    from workbench.report.format import header, kpi_line

    assert header("hours_before") == "hours before" and header("Plan_B vs Plan_A") == "Plan_B vs Plan_A"

    assert kpi_line(kpis["accounts_moved"]) == "Accounts moved: 0 accounts -> 334 accounts (+334 accounts)"
    assert kpi_line(kpis["revenue_12m"]).endswith("(+2.56 M EUR)  [P10–P90 158.00 M EUR … 161.00 M EUR]")


def test_a_real_plans_workbook_has_revenue_per_move_and_one_column_per_segment_field(tmp_path):
    # a pipeline run (the synthetic scenario above has neither revenue per move nor overlapping coverage columns)
    from workbench.pipeline import run
    from workbench.sampledata import generate

    book = generate(n_accounts=400, n_managers=12, seed=3).book()
    sc = Scenario.from_run("Real", run(book, {}), book)
    wb = load_workbook(export_excel(sc, tmp_path / "real.xlsx"), read_only=False)
    moves = _sheet_frame(wb["Moves"])
    np.testing.assert_allclose(moves["revenue_12m"].astype(float), sc.assignment.moves["revenue_12m"].astype(float))
    assert list(moves.columns)[-1] == "reason"
    seg = _sheet_frame(wb["Segments"])
    assert not [c for c in seg.columns if str(c).endswith(("_x", "_y"))]
    assert {"n_accounts", "tier", "role", "hours_per_account"} <= set(seg.columns), list(seg.columns)



def test_unit_formats_of_kpi_rows():
    from workbench.report.export import _unit_format

    assert _unit_format("share", [0.075, 0.08]) == "0.0%" and _unit_format("index", [0.221]) == "0.000"
    assert _unit_format("accounts", [0.0, 351.0]) == "#,##0" and _unit_format("accounts", [38.25, 40.0]) == "#,##0.0"
    assert _unit_format("EUR", [157_510_000.12, -7_121.8]) == "#,##0"

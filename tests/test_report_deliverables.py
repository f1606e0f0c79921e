"""What a stakeholder reads in the deliverables (HTML report, Excel file, comparison, dashboard) on real runs.

From the first new-user review: moves listed by account id ("A001613") instead of the company; the report and the
workbook showed the scenario value's P10–P90 band (straddling the baseline: "maybe no gain") where the app's cards
show the band of the change; a comparison of two scenarios that differ only by what-if events blamed "their
assumptions or books" and listed "What-if events: 2"; pseudonymised pages still carried a manager's surname
through the scenario's name and the export's file name; the workbook's headline KPIs started with workload
imbalance, its Author was empty after a reload and its months were text.
"""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from workbench.compare import compare
from workbench.pipeline import run
from workbench.report.export import export_excel, export_html, kpi_frame, safe_file_name
from workbench.report.format import change_band_text, fmt_kpi, kpi_decimals
from workbench.sampledata import generate
from workbench.scenario import Scenario, ScenarioStore, pseudonymise

HIRE = "Nina Neu"


@pytest.fixture(scope="module")
def book():
    return generate(n_accounts=400, n_managers=12, seed=3).book()


@pytest.fixture(scope="module")
def leaver(book):
    return book.managers.iloc[1]  # M002 Dominik Studer


@pytest.fixture(scope="module")
def pair(book, leaver):
    """S1: a leaver and a hire; S2: the same band and book without events."""
    events = [{"type": "leave", "manager_id": leaver["manager_id"]},
              {"type": "hire", "name": HIRE, "role": "Account Manager", "capacity_hours": 1600, "ramp": 0.5}]
    surname = leaver["name"].split()[-1]
    s1 = Scenario.from_run(f"S1 ±10 %, {surname} leaves, hire", run(book, {"allocate": {"band": 0.1, "events": events},
                                                                              "kpi": {"draws": 60}}), book)
    s2 = Scenario.from_run("S2 ±10 % no events", run(book, {"allocate": {"band": 0.1}, "kpi": {"draws": 60}}), book)
    return s1, s2


@pytest.fixture(scope="module")
def store_path(pair, tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "s.sqlite"
    with ScenarioStore(path) as store:
        for sc in pair:
            store.save(sc, publish=True)
    return path


# ------------------------------------------------------------------------------------------ company names
def test_moves_carry_the_company_names_into_report_and_dashboard(book, pair, store_path, tmp_path):
    from widgets.dashboard import Dashboard, moves_for_people

    s1, _ = pair
    names = book.accounts.set_index("account_id")["name"]
    moves = s1.assignment.moves
    assert (moves["account_name"] == moves["account_id"].map(names)).all()
    page = export_html(s1, tmp_path / "s1.html").read_text(encoding="utf-8")
    top = moves["account_name"].head(3).tolist()
    assert all(f">{n}</td>" in page.replace("&amp;", "&") for n in top)
    d = Dashboard(store_path, poll_seconds=None)
    shown, _ = moves_for_people(d._load(s1.name))
    assert shown["Account"].isin(set(names)).all()  # companies, not ids
    assert not shown["Account"].str.fullmatch(r"A\d+").any()
    d._alias.value = True
    aliased, _ = moves_for_people(d._load(s1.name))
    assert aliased["Account"].str.startswith("Account ").all()
    assert not any(n in d._moves.value for n in shown["Account"])


# ------------------------------------------------------------------------------------------ change bands
def test_report_and_workbook_show_the_change_band_like_the_cards(pair, tmp_path):
    s1, _ = pair
    k = s1.projection.kpis["revenue_12m"]
    assert k["delta_p10"] < k["delta_p90"]
    change = change_band_text(k)
    page = export_html(s1, tmp_path / "s1.html").read_text(encoding="utf-8").replace("\xa0", " ")
    assert ">Change P10–P90</th>" in page and change in page
    assert page.index(">Change P10–P90</th>") < page.index(">Scenario P10–P90</th>")  # the value band labelled
    wb = load_workbook(export_excel(s1, tmp_path / "s1.xlsx"))
    ws = wb["Summary"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head = next(i for i, r in enumerate(rows) if r[0] == "KPI")
    cols = rows[head]
    assert cols[:7] == ["KPI", "unit", "baseline", "scenario", "change", "change P10", "change P90"]
    revenue = next(r for r in rows[head + 1:] if r[0] == k["label"])
    assert revenue[5] == pytest.approx(k["delta_p10"]) and revenue[6] == pytest.approx(k["delta_p90"])
    kpis = {c.value: i for i, c in enumerate(wb["KPIs"][1])}
    assert {"change_p10", "change_p90", "scenario_p10", "scenario_p90"} <= set(kpis)


def test_comparison_shows_each_change_band_in_report_and_dashboard(pair, store_path, tmp_path):
    from widgets.dashboard import Dashboard

    cmp = compare(list(pair))
    page = export_html(cmp, tmp_path / "c.html").read_text(encoding="utf-8").replace("\xa0", " ")
    for sc in pair:
        assert change_band_text(sc.projection.kpis["revenue_12m"]) in page
    assert "change against its baseline, P10–P90" in page
    d = Dashboard(store_path, poll_seconds=None)
    d.show_comparison([sc.name for sc in pair])
    shown = d._cmp_kpis.value.replace("\xa0", " ")  # (figures do not break inside)
    for sc in pair:  # ("either way", where a band holds zero, stands on a line of its own)
        assert change_band_text(sc.projection.kpis["revenue_12m"]).removesuffix(" (either way)") in shown


def test_chart_whisker_is_the_change_band_and_the_figure_stands_past_it(pair):
    from workbench.report.charts.compare import kpi_bands

    cmp = compare(list(pair))
    full = kpi_bands(cmp.kpis, keys=["revenue_12m"]).to_dict()
    spec = full["vconcat"][0]
    rows = {r["scenario"]: r for ds in full["datasets"].values() for r in ds if "label_at" in r}
    k = pair[0].projection.kpis["revenue_12m"]
    row = rows[pair[0].name]
    assert row["p10_change"] == pytest.approx(k["delta_p10"]) and row["p90_change"] == pytest.approx(k["delta_p90"])
    text = [ly for ly in spec["layer"] if ly["mark"]["type"] == "text"]
    assert text and all(ly["encoding"]["x"]["field"] == "label_at" for ly in text)
    if row["change"] >= 0:
        assert row["label_at"] >= max(row["change"], row["p90_change"])
    else:
        assert row["label_at"] <= min(row["change"], row["p10_change"])


# ------------------------------------------------------------------------------------------ events in words
def test_events_only_difference_is_named_and_said_in_words(pair, leaver):
    cmp = compare(list(pair))
    text = " ".join(cmp.warnings)
    if "baselines differ" in text:
        assert "what-if events differ" in text and "assumptions or books" not in text
    diff = cmp.param_diff_table().set_index("Parameter")
    said = diff.loc["What-if events (leavers, hires, overrides)", pair[0].name]
    assert said == f"{leaver['name']} leaves; hire {HIRE} (Account Manager, 50 % ramp-up)"


def test_baseline_warning_names_the_events_when_only_they_differ(pair):
    import copy

    a, b = (copy.deepcopy(sc) for sc in pair)
    b.projection.kpis["workload_imbalance"]["baseline"] += 0.01  # as a leaver's team changes it
    cmp = compare([a, b])
    warning = next(w for w in cmp.warnings if "baselines differ" in w)
    assert "their what-if events differ" in warning and "assumptions or books differ" not in warning


# ------------------------------------------------------------------------------------------ pseudonyms
def test_pseudonymised_scenario_name_hire_and_file_name(pair, leaver, store_path):
    from widgets.dashboard import Dashboard

    s1, _ = pair
    surname = leaver["name"].split()[-1]
    ps = pseudonymise(s1, "salt")
    assert surname not in ps.name and re.search(r"Manager [0-9a-f]{8} leaves", ps.name)
    # a hire reads like every other manager, with the alias the loads give it
    hire = ps.params["allocate"]["events"][1]
    loads = ps.assignment.loads
    assert hire["name"] in set(loads["name"]) and hire["name"].startswith("Manager ")
    d = Dashboard(store_path, poll_seconds=None)
    d._alias.value = True
    labels = [label for label, _ in d._pick.options]
    assert labels and not any(surname in x for x in labels) and any("leaves" in x for x in labels)
    assert surname not in d._head.value + d._kpis.value + d._moves.value
    d.show_comparison([s1.name, pair[1].name])
    assert surname not in d._cmp_kpis.value + d._cmp_params.value + d._msg.value
    d.show_scenario(s1.name)
    d._export._format.value = "xlsx"
    data = d._export.export()
    name = re.search(r'download="([^"]+)"', d._export._link.value).group(1)
    assert surname not in name and re.fullmatch(r"S1_10pct_Manager_[0-9a-f]{8}_leaves_hire\.xlsx", name)
    cells = " ".join(str(c.value) for ws in load_workbook(io.BytesIO(data)) for row in ws.iter_rows() for c in row)
    assert surname not in cells and HIRE not in cells


def test_safe_file_names_are_readable():
    assert safe_file_name("S1 ±10 %, Peters leaves, hire") == "S1_10pct_Peters_leaves_hire"
    assert safe_file_name("Größere Bänder – Süd") == "Größere_Bänder-Süd"
    assert safe_file_name("S3 ±15 % + revenue balance") == "S3_15pct_plus_revenue_balance"
    assert safe_file_name("Plan: 1.5 M EUR") == "Plan_1.5_M_EUR"
    assert safe_file_name("../..") == "scenario" and safe_file_name("con") == "con_"


# ------------------------------------------------------------------------------------------ workbook polish
def test_workbook_orders_kpis_like_the_cards_keeps_author_and_dates_months(pair, tmp_path):
    s1, _ = pair
    with ScenarioStore(tmp_path / "s.sqlite") as store:
        store.save(s1)
        back = store.load(s1.name)
    wb = load_workbook(export_excel(back, tmp_path / "s1.xlsx"))
    ws = wb["Summary"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    info = {r[0]: r[1] for r in rows[:14] if r[0]}
    assert info["Plan in brief"].startswith("Band ± (share of target): ±10 %") and HIRE in info["Plan in brief"]
    head = next(i for i, r in enumerate(rows) if r[0] == "KPI")
    labels = [r[0] for r in rows[head + 1:] if r[0]]
    want = kpi_frame(back)
    assert labels[0] == back.projection.kpis["revenue_12m"]["label"]  # revenue first, as on the cards
    assert labels.index(back.projection.kpis["workload_imbalance"]["label"]) > 3
    assert list(want["kpi"])[0] == "revenue_12m"
    monthly = wb["Monthly"]
    head = [c.value for c in monthly[1]]
    cell = monthly.cell(row=2, column=head.index("period") + 1)
    assert isinstance(cell.value, datetime) and cell.number_format == "mmm yyyy"
    assert cell.value == back.projection.series["period"].iloc[0].to_pydatetime()


def test_author_is_kept_in_the_workshop_after_a_reload(tmp_path, book, pair):
    from widgets.scenario_step import ScenarioStep
    from widgets.state import WorkbenchState

    s1, _ = pair
    st = WorkbenchState()
    st.book = book
    st.segmentation, st.assignment, st.projection = s1.segmentation, s1.assignment, s1.projection
    path = tmp_path / "s.sqlite"
    step = ScenarioStep(st, store_path=path)
    step._name.value, step._author.value = "First", "Anna Berater"
    step.save()
    again = ScenarioStep(st, store_path=path)  # a page reload: a new kernel, a new step
    assert again._author.value == "Anna Berater"
    again._name.value = "Second"
    again.save()
    with ScenarioStore(path, read_only=True) as ro:
        second = ro.load("Second")
    assert second.author == "Anna Berater"
    wb = load_workbook(export_excel(second, tmp_path / "x.xlsx"))
    info = {r[0].value: r[1].value for r in wb["Summary"].iter_rows(max_row=12) if r[0].value}
    assert info["Author"] == "Anna Berater" and info["Description"] == "(none given)"


def test_fmt_of_the_change_band_matches_the_cards():
    k = {"unit": "EUR", "baseline": 157.51e6, "scenario": 159.08e6, "delta": 1.57e6, "delta_p10": 226e3,
         "delta_p90": 2.16e6}
    dec = kpi_decimals(k["baseline"], k["scenario"], k["delta"])
    assert change_band_text(k) == f"{fmt_kpi(226e3, 'EUR', sign=True, decimals=dec)} … +2.16 M EUR"
    assert change_band_text({**k, "delta_p10": -1e5}).endswith("(either way)")
    from workbench.report.format import kpi_line

    assert kpi_line({**k, "label": "Revenue"}).endswith("[change P10–P90 +226 k EUR … +2.16 M EUR]")

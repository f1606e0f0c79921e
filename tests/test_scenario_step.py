"""End to end on a real pipeline run: the workshop's Scenarios step, store round trip, exports, CLI and YAML batch."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_scenario_store import assert_same_results

from workbench.book import save_book
from workbench.cli import main
from workbench.pipeline import run
from workbench.report.export import assumptions_table, export_excel
from workbench.sampledata import generate
from workbench.scenario import Scenario, ScenarioStore, pseudonymise, read_yaml, with_account_names


@pytest.fixture(scope="module")
def book():
    return generate(n_accounts=400, n_managers=12, seed=3).book()


@pytest.fixture(scope="module")
def result(book):
    return run(book, {"kpi": {"draws": 40}})


@pytest.fixture
def state(book, result):
    from widgets.state import WorkbenchState

    st = WorkbenchState()
    st.book = book
    st.segmentation, st.assignment, st.projection = result.segmentation, result.assignment, result.projection
    return st


def test_real_run_round_trips_through_the_store(tmp_path, book, result):
    sc = Scenario.from_run("Real", result, book, description="sample book", author="ci")
    with ScenarioStore(tmp_path / "s.sqlite") as store:
        store.save(sc)
        back = store.load("Real")
    assert_same_results(sc, back)
    assert back.book_summary == book.summary() and back.fingerprint == book.fingerprint()
    # pseudonymised, no manager name or id and no account id is left in any text column of any frame
    ps = pseudonymise(back, "salt")
    secrets_ = set(book.managers["name"]) | set(book.managers["manager_id"]) | set(book.accounts["account_id"])
    for obj in (ps.segmentation, ps.assignment, ps.projection):
        for f in obj.__dataclass_fields__:
            frame = getattr(obj, f)
            if isinstance(frame, pd.DataFrame):
                for c in frame.columns:
                    if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype):
                        leaked = frame[c].dropna().astype(str).isin(secrets_)
                        assert not leaked.any(), (f, c, frame[c][leaked].head(3).tolist())
    names = "|".join(sorted(set(book.managers["name"]), key=len, reverse=True))
    assert not ps.assignment.moves["reason"].str.contains(names, regex=True).any()
    text = back.to_yaml()
    assert "used:" in text and "stability_runs" in text and read_yaml(text).params == back.params
    table = assumptions_table(back)
    assert table["source"].str.len().gt(0).all() and len(table) > 5
    assert table["name"].str.startswith("growth (").any()  # per-segment history estimates get their own rows


def test_step_saves_publishes_loads_and_compares(tmp_path, state, result):
    from widgets.scenario_step import ScenarioStep

    path = tmp_path / "ws" / "scenarios.sqlite"
    step = ScenarioStep(state, store_path=path)
    assert not path.exists()  # nothing is created until the first save
    step._name.value, step._author.value = "Workshop A", "Kim"
    step._publish_on_save.value = True
    assert step.save() == 1
    assert "Saved Workshop A as version 1, published" in step._msg.value
    step._publish_on_save.value = False
    step._name.value = "Workshop B"
    step.save()
    with ScenarioStore(path, read_only=True) as ro:
        assert ro.names(published_only=True) == ["Workshop A"]
        saved = ro.load("Workshop A")
    assert saved.author == "Kim" and saved.params["allocate"]["band"] == result.assignment.params["band"]
    # the move list keeps each company's name beside its id (a scenario holds no copy of the book)
    named = with_account_names(result.assignment, state.book.accounts)
    assert "account_name" in saved.assignment.moves and saved.assignment.moves["account_name"].notna().all()
    assert_same_results(Scenario("x", params=saved.params, fingerprint=saved.fingerprint,
                                 segmentation=result.segmentation, assignment=named,
                                 projection=result.projection, import_report=saved.import_report), saved)
    step.publish("Workshop B")
    step.unpublish("Workshop A")
    with ScenarioStore(path, read_only=True) as ro:
        assert ro.names(published_only=True) == ["Workshop B"]
    step._list.value = "Workshop A"
    # its versions for people: a date, not an ISO stamp; "yes" where published, not True / False
    assert "UTC" in step._history.value and ">True<" not in step._history.value and ">False<" not in step._history.value
    step._export._format.value = "xlsx"
    data = step._export.export()
    assert data[:2] == b"PK" and step._export._bar.value == 100
    assert 'download="Workshop_A.xlsx"' in step._export._link.value and "base64," in step._export._link.value
    step._export._format.value = "html"
    page = step._export.export()
    assert b"<svg" in page
    # a file for outside the client: the same report with aliases, none of the managers' names or ids in it
    loads = result.assignment.loads
    real = [str(x) for x in loads["name"].head(5)] + [str(x) for x in loads["manager_id"].head(5)]
    assert any(r.encode() in page for r in real)
    step._export._alias.value = True
    aliased = step._export.export()
    assert b"<svg" in aliased and b"Manager " in aliased and b"Kim" not in aliased
    assert not [r for r in real if r.encode() in aliased]
    step._export._alias.value = False
    step.compare(["Workshop A", "Workshop B"])
    assert "<svg" in step._cmp_charts[0].value and "Comparing" in step._msg.value
    step.compare(["Workshop A", "Not there"])  # a crafted value is refused with a sentence
    assert "Choose a scenario first" in step._msg.value
    # load puts the stored results back into the state (same book)
    state.projection = None
    step.load("Workshop A")
    assert state.projection is not None and "Loaded Workshop A" in step._msg.value
    step.delete("Workshop B")
    assert [v for _, v in step._list.options] == ["Workshop A"]


def test_step_refuses_to_save_without_results_and_loading_another_book(tmp_path, state, book):
    from widgets.scenario_step import ScenarioStep
    from widgets.state import WorkbenchState

    empty = ScenarioStep(WorkbenchState(), store_path=tmp_path / "s.sqlite")
    empty._name.value = "Nothing"
    empty.save()
    assert "Nothing to save yet" in empty._msg.value and "Traceback" not in empty._msg.value
    step = ScenarioStep(state, store_path=tmp_path / "s.sqlite")
    step._name.value = "Here"
    step.save()
    other = generate(n_accounts=300, n_managers=10, seed=9).book()
    state.book = other
    step.load("Here")
    assert "computed on another book" in step._msg.value


def test_cli_run_save_publish_and_yaml_batch(tmp_path, book, capsys):
    folder = save_book(book, tmp_path / "book")
    store = tmp_path / "ws" / "s.sqlite"
    yaml_path = tmp_path / "wide.yaml"
    yaml_path.write_text("name: Wide band\nauthor: batch\nparams:\n  allocate: {band: 0.25}\n  kpi: {draws: 0}\n",
                         encoding="utf-8")
    rc = main(["run", str(yaml_path), "--book", str(folder), "--out", str(tmp_path / "out"), "--store", str(store),
               "--save", "Wide band", "--publish"])
    assert rc == 0, capsys.readouterr().err
    kpis = json.loads((tmp_path / "out" / "kpis.json").read_text())
    assert kpis["params"]["allocate"]["band"] == 0.25
    with ScenarioStore(store, read_only=True) as ro:
        sc = ro.load("Wide band", published_only=True)
    # the batch run gives the numbers the workshop (pipeline.run with the same parameters) gives
    same = run(book, {"allocate": {"band": 0.25}, "kpi": {"draws": 0}})
    assert sc.projection.kpis["revenue_12m"] == same.projection.kpis["revenue_12m"]
    # the same moves, each with its company's name beside its id
    pd.testing.assert_frame_equal(sc.assignment.moves.drop(columns="account_name"), same.assignment.moves)
    names = book.accounts.set_index("account_id")["name"]
    assert (sc.assignment.moves["account_name"] == sc.assignment.moves["account_id"].map(names)).all()
    assert sc.author == "batch"
    out = tmp_path / "wide.xlsx"
    assert main(["scenario", "export", "Wide band", "--store", str(store), "--out", str(out)]) == 0
    assert out.stat().st_size > 5000
    assert main(["scenario", "list", "--store", str(store), "--published"]) == 0
    assert "Wide band" in capsys.readouterr().out
    assert main(["scenario", "show", "Nope", "--store", str(store)]) == 2
    assert "No scenario named 'Nope'" in capsys.readouterr().err
    # show and compare print figures as the app shows them
    assert main(["scenario", "show", "Wide band", "--store", str(store)]) == 0
    shown = capsys.readouterr().out
    assert "Revenue, next 12 months" in shown and " M " in shown and " pp" in shown
    assert main(["run", "--book", str(folder), "--out", str(tmp_path / "out2"), "--store", str(store),
                 "--save", "Narrow", "--band", "0.1", "--crm", "none"]) == 0
    capsys.readouterr()
    assert main(["scenario", "compare", "Wide band", "Narrow", "--store", str(store)]) == 0
    shown = capsys.readouterr().out
    assert "Narrow vs Wide band" in shown and "Wide band vs Wide band" not in shown
    crm = tmp_path / "crm"
    assert main(["scenario", "export", "Wide band", "--store", str(store), "--format", "crm", "--out", str(crm),
                 "--book", str(folder)]) == 0
    plain = [p for p in crm.iterdir() if p.suffix == ".csv"]
    assert len(plain) >= 4
    other = save_book(generate(n_accounts=200, n_managers=8, seed=5).book(), tmp_path / "other")
    assert main(["scenario", "export", "Wide band", "--store", str(store), "--format", "crm", "--out", str(crm),
                 "--book", str(other)]) == 2
    assert "is not the book" in capsys.readouterr().err
    export_excel(sc, tmp_path / "direct.xlsx")


def test_loading_a_scenario_puts_its_settings_back_in_every_step(tmp_path, book):
    # the controls used to keep the values of the moment: after a load the sliders disagreed with the scenario,
    # the Reallocate tab showed a plan re-solved with those stale controls, and the next change mixed the two
    from widgets.app import WorkshopApp
    from widgets.state import WorkbenchState

    app = WorkshopApp(book_path="", state=WorkbenchState(), store_path=tmp_path / "s.sqlite")
    app.state.book = book
    app.segment_step.wait()
    ra, kp, sc = app.reallocate_step, app.kpi_step, app.scenario_step
    ra._band.value = 30  # the share sliders are in percent
    ra._limit_on.value, ra._limit.value = True, 25
    ra._w["continuity"].value = 2.5
    churn = next(n for n in kp._sliders if "churn" in n or "retention" in n)
    kp._sliders[churn].value = kp._sliders[churn].max
    app.segment_step._k.value = 4
    app.segment_step.wait()
    assert app.state.params["allocate"]["band"] == 0.3 and app.state.params["segment"]["k"] == 4
    sc._name.value = "Wide"
    sc.save()
    saved_moves = app.state.assignment.moves.copy()
    saved_kpis = dict(app.state.projection.kpis)

    # another setting everywhere, then back to the saved scenario
    ra._band.value = 10
    ra._limit_on.value = False
    ra._w["continuity"].value = 1.0
    kp.reset()
    app.segment_step._k.value = 6
    app.segment_step.wait()
    assert ra._band.value == 10 and app.state.params["segment"]["k"] == 6
    sc.load("Wide")
    assert "Loaded Wide" in sc._msg.value
    assert (ra._band.value, ra._limit_on.value, ra._limit.value) == (30, True, 25)
    assert ra._w["continuity"].value == 2.5
    assert kp._sliders[churn].value == kp._sliders[churn].max
    assert app.segment_step._k.value == 4
    p = app.state.params
    assert p["allocate"]["band"] == 0.3 and p["allocate"]["max_move_share"] == 0.25 and p["segment"]["k"] == 4
    assert ra.params() == {k: v for k, v in p["allocate"].items() if k in ra.params()}
    # the saved plan, its moves named (the scenario carries each company's name beside the id)
    pd.testing.assert_frame_equal(app.state.assignment.moves.drop(columns="account_name"), saved_moves)
    assert app.state.projection.kpis == saved_kpis
    # the Reallocate tab shows the loaded plan, and the next change starts from the loaded settings
    assert f"{int(saved_moves['from_manager'].notna().sum()):,} accounts change owner" in ra._msg.value
    assert "wb-msg-ok" in kp._msg.value and "Preparing" not in kp._msg.value
    ra._w["fit"].value = 2.0
    assert app.state.params["allocate"]["band"] == 0.3 and app.state.params["allocate"]["max_move_share"] == 0.25

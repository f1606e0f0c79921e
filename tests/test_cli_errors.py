"""The command line answers bad options with one sentence and exit code 2, checks every option before it writes
anything, and never shows a Python traceback (unless asked to, for a bug report)."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _error_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"workbench {command}: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """A segmentation and a quick plan of the sample book (the inputs of `reallocate` and `project`)."""
    d = tmp_path_factory.mktemp("plan")
    assert main(["segment", str(SAMPLE), "--out", str(d / "seg"), "--stability-runs", "0"]) == 0
    assert main(["reallocate", str(SAMPLE), "--segments", str(d / "seg"), "--out", str(d / "alloc"),
                 "--mode", "auto", "--crm", "none"]) == 0
    return d


# ---- item: unknown --set keys, and anything unexpected


@pytest.mark.parametrize("setting, hint", [("segment.bogus=3", ""), ("allocate.bnad=0.1", "allocate.band"),
                                           ("kpi.draw=5", "kpi.draws")])
def test_an_unknown_set_key_is_one_sentence_listing_the_valid_keys(setting, hint, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "workbench", "run", "--book", str(SAMPLE), "--out",
                           str(tmp_path / "o"), "--set", setting], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    line = _error_line(proc.stderr, "run")
    assert f"unknown parameter {setting.split('=')[0]}" in line and "takes" in line
    if hint:
        assert f"did you mean {hint}?" in line
    assert not (tmp_path / "o").exists()


def test_an_unexpected_error_is_one_sentence_with_the_traceback_logged(tmp_path, capsys, monkeypatch):
    def boom(args):
        raise RuntimeError("something inside broke")

    parser = build_parser()  # the segment command, its work replaced by a bug
    next(a for a in parser._actions if a.dest == "command").choices["segment"].set_defaults(func=boom)
    monkeypatch.setattr("workbench.cli.build_parser", lambda: parser)
    monkeypatch.delenv("WORKBENCH_DEBUG", raising=False)
    rc = main(["segment", str(SAMPLE), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1
    line = _error_line(err, "segment")
    assert "unexpected RuntimeError: something inside broke" in line
    assert "--debug" in line and "WORKBENCH_DEBUG=1" in line
    log = Path(line.split("the traceback is in ")[1].split(" ")[0])
    assert "Traceback" in log.read_text() and "something inside broke" in log.read_text()
    log.unlink()
    with pytest.raises(RuntimeError):  # asked for: the traceback itself
        main(["--debug", "segment", str(SAMPLE), "--out", str(tmp_path / "o")])
    monkeypatch.setenv("WORKBENCH_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["segment", str(SAMPLE), "--out", str(tmp_path / "o")])


def test_a_closed_pipe_ends_quietly(tmp_path):
    # `workbench … | head`: the reader goes away before the output is flushed
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "sample-data", "--accounts", "60", "--managers", "4",
                             "--months", "12", "--out", str(tmp_path / "sd")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert proc.returncode == 141 and (tmp_path / "sd" / "accounts.csv").exists()  # as `cat` stopped by SIGPIPE


# ---- item: every option is checked before anything is written


def test_an_unknown_crm_writes_nothing(tmp_path, capsys):
    rc = main(["run", "--book", str(SAMPLE), "--out", str(tmp_path / "o"), "--crm", "sap"])
    line = _error_line(capsys.readouterr().err, "run")
    assert rc == 2 and "unknown CRM 'sap'" in line
    assert not (tmp_path / "o").exists()


def test_a_backtest_the_history_cannot_carry_writes_nothing(plan, tmp_path, capsys):
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exc:  # outside 1..24: argparse's own one line
        main(["project", str(SAMPLE), "--assignment", str(plan / "alloc"), "--backtest", "100", "--out", str(out)])
    assert exc.value.code == 2 and "between 0 and 24" in capsys.readouterr().err
    rc = main(["project", str(SAMPLE), "--assignment", str(plan / "alloc"), "--backtest", "20", "--draws", "0",
               "--out", str(out)])
    line = _error_line(capsys.readouterr().err, "project")
    assert rc == 2 and "needs at least 33 months of history" in line and "the book has 24" in line
    assert not out.exists()


def test_an_output_folder_that_cannot_be_made_is_named_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    rc = main(["run", "--book", str(SAMPLE), "--out", str(tmp_path / "file" / "o")])
    line = _error_line(capsys.readouterr().err, "run")
    assert rc == 2 and "is a file, not a folder" in line
    if Path("/proc/self").exists():
        rc = main(["run", "--book", str(SAMPLE), "--out", "/proc/x"])
        line = _error_line(capsys.readouterr().err, "run")
        assert rc == 2 and "--out /proc/x cannot be made" in line and "Errno" not in line


# ---- item: option wording


@pytest.mark.parametrize("args, expected", [
    (["--save", ""], "--save needs a scenario name"),
    (["--weight", "fit=abc"], "--weight expects NAME=NUMBER"),
    (["--weight", "fit"], "--weight expects NAME=NUMBER"),
])
def test_run_options_are_checked_in_words(args, expected, tmp_path, capsys):
    rc = main(["run", "--book", str(SAMPLE), "--out", str(tmp_path / "o"), *args])
    assert rc == 2 and expected in _error_line(capsys.readouterr().err, "run")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, expected", [
    (["segment", str(SAMPLE), "--out", "x", "--stability-runs", "-1"], "--stability-runs: must not be negative"),
    (["reallocate", str(SAMPLE), "--segments", "s", "--out", "x", "--band", "wide"], "--band expects a share"),
    (["reallocate", str(SAMPLE), "--segments", "s", "--out", "x", "--candidates", "0"], "must be at least 1"),
    (["project", str(SAMPLE), "--assignment", "a", "--out", "x", "--horizon", "0"], "between 1 and 60"),
])
def test_numbers_out_of_range_are_refused_by_the_parser(args, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and expected in capsys.readouterr().err


def test_lock_files_are_sniffed_and_their_errors_name_the_row(tmp_path, capsys):
    lock = tmp_path / "locks.csv"
    lock.write_text("account_id;manager_id\nA000001;\nA999999;M001\nA000003;M999\n", encoding="utf-8")
    rc = main(["run", "--book", str(SAMPLE), "--out", str(tmp_path / "o"), "--lock", str(lock)])
    line = _error_line(capsys.readouterr().err, "run")
    assert rc == 2 and "lock file locks.csv row 2: account A999999 is not in the book" in line
    lock.write_text("account_id;manager_id\nA000001;\nA000003;M999\n", encoding="utf-8")
    rc = main(["run", "--book", str(SAMPLE), "--out", str(tmp_path / "o"), "--lock", str(lock)])
    line = _error_line(capsys.readouterr().err, "run")
    assert rc == 2 and "lock file locks.csv row 2: manager M999 is not in the managers table" in line
    lock.write_text("foo|bar\n1|2\n", encoding="utf-8")
    rc = main(["run", "--book", str(SAMPLE), "--out", str(tmp_path / "o"), "--lock", str(lock)])
    line = _error_line(capsys.readouterr().err, "run")
    assert rc == 2 and "needs an account_id column" in line and "found: foo, bar" in line
    assert not (tmp_path / "o").exists()


def test_restore_and_delete_say_what_state_the_scenario_is_in(tmp_path, capsys):
    from workbench.scenario import Scenario, ScenarioStore

    store = tmp_path / "s.sqlite"
    with ScenarioStore(store) as st:
        st.save(Scenario("Balanced", params={"segment": {"k": 5}}))
    rc = main(["scenario", "restore", "Balanced", "--store", str(store)])
    assert rc == 2 and "'Balanced' is not deleted" in _error_line(capsys.readouterr().err, "scenario")
    assert main(["scenario", "delete", "Balanced", "--store", str(store)]) == 0
    rc = main(["scenario", "delete", "Balanced", "--store", str(store)])
    assert rc == 2 and "already deleted" in _error_line(capsys.readouterr().err, "scenario")
    assert main(["scenario", "restore", "Balanced", "--store", str(store)]) == 0
    rc = main(["scenario", "restore", "Nope", "--store", str(store)])
    assert rc == 2 and "No scenario named 'Nope'" in capsys.readouterr().err


# ---- item: help texts


def _help(*command: str) -> str:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command[0]]
    return " ".join(sub.format_help().split())


def test_help_texts_show_defaults_and_say_what_is_written():
    seg = _help("segment")
    assert "kmeans (default)" in seg and "(default 0)" in seg and "0 = no stability score" in seg
    proj = _help("project")
    assert "(default 1000; 0 = none)" in proj and "(default 12)" in proj and "Monte Carlo draws (default 0)" in proj
    realloc = _help("reallocate")
    assert "save_result" not in realloc and "--out folder of 'workbench segment'" in realloc
    run = _help("run")
    for name in ("segments.csv", "moves.csv", "managers.csv", "series.csv", "kpis.json", "timing.json",
                 "rejected_rows.csv", "CRM move files", "1000 Monte Carlo draws"):
        assert name in run, name


# ---- item: run and project agree on draws; run's moves.csv is reallocate's


def test_run_draws_like_project_and_writes_reallocates_moves_file(plan, tmp_path, capsys):
    assert main(["run", "--book", str(SAMPLE), "--out", str(tmp_path / "r"), "--set", "allocate.mode=auto",
                 "--crm", "none"]) == 0
    kpis = json.loads((tmp_path / "r" / "kpis.json").read_text())
    assert kpis["params"]["kpi"]["draws"] == 1000
    rev = kpis["kpis"]["revenue_12m"]
    assert rev["p10"] is not None and rev["p10"] <= rev["p90"]
    run_moves = pd.read_csv(tmp_path / "r" / "moves.csv")
    realloc_moves = pd.read_csv(plan / "alloc" / "moves.csv")
    assert list(run_moves.columns) == list(realloc_moves.columns)
    assert run_moves["reason_code"].notna().all() and run_moves["revenue_12m"].notna().all()


# ---- item: result files are the same for the same inputs; clock times are kept apart


def test_reallocate_files_are_identical_between_identical_runs(plan, tmp_path, capsys):
    for name in ("a", "b"):
        assert main(["reallocate", str(SAMPLE), "--segments", str(plan / "seg"), "--out", str(tmp_path / name),
                     "--mode", "auto", "--crm", "plain", "--tradeoff", "0.1,0.2"]) == 0
    for f in ("allocation.json", "assignment/meta.json", "moves.csv", "managers.csv", "tradeoff.csv",
              "moves_plain.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    timing = json.loads((tmp_path / "a" / "timing.json").read_text())
    assert timing["stats"]["seconds"] > 0 and set(timing["tradeoff_seconds"]) == {"0.1", "0.2"}
    assert json.loads((tmp_path / "a" / "assignment" / "timing.json").read_text())["stats"]["seconds"] > 0
    assert "timing.json" in capsys.readouterr().out

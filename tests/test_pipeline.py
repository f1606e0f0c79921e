"""The walking skeleton end to end: load → segment → reallocate → project, via Python and the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench import load_book
from workbench.cli import main as cli_main
from workbench.pipeline import merge_params, run, set_param

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def book():
    return load_book(SAMPLE)


@pytest.fixture(scope="module")
def result(book):
    return run(book)


def test_shipped_sample_book_loads_clean(book):
    assert book.n_accounts == 2000 and len(book.managers) == 40
    assert book.report.rows_rejected == 0
    assert book.history is not None and book.history["period"].nunique() == 24


def test_run_covers_every_account_and_explains_every_move(book, result):
    labels = result.segmentation.labels
    assert sorted(labels["account_id"]) == sorted(book.accounts["account_id"])
    assert labels["segment"].notna().all()
    owners = result.assignment.owners
    assert owners["to_manager"].isin(book.managers["manager_id"]).all()
    moves = result.assignment.moves
    assert len(moves) > 0, "the sample book has overloaded managers: some accounts must move"
    assert moves["reason"].str.len().gt(10).all()
    changed = owners[owners["from_manager"].fillna("") != owners["to_manager"]]
    assert set(changed["account_id"]) == set(moves["account_id"])
    for key in ("revenue_12m", "accounts_moved", "workload_imbalance", "managers_in_band"):
        k = result.projection.kpis[key]
        assert {"label", "unit", "baseline", "scenario", "delta"} <= set(k)
        assert k["delta"] == pytest.approx(k["scenario"] - k["baseline"])
    # every move is an owned account changing owner or an unowned one (25 in the sample) getting its first owner
    k = result.projection.kpis
    assert k["accounts_moved"]["scenario"] + k["unowned_assigned"]["scenario"] == len(moves)


def test_reallocation_improves_balance(result):
    k = result.projection.kpis
    assert k["workload_imbalance"]["scenario"] < k["workload_imbalance"]["baseline"]
    assert k["managers_in_band"]["scenario"] > k["managers_in_band"]["baseline"]


def test_same_inputs_same_results(book, result):
    again = run(book)
    pd.testing.assert_frame_equal(again.segmentation.labels, result.segmentation.labels)
    pd.testing.assert_frame_equal(again.assignment.moves, result.assignment.moves)
    assert json.dumps(again.projection.kpis, sort_keys=True, default=str) == \
        json.dumps(result.projection.kpis, sort_keys=True, default=str)


def test_parameters_flow_downstream(book, result):
    other = run(book, {"segment": {"k": 3}, "allocate": {"band": 0.05}})
    assert other.segmentation.labels["segment_id"].nunique() == 3
    assert other.params["allocate"]["band"] == 0.05
    assert other.projection.kpis["revenue_12m"]["scenario"] != result.projection.kpis["revenue_12m"]["scenario"]


def test_set_param_parses_values_and_rejects_bad_keys():
    p: dict = {}
    set_param(p, "segment.k=5")
    set_param(p, "allocate.band=0.1")
    set_param(p, "segment.method=kmeans")
    assert merge_params(p)["segment"] == {"method": "kmeans", "k": 5, "seed": 0}
    assert p["allocate"]["band"] == 0.1
    with pytest.raises(ValueError, match="section.key=value"):
        set_param(p, "k=5")
    with pytest.raises(ValueError, match="unknown parameter section"):
        set_param(p, "colour.k=5")


@pytest.mark.parametrize("assignment, hint", [("segment.bogus=3", None), ("allocate.bnad=0.1", "allocate.band"),
                                              ("kpi.draw=5", "kpi.draws"), ("segment.progress=1", None)])
def test_unknown_keys_are_refused_before_any_work_with_the_valid_ones(assignment, hint):
    # they reached segment() / reallocate() / project() as **kwargs: a TypeError traceback after loading the book
    from workbench.pipeline import PARAM_KEYS

    with pytest.raises(ValueError) as err:
        set_param({}, assignment)
    msg = str(err.value)
    section = assignment.split(".")[0]
    assert f"unknown parameter {assignment.split('=')[0]}" in msg and ", ".join(PARAM_KEYS[section]) in msg
    assert (f"did you mean {hint}?" in msg) if hint else "did you mean" not in msg
    with pytest.raises(ValueError, match="unknown parameter segment.bogus"):
        merge_params({"segment": {"bogus": 3}})  # a scenario file's parameters are checked the same way
    assert {"k", "method", "features"} <= set(PARAM_KEYS["segment"]) and "progress" not in PARAM_KEYS["segment"]
    assert {"band", "locks", "events", "mode"} <= set(PARAM_KEYS["allocate"]) and "base" not in PARAM_KEYS["allocate"]
    assert set(PARAM_KEYS["kpi"]) == {"assumptions", "draws", "horizon_months", "seed"}


def test_result_files_of_identical_runs_are_identical_and_timings_are_kept_apart(book, tmp_path):
    from workbench.pipeline import write_results
    from workbench.results import Assignment, load_result, save_result

    for name in ("a", "b"):
        write_results(run(book, {"segment": {"k": 4}}), tmp_path / name)
    for f in ("kpis.json", "moves.csv", "segments.csv", "managers.csv", "series.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert "seconds" not in (tmp_path / "a" / "kpis.json").read_text()
    timing = json.loads((tmp_path / "a" / "timing.json").read_text())
    assert set(timing["stages"]) == {"segment", "reallocate", "project"}
    assert timing["allocation"]["seconds"] > 0 and "solver_seconds" in timing["allocation"]
    # a saved Assignment keeps its clock times apart too, and gets them back on load
    asg = run(book).assignment
    save_result(asg, tmp_path / "asg")
    assert "seconds" not in (tmp_path / "asg" / "meta.json").read_text()
    again = load_result(Assignment, tmp_path / "asg")
    assert again.stats["seconds"] == asg.stats["seconds"] and again.stats["status"] == asg.stats["status"]


def test_cli_run_writes_the_result_files(tmp_path, capsys):
    rc = cli_main(["run", "--book", str(SAMPLE), "--out", str(tmp_path), "--set", "segment.k=4"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "accounts change owner" in out
    moves = pd.read_csv(tmp_path / "moves.csv")
    # the same file as `workbench reallocate` writes: reason codes, segment, hours and revenue for batch analysis
    assert {"account_id", "from_manager", "to_manager", "reason", "reason_code", "revenue_12m"} <= set(moves.columns)
    seg = pd.read_csv(tmp_path / "segments.csv")
    assert len(seg) == 2000
    kpis = json.loads((tmp_path / "kpis.json").read_text())
    assert "revenue_12m" in kpis["kpis"]


def test_cli_bad_input_is_one_clear_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "workbench", "run", "--book", str(tmp_path / "missing"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_run_shows_its_stages_on_a_terminal_and_nothing_in_a_log(tmp_path):
    # on a terminal a progress bar names each stage; piped into a log the output is the result lines only
    import fcntl
    import os
    import pty
    import struct
    import termios

    cmd = [sys.executable, "-m", "workbench", "run", "--book", str(SAMPLE), "--out", str(tmp_path / "o")]
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal 120 columns wide, then the command
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execv(sys.executable, cmd)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert os.waitpid(pid, 0)[1] == 0
    screen = out.decode(errors="replace")
    for stage in ("load", "segment", "reallocate", "reallocate: exact parts", "project", "write"):
        assert f"workbench run: {stage}" in screen, stage
    assert "accounts change owner" in screen
    piped = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0 and "workbench run:" not in piped.stderr + piped.stdout


def test_console_script_and_module_entry_points():
    proc = subprocess.run([sys.executable, "-m", "workbench", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "run" in proc.stdout and "sample-data" in proc.stdout
    exe = Path(sys.executable).with_name("workbench")
    assert exe.exists(), "the console script `workbench` is installed with the project"


def test_domain_core_never_imports_ui_packages():
    code = ("import sys, workbench, workbench.pipeline, workbench.cli; workbench.cli.build_parser(); "
            "bad = [m for m in ('ipywidgets', 'IPython', 'voila') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_run_takes_the_reallocate_flags_and_writes_crm_files(tmp_path, capsys):
    from workbench.scenario import Scenario

    accounts = pd.read_csv(SAMPLE / "accounts.csv", dtype="string")
    keep = accounts[accounts["owner_id"].notna() & accounts["parent_id"].isna()]["account_id"].iloc[0]
    pd.DataFrame({"account_id": [keep]}).to_csv(tmp_path / "locks.csv", index=False)
    spec = tmp_path / "wide.yaml"
    Scenario("wide", params={"allocate": {"band": 0.3, "max_move_share": 0.5}}).to_yaml(spec)
    # a scenario file, overridden by the reallocate flags (the flag wins, unflagged settings stay)
    rc = cli_main(["run", str(spec), "--book", str(SAMPLE), "--out", str(tmp_path / "o"), "--band", "0.1",
                   "--lock", str(tmp_path / "locks.csv"), "--event", "leave:M039", "--crm", "salesforce,plain"])
    out = capsys.readouterr().out
    assert rc == 0, out
    params = json.loads((tmp_path / "o" / "kpis.json").read_text())["params"]["allocate"]
    assert params["band"] == 0.1 and params["max_move_share"] == 0.5
    assert params["locks"] == [{"account_id": keep, "manager_id": None}]
    assert params["events"] == [{"type": "leave", "manager_id": "M039"}]
    moves = pd.read_csv(tmp_path / "o" / "moves.csv", dtype="string")
    managers = pd.read_csv(tmp_path / "o" / "managers.csv").set_index("manager_id")
    assert keep not in set(moves["account_id"]) and managers.loc["M039", "accounts_after"] == 0
    sf = pd.read_csv(tmp_path / "o" / "salesforce_account_owner_update.csv")
    assert list(sf.columns) == ["Id", "OwnerId"] and len(sf) == len(moves)
    assert (tmp_path / "o" / "moves_plain.csv").exists()
    assert not (tmp_path / "o" / "hubspot_company_owner_import.csv").exists()
    assert "salesforce_account_owner_update.csv" in out
    # a limit no plan can keep: one clear line and exit code 2, no files of a plan that breaks it
    rc = cli_main(["run", "--book", str(SAMPLE), "--out", str(tmp_path / "bad"), "--max-move-share", "0.001"])
    err = capsys.readouterr().err
    assert rc == 2 and "no feasible plan" in err and "(0.1% of the owned accounts)" in err
    assert not (tmp_path / "bad").exists()


def _degenerate_book(owners: int):
    """423 accounts with revenue 0 for all but two and no potential or need, as the Salesforce Data Loader sample."""
    import numpy as np

    from workbench.book import AccountBook

    rev = np.zeros(423)
    rev[[5, 17]] = [8.48e10, 6.0e7]
    ids = [f"M{i + 1}" for i in range(owners)]
    acc = pd.DataFrame({"account_id": [f"A{i:03d}" for i in range(423)], "name": "x", "revenue_12m": rev,
                        "owner_id": np.where(np.arange(423) < 400, ids[0], ids[-1])})
    man = pd.DataFrame({"manager_id": ids, "name": ids, "role": "Account Manager", "capacity_hours": 1500.0})
    return AccountBook(accounts=acc, managers=man)


def test_cli_run_on_features_that_do_not_separate_says_so_without_sklearn_warnings(tmp_path, capsys):
    import warnings

    from workbench.book import save_book

    save_book(_degenerate_book(owners=2), tmp_path / "book")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a raw scikit-learn ConvergenceWarning would fail here
        rc = cli_main(["run", "--book", str(tmp_path / "book"), "--out", str(tmp_path / "o"),
                       "--set", "segment.k=auto"])
    assert rc == 0
    out, err = capsys.readouterr()
    assert "ConvergenceWarning" not in err
    assert "warning: segments: 1 segment: the features do not separate these accounts" in err
    assert "revenue (revenue_12m) is 0 for 421 of 423 accounts" in err
    kpis = json.loads((tmp_path / "o" / "kpis.json").read_text())
    assert kpis["segmentation"]["k"] == 1 and kpis["segmentation"]["stability"] is None


def test_run_on_a_one_manager_book_without_moves():
    # a plan without moves (one manager) used to stop in numpy's char.replace on an empty array
    res = run(_degenerate_book(owners=1))
    assert res.segmentation.quality["k"] == 1 and len(res.assignment.moves) == 0

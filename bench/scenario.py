"""Benchmark the scenario store and the stakeholder dashboard: save/load of a big scenario, time to first chart.

Generates a sample book of ``--accounts`` accounts (``--per-manager`` per manager), runs the whole
flow once (``pipeline.run``, Monte Carlo draws included), then times ``ScenarioStore.save`` (each a new
version, fsync'd commit in WAL mode) and ``ScenarioStore.load`` (read-only connection, SHA-256 checked) over
``--repeats`` runs and reports the median. Unless ``--no-browser``, it serves the dashboard like
``workbench serve`` and times, in headless Chromium with the network cut to localhost, the seconds from
navigation to the first chart's SVG marks: once right after the server starts (cold: the visit waits for a
kernel) and ``--runs`` times after ``--settle`` seconds (warm: Voilà's preheated kernel is ready, what a
stakeholder normally gets). Ends with one JSON line; ``seconds`` is the slower of save and load (the target is
≤ 1 s each at 100k accounts).

    .venv/bin/python bench/scenario.py --accounts 100000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _offline import CHROMIUM, CHROMIUM_ARGS, offline_context  # noqa: E402

from workbench.cli.app import free_port  # noqa: E402
from workbench.cli.serve import start_dashboard  # noqa: E402
from workbench.scenario import Scenario, ScenarioStore  # noqa: E402

FIRST_CHART = ".wb-dashboard .wb-chart svg path"


def build_scenario(n_accounts: int, per_manager: int, seed: int, draws: int) -> tuple[Scenario, float]:
    """Run the flow on a generated book; return the scenario and the seconds the run took."""
    from workbench.pipeline import run
    from workbench.sampledata import generate

    book = generate(n_accounts=n_accounts, n_managers=max(2, round(n_accounts / per_manager)), seed=seed).book()
    t0 = time.perf_counter()
    result = run(book, {"kpi": {"draws": draws}})
    return Scenario.from_run("Bench", result, book, description="benchmark", author="bench"), \
        time.perf_counter() - t0


def time_store(sc: Scenario, path: Path, repeats: int) -> dict:
    saves, loads = [], []
    with ScenarioStore(path) as store:
        for _ in range(repeats):
            t0 = time.perf_counter()
            store.save(sc, publish=True)
            saves.append(time.perf_counter() - t0)
    with ScenarioStore(path, read_only=True) as ro:
        for _ in range(repeats):
            t0 = time.perf_counter()
            back = ro.load(sc.name)
            loads.append(time.perf_counter() - t0)
        blob_bytes = ro._db.execute("SELECT SUM(LENGTH(data)) FROM parts p JOIN versions v ON v.id = p.version_id "
                                    "WHERE v.name = ? AND v.version = 1", (sc.name,)).fetchone()[0]
    assert len(back.assignment.owners) == len(sc.assignment.owners)
    return {"save_s": statistics.median(saves), "load_s": statistics.median(loads), "save_all": saves,
            "load_all": loads, "blob_bytes": int(blob_bytes), "file_bytes": path.stat().st_size}


def visit(browser, url: str, timeout_ms: float) -> tuple[float, int]:
    context, foreign = offline_context(browser)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(FIRST_CHART, state="attached", timeout=timeout_ms)
    seconds = time.perf_counter() - t0
    context.close()
    return seconds, len(foreign)


def time_dashboard(store: Path, runs: int, timeout: float, log_path: Path, settle: float) -> dict:
    from playwright.sync_api import sync_playwright

    with open(log_path, "w", encoding="utf-8") as log:
        server = start_dashboard(store, port=free_port(), stdout=log, stderr=subprocess.STDOUT)
        try:
            server.wait_until_listening(timeout=120)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                cold = visit(browser, server.url, timeout * 1000)
                visits = []
                for _ in range(runs):
                    time.sleep(settle)  # let Voilà prepare the next kernel, as between real visitors
                    visits.append(visit(browser, server.url, timeout * 1000))
                browser.close()
        finally:
            server.stop()
    return {"first_chart_s": statistics.median(s for s, _ in visits), "all": [s for s, _ in visits],
            "cold_s": cold[0], "foreign_requests": cold[1] + sum(f for _, f in visits)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=100_000, help="accounts in the generated book (default 100000)")
    ap.add_argument("--per-manager", type=int, default=500, help="accounts per manager (default 500)")
    ap.add_argument("--draws", type=int, default=200, help="Monte Carlo draws of the KPI projection (default 200)")
    ap.add_argument("--repeats", type=int, default=5, help="saves and loads to time (default 5)")
    ap.add_argument("--runs", type=int, default=3, help="dashboard visits to time (default 3)")
    ap.add_argument("--seed", type=int, default=42, help="sample-data seed (default 42)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds to wait for a chart (default 300)")
    ap.add_argument("--settle", type=float, default=45, help="seconds between dashboard visits (default 45)")
    ap.add_argument("--no-browser", action="store_true", help="skip the dashboard timing")
    args = ap.parse_args(argv)

    sc, run_s = build_scenario(args.accounts, args.per_manager, args.seed, args.draws)
    print(f"scenario: {args.accounts:,} accounts, {len(sc.assignment.loads):,} managers, "
          f"{len(sc.assignment.moves):,} moves; flow ran in {run_s:.1f} s")
    with tempfile.TemporaryDirectory(prefix="bench-scenario-") as tmp:
        path = Path(tmp) / "scenarios.sqlite"
        st = time_store(sc, path, args.repeats)
        print(f"save: median {st['save_s']:.3f} s ({', '.join(f'{s:.3f}' for s in st['save_all'])})")
        print(f"load: median {st['load_s']:.3f} s ({', '.join(f'{s:.3f}' for s in st['load_all'])})")
        print(f"stored results: {st['blob_bytes'] / 1e6:.2f} MB per version; store file "
              f"{st['file_bytes'] / 1e6:.2f} MB after {args.repeats} versions")
        dash = None
        if not args.no_browser:
            dash = time_dashboard(path, args.runs, args.timeout, Path(tmp) / "voila.log", args.settle)
            print(f"dashboard: first chart cold {dash['cold_s']:.2f} s; warm median {dash['first_chart_s']:.2f} s "
                  f"over {args.runs} visits ({', '.join(f'{s:.2f}' for s in dash['all'])}); requests leaving "
                  f"localhost: {dash['foreign_requests']}")
    out = {"stage": "scenario", "accounts": args.accounts, "seconds": round(max(st["save_s"], st["load_s"]), 3),
           "save_seconds": round(st["save_s"], 3), "load_seconds": round(st["load_s"], 3),
           "result_bytes": st["blob_bytes"], "managers": int(len(sc.assignment.loads)),
           "moves": int(len(sc.assignment.moves))}
    if dash is not None:
        out.update({"first_chart_seconds": round(dash["first_chart_s"], 3),
                    "cold_first_chart_seconds": round(dash["cold_s"], 3),
                    "foreign_requests": dash["foreign_requests"]})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

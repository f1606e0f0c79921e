"""Benchmark the served workshop app: time from navigation to the first rendered chart in headless Chromium.

Serves a generated book of ``--accounts`` accounts exactly like ``workbench app`` and opens the page in
headless Chromium with the network cut to localhost, timing until the first chart's SVG marks are in the
page and until the KPI strip shows numbers (the whole chain import → segment → reallocate → KPIs has run):

* cold: the first visit right after the server starts (the preheated kernel is still running the chain);
* warm: later visits, each once the server is idle again (its replacement kernel has run the chain) — what
  a workshop participant sees when opening or reloading the app;
* baseline: the same server without a preheated kernel (``workbench app --no-preheat``), where every visit
  runs the chain while the page loads.

Ends with one JSON line.

    .venv/bin/python bench/app.py --accounts 2000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _offline import CHROMIUM, CHROMIUM_ARGS, offline_context  # noqa: E402

from workbench.cli.app import REFILL_DELAY_S, free_port, start_voila  # noqa: E402

FIRST_CHART = ".wb-chart svg path"
KPI_STRIP = ".wb-kpi-strip .wb-kpi[data-kpi] .wb-kpi-value"


def write_book(n_accounts: int, folder: Path, seed: int) -> Path:
    """Generate a sample book (about 50 accounts per manager) as CSV files in ``folder``."""
    from workbench.book import save_book
    from workbench.sampledata import generate

    data = generate(n_accounts=n_accounts, n_managers=max(2, round(n_accounts / 50)), seed=seed)
    return save_book(data.book(), folder, "csv")


def visit(browser, url: str, timeout_ms: float) -> dict:
    """One page visit with the network cut to localhost; seconds to first chart and to the KPI strip."""
    context, foreign = offline_context(browser)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(FIRST_CHART, timeout=timeout_ms)
    t_chart = time.perf_counter() - t0
    page.wait_for_selector(KPI_STRIP, timeout=timeout_ms)
    t_kpis = time.perf_counter() - t0
    context.close()
    return {"first_chart_s": t_chart, "kpi_strip_s": t_kpis, "foreign_requests": len(foreign)}


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and all its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return total


def wait_until_server_idle(pid: int, quiet: float = 3.0, timeout: float = 600.0) -> float:
    """Block until the server and its kernels use < 5 % of a core for ``quiet`` seconds (the preheated
    kernel has finished running the notebook); return the seconds waited."""
    t0 = time.perf_counter()
    last = _tree_cpu_seconds(pid)
    while time.perf_counter() - t0 < timeout:
        time.sleep(quiet)
        now = _tree_cpu_seconds(pid)
        if now - last < 0.05 * quiet:
            break
        last = now
    return time.perf_counter() - t0


def serve_and_visit(browser, book: Path, log_path: Path, preheat: bool, runs: int, settle: bool,
                    timeout_ms: float, refill_delay: float | None = REFILL_DELAY_S) -> tuple[float, list[dict]]:
    """Start the server, visit ``runs`` times; return (seconds until listening, per-visit timings)."""
    with open(log_path, "w", encoding="utf-8") as log:
        t0 = time.perf_counter()
        server = start_voila(host="127.0.0.1", port=free_port(), book=book, preheat=preheat,
                             refill_delay=refill_delay, stdout=log, stderr=subprocess.STDOUT)
        try:
            server.wait_until_listening(timeout=120)
            t_listen = time.perf_counter() - t0
            visits = []
            for i in range(runs):
                if i and settle:
                    # Let the replacement kernel start and finish the chain, as between two real visits.
                    time.sleep(1.0 if refill_delay is None else refill_delay)
                    wait_until_server_idle(server.process.pid)
                r = visit(browser, server.url, timeout_ms)
                r["since_start_s"] = time.perf_counter() - t0
                visits.append(r)
            return t_listen, visits
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=2000, help="accounts in the generated book (default 2000)")
    ap.add_argument("--runs", type=int, default=2, help="warm (and baseline) visits to time (default 2)")
    ap.add_argument("--seed", type=int, default=42, help="sample-data seed (default 42)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for a chart (default 600)")
    ap.add_argument("--refill-delay", type=float, default=REFILL_DELAY_S,
                    help=f"seconds before a used preheated kernel is replaced (default {REFILL_DELAY_S:g}, "
                         "as workbench app)")
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="skip the run without a preheated kernel")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp, sync_playwright() as p:
        book = write_book(args.accounts, Path(tmp) / "book", args.seed)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        t_listen, visits = serve_and_visit(browser, book, Path(tmp) / "voila.log", True, 1 + args.runs, True,
                                           args.timeout * 1000, args.refill_delay)
        base: list[dict] = []
        if args.baseline:
            _, base = serve_and_visit(browser, book, Path(tmp) / "voila-base.log", False, args.runs, False,
                                      args.timeout * 1000)
        browser.close()

    cold, warm = visits[0], visits[1:]
    print(f"book: {args.accounts:,} accounts; Voilà listening after {t_listen:.2f} s")
    print(f"cold visit (right after start): first chart {cold['first_chart_s']:.2f} s after navigation, "
          f"{cold['since_start_s']:.2f} s after server start; KPI strip {cold['kpi_strip_s']:.2f} s")
    for i, r in enumerate(warm, 1):
        print(f"warm visit {i}: first chart {r['first_chart_s']:.2f} s, KPI strip {r['kpi_strip_s']:.2f} s")
    for i, r in enumerate(base, 1):
        print(f"no-preheat visit {i}: first chart {r['first_chart_s']:.2f} s, KPI strip {r['kpi_strip_s']:.2f} s")
    foreign = sum(r["foreign_requests"] for r in visits + base)
    print(f"requests that tried to leave localhost: {foreign}")
    med = statistics.median(r["first_chart_s"] for r in warm) if warm else cold["first_chart_s"]
    out = {"stage": "app", "accounts": args.accounts, "seconds": round(med, 3),
           "kpi_strip_seconds": round(statistics.median(r["kpi_strip_s"] for r in warm or [cold]), 3),
           "cold_seconds": round(cold["first_chart_s"], 3), "server_start_seconds": round(t_listen, 3),
           "runs": len(warm), "foreign_requests": foreign, "refill_delay": args.refill_delay}
    if base:
        out |= {"baseline": "no preheated kernel",
                "baseline_seconds": round(statistics.median(r["first_chart_s"] for r in base), 3)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

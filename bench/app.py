"""Benchmark the served workshop app: time from navigation to the first rendered chart in headless Chromium.

Starts Voilà exactly like ``workbench app`` on a generated book of ``--accounts`` accounts, opens the page
``--runs`` times (each visit starts a fresh kernel, as for a real viewer) and reports, per visit, the seconds
until the first chart's SVG marks are in the page and until the KPI strip shows numbers (the whole chain
import → segment → reallocate → KPIs has run). Ends with one JSON line.

    .venv/bin/python bench/app.py --accounts 2000
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

from workbench.cli.app import free_port, start_voila  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
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
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    foreign: list[str] = []

    def route(r) -> None:
        host = r.request.url.split("/")[2].split(":")[0] if "//" in r.request.url else ""
        if host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(FIRST_CHART, timeout=timeout_ms)
    t_chart = time.perf_counter() - t0
    page.wait_for_selector(KPI_STRIP, timeout=timeout_ms)
    t_kpis = time.perf_counter() - t0
    context.close()
    return {"first_chart_s": t_chart, "kpi_strip_s": t_kpis, "foreign_requests": len(foreign)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=2000, help="accounts in the generated book (default 2000)")
    ap.add_argument("--runs", type=int, default=3, help="page visits to time (default 3)")
    ap.add_argument("--seed", type=int, default=42, help="sample-data seed (default 42)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds to wait for a chart (default 300)")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        book = write_book(args.accounts, Path(tmp) / "book", args.seed)
        log = open(Path(tmp) / "voila.log", "w", encoding="utf-8")
        t0 = time.perf_counter()
        server = start_voila(host="127.0.0.1", port=free_port(), book=book, stdout=log, stderr=subprocess.STDOUT)
        try:
            server.wait_until_listening(timeout=120)
            t_listen = time.perf_counter() - t0
            print(f"book: {args.accounts:,} accounts; Voilà listening after {t_listen:.2f} s at {server.url}")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                runs = []
                for i in range(args.runs):
                    r = visit(browser, server.url, args.timeout * 1000)
                    runs.append(r)
                    print(f"visit {i + 1}: first chart {r['first_chart_s']:.2f} s, KPI strip {r['kpi_strip_s']:.2f} s, "
                          f"requests leaving localhost: {r['foreign_requests']}")
                browser.close()
        finally:
            server.stop()
            log.close()

    first = statistics.median(r["first_chart_s"] for r in runs)
    kpis = statistics.median(r["kpi_strip_s"] for r in runs)
    print(f"median of {len(runs)} visits: first chart {first:.2f} s, KPI strip {kpis:.2f} s")
    print(json.dumps({"stage": "app", "accounts": args.accounts, "seconds": round(first, 3),
                      "kpi_strip_seconds": round(kpis, 3), "server_start_seconds": round(t_listen, 3),
                      "runs": len(runs), "foreign_requests": sum(r["foreign_requests"] for r in runs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

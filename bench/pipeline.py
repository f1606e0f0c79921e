"""Time each stage of `workbench run` (load → segment → reallocate → project → write) on a generated book.

Usage: python bench/pipeline.py [--accounts 100000] [--managers N] [--months 24] [--seed 42] [--band 0.15]
                                [--mode auto|thorough|deep]
Prints one line per stage and ends with one JSON line. ``--band`` / ``--mode`` set ``allocate.band`` /
``allocate.mode`` (default: the pipeline's, ±15 % and auto); ``--band 0.05`` is the tight case where ``auto`` leaves
managers outside and ``thorough`` works on the band.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from workbench.allocate import reallocate
from workbench.book import load_book
from workbench.kpi import project
from workbench.pipeline import merge_params, write_results
from workbench.sampledata import generate
from workbench.segment import segment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--managers", type=int, default=0, help="default: accounts / 50, at least 40")
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--band", type=float, default=None)
    ap.add_argument("--mode", default=None, choices=["auto", "thorough", "deep"])
    a = ap.parse_args()
    n_managers = a.managers or max(40, a.accounts // 50)
    p = merge_params({"allocate": {k: v for k, v in (("band", a.band), ("mode", a.mode)) if v is not None}})
    t = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        generate(n_accounts=a.accounts, n_managers=n_managers, n_months=a.months, seed=a.seed).write(tmp)
        t["generate_and_write_csv"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        book = load_book(tmp)
        t["load"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        seg = segment(book, **p["segment"])
        t["segment"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        asg = reallocate(book, seg, **p["allocate"])
        t["reallocate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        proj = project(book, seg, asg, **p["kpi"])
        t["project"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        from workbench.results import RunResult

        write_results(RunResult(seg, asg, proj, p, book.fingerprint()), Path(tmp) / "out")
        t["write_results"] = time.perf_counter() - t0
    for k, v in t.items():
        print(f"{k:>24}: {v:8.2f} s")
    st = asg.stats  # a timing is only worth quoting for a plan that meets the band
    print(f"{'plan':>24}: {st['status']}, {st['managers_in_band_after']:,} of {st['active_managers']:,} managers in "
          f"band, {st['solver']}{'; ' + '; '.join(st['notes']) if st['notes'] else ''}")
    run_seconds = sum(v for k, v in t.items() if k != "generate_and_write_csv")
    print(json.dumps({"stage": "pipeline", "accounts": a.accounts, "managers": n_managers,
                      "band": p["allocate"]["band"], "mode": p["allocate"].get("mode", "auto"),
                      "seconds": round(run_seconds, 3), **{k: round(v, 3) for k, v in t.items()},
                      "moves": int(len(asg.moves)), "status": st["status"],
                      "managers_in_band": st["managers_in_band_after"]}))


if __name__ == "__main__":
    main()

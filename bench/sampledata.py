"""Benchmark: time to generate a synthetic account book and write it as CSV (accounts, managers, history).

Run ``.venv/bin/python bench/sampledata.py --accounts 1000000``; prints figures, then one JSON line.
The target is under 60 s for 1,000,000 accounts (24 M history rows) on a 2-core machine, writing included.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=0, help="default: accounts / 50")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty", action="store_true")
    parser.add_argument("--out", default="", help="folder to keep the files in (default: a temporary folder)")
    args = parser.parse_args()

    from workbench.sampledata import generate

    managers = args.managers or max(3, args.accounts // 50)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="wb-sampledata-"))
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        data = generate(n_accounts=args.accounts, n_managers=managers, n_months=args.months, seed=args.seed,
                        dirty=args.dirty)
        t1, c1 = time.perf_counter(), time.process_time()
        data.write(out)
        t2, c2 = time.perf_counter(), time.process_time()
        size = sum(p.stat().st_size for p in out.glob("*.csv"))
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    rows = len(data.history)
    print(f"accounts {len(data.accounts):,}, managers {managers:,}, history rows {rows:,}, CSV {size / 1e6:,.0f} MB")
    print(f"generate {t1 - t0:.1f} s (cpu {c1 - c0:.1f} s), write {t2 - t1:.1f} s (cpu {c2 - c1:.1f} s), "
          f"total {t2 - t0:.1f} s")
    print(json.dumps({"stage": "sampledata", "accounts": len(data.accounts), "managers": managers,
                      "history_rows": rows, "seconds": round(t2 - t0, 2),
                      "generate_seconds": round(t1 - t0, 2), "write_seconds": round(t2 - t1, 2),
                      "cpu_seconds": round(c2 - c0, 2), "csv_mb": round(size / 1e6, 1)}))


if __name__ == "__main__":
    main()

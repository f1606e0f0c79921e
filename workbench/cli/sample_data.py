"""``workbench sample-data``: write a synthetic DACH account book (accounts, managers, revenue history) as CSV."""

from __future__ import annotations

import argparse
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample-data", help="generate a realistic synthetic DACH account book",
                       description="Generate accounts.csv, managers.csv and revenue_history.csv in the canonical "
                                   "schema (and truth.csv with --truth). Same seed, same files.")
    p.add_argument("--accounts", type=int, default=2000, help="number of accounts (default 2000)")
    p.add_argument("--managers", type=int, default=40, help="number of account managers (default 40)")
    p.add_argument("--months", type=int, default=24, help="months of revenue history, at least 12 (default 24)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--end-month", default="2026-10", help="last month of the history, YYYY-MM (default 2026-10)")
    p.add_argument("--out", required=True, help="folder to write the CSV files into")
    p.add_argument("--dirty", action="store_true",
                   help="plant near-duplicates, missing and impossible values (recorded in truth.csv)")
    p.add_argument("--truth", action="store_true",
                   help="also write truth.csv (true tier, growth, seasonality, churn, duplicates per account)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..sampledata import generate
    from . import CliError

    t0 = time.perf_counter()
    data = generate(n_accounts=args.accounts, n_managers=args.managers, n_months=args.months, seed=args.seed,
                    dirty=args.dirty, end_month=args.end_month)
    try:
        out = data.write(args.out, truth=args.truth)
    except OSError as exc:
        raise CliError(f"cannot write the sample data to {args.out}: {exc.strerror or exc}") from exc
    files = "accounts.csv, managers.csv, revenue_history.csv" + (", truth.csv" if args.truth else "")
    print(f"{len(data.accounts):,} accounts, {len(data.managers):,} managers, {len(data.history):,} history rows"
          f"{' (dirty)' if args.dirty else ''}")
    print(f"wrote {files} to {out} in {time.perf_counter() - t0:.1f} s")
    return 0

"""``workbench run``: the whole flow on a book folder, writing segments.csv, moves.csv, managers.csv, kpis.json."""

from __future__ import annotations

import argparse
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="segment, reallocate and project KPIs for a book folder",
                       description="Run the whole flow on a canonical book folder and write the results.")
    p.add_argument("--book", required=True, help="book folder (accounts, managers, optional revenue_history)")
    p.add_argument("--out", required=True, help="folder to write segments.csv, moves.csv, managers.csv, kpis.json")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a parameter, e.g. --set segment.k=5 --set allocate.band=0.1")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..book import load_book
    from ..pipeline import run, set_param, write_results

    params: dict = {}
    for s in args.sets:
        set_param(params, s)
    t0 = time.perf_counter()
    book = load_book(args.book)
    result = run(book, params)
    out = write_results(result, args.out)
    k = result.projection.kpis
    print(f"book: {book.summary()}")
    print(f"segments: {', '.join(f'{r.segment} ({r.n_accounts:,})' for r in result.segmentation.profiles.itertuples())}")
    print(f"moves: {len(result.assignment.moves):,} accounts change owner")
    for key in ("revenue_12m", "accounts_moved", "workload_imbalance"):
        if key in k:
            v = k[key]
            print(f"{v['label']}: {v['baseline']:,.2f} -> {v['scenario']:,.2f} ({v['delta']:+,.2f} {v['unit']})")
    print(f"wrote {out}/segments.csv, moves.csv, managers.csv, kpis.json in {time.perf_counter() - t0:.1f} s")
    return 0

"""``workbench segment``: segment a book folder and write labels, profiles, the coverage model and the capacity gap.

The fitted segmentation is also saved (``segmentation/``: Parquet + JSON, no pickle) so ``--apply`` can label
another book with the same segments.
"""

from __future__ import annotations

import argparse
import json
import time


def _k(text: str):
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k expects a whole number or 'auto', got {text!r}") from None


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segment", help="segment a book's accounts by value and need",
                       description="Segment the accounts of a book folder and write segments.csv, profiles.csv, "
                                   "coverage.csv, capacity_gap.csv and the saved segmentation.")
    p.add_argument("book", metavar="BOOK_DIR", help="book folder (accounts, managers, optional revenue_history)")
    p.add_argument("--out", required=True, help="folder for the results")
    p.add_argument("--method", default="kmeans", choices=["kmeans", "gmm", "hierarchical", "abc", "value-need"],
                   help="kmeans (default), gmm or hierarchical clustering of the features; abc: revenue tiers at "
                        "--abc-cuts; value-need: a value × need matrix (--grid, --value-cuts, --need-cuts)")
    p.add_argument("--k", type=_k, default=5, help="number of segments or 'auto' (default 5)")
    p.add_argument("--features", default=None, help="comma-separated features, e.g. revenue,potential,service_need")
    p.add_argument("--seed", type=int, default=0, help="random seed of the clustering and the refits (default 0)")
    p.add_argument("--grid", type=int, default=2, choices=[2, 3], help="value × need matrix size (2 or 3)")
    p.add_argument("--abc-cuts", type=_floats, default=[0.8, 0.95], help="cumulative revenue shares, e.g. 0.8,0.95")
    p.add_argument("--value-cuts", type=_floats, default=None, help="revenue cut points of the value × need matrix")
    p.add_argument("--need-cuts", type=_floats, default=None, help="service-need cut points (hours/year)")
    p.add_argument("--names", default=None, help='JSON object segment_id → name, e.g. \'{"0": "Key accounts"}\'')
    p.add_argument("--stability-runs", type=_count, default=5,
                   help="bootstrap refits for the stability score (default 5; 0 = no stability score)")
    p.add_argument("--apply", metavar="SAVED_DIR", default=None,
                   help="re-apply a saved segmentation (the 'segmentation' folder of an earlier run) instead of fitting")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..results import Segmentation, load_result, save_result
    from ..segment import capacity_gap, reapply, segment
    from ._common import check_out, load_reported, make_out, write_rejections

    t0 = time.perf_counter()
    out = check_out(args.out)
    book = load_reported(args.book, out)
    if args.apply:
        seg = reapply(load_result(Segmentation, args.apply), book)
    else:
        names = None
        if args.names:
            try:
                names = json.loads(args.names)
            except json.JSONDecodeError as exc:
                raise ValueError(f"--names must be a JSON object like '{{\"0\": \"Key accounts\"}}': {exc}") from None
            if not isinstance(names, dict):
                raise ValueError("--names must be a JSON object mapping segment id to name")
        seg = segment(book, method=args.method, k=args.k, features=args.features, seed=args.seed, names=names,
                      abc_cuts=tuple(args.abc_cuts), grid=args.grid, value_cuts=args.value_cuts,
                      need_cuts=args.need_cuts, stability_runs=args.stability_runs)
    make_out(out)
    seg.labels.to_csv(out / "segments.csv", index=False)
    seg.profiles.to_csv(out / "profiles.csv", index=False)
    seg.coverage.to_csv(out / "coverage.csv", index=False)
    gap = capacity_gap(seg.coverage, book.managers)
    gap.to_csv(out / "capacity_gap.csv", index=False)
    save_result(seg, out / "segmentation")
    rejected = write_rejections(book, out)
    q = seg.quality
    print(f"book: {book.summary()}")
    for r in seg.profiles.itertuples():
        print(f"  {r.segment_id} {r.segment}: {r.n_accounts:,} accounts, {r.revenue_share:.1%} of revenue")
    if q.get("stability") is not None:
        print(f"stability (adjusted Rand index across refits): {q['stability']:.2f} ({q['stability_level']})")
    if q.get("warning"):
        print(f"warning: {q['warning']}")
    short = gap[gap["headcount_gap"] > 0.5]
    for r in short.itertuples():
        print(f"capacity gap: {r.role} needs {r.headcount_needed:,.1f} FTE, team has {r.headcount_current}")
    written = ["segments.csv", "profiles.csv", "coverage.csv", "capacity_gap.csv", "segmentation/", *rejected]
    print(f"wrote {out}/{', '.join(written)} in {time.perf_counter() - t0:.1f} s")
    return 0

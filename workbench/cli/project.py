"""``workbench project``: KPI projection of a saved assignment; writes kpis.json and the monthly series."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("project", help="project KPIs (baseline vs scenario) for a saved assignment",
                       description="Project revenue, retention, CLV, cost to serve and workload KPIs of a saved "
                                   "assignment against keeping the current owners, with explicit assumptions.")
    p.add_argument("book", metavar="BOOK_DIR", help="book folder (accounts, managers, optional revenue_history)")
    p.add_argument("--assignment", required=True, metavar="DIR",
                   help="folder of a saved Assignment (as written by `workbench reallocate`)")
    p.add_argument("--segmentation", metavar="DIR",
                   help="folder of a saved Segmentation (default: DIR/segmentation or ../segmentation next to the "
                        "assignment; else the default segmentation is computed)")
    p.add_argument("--assumptions", metavar="FILE", help="scenario YAML with an 'assumptions' section")
    p.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws for P10/P50/P90 (0 = none)")
    p.add_argument("--horizon", type=int, default=12, help="months to project (1..60)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the Monte Carlo draws")
    p.add_argument("--write-assumptions", metavar="FILE",
                   help="also write the assumptions used (values, ranges, sources) as YAML to FILE")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder to write kpis.json, series.csv, by_segment.csv, by_manager.csv")
    p.set_defaults(func=_main)


def _find_segmentation(args: argparse.Namespace, book):
    from ..results import Segmentation, load_result

    asg_dir = Path(args.assignment)
    candidates = [Path(args.segmentation)] if args.segmentation else [asg_dir / "segmentation",
                                                                      asg_dir.parent / "segmentation"]
    for c in candidates:
        if (c / "meta.json").exists():
            return load_result(Segmentation, c), f"segmentation from {c}"
    if args.segmentation:
        raise ValueError(f"{args.segmentation} holds no saved segmentation (meta.json is missing)")
    from ..pipeline import DEFAULT_PARAMS
    from ..segment import segment

    return segment(book, **DEFAULT_PARAMS["segment"]), "default segmentation (computed)"


def _main(args: argparse.Namespace) -> int:
    import json

    from ..assumptions import Assumptions
    from ..book import load_book
    from ..kpi import KpiModel
    from ..results import Assignment, load_result

    t0 = time.perf_counter()
    book = load_book(args.book)
    asg = load_result(Assignment, args.assignment)
    seg, seg_note = _find_segmentation(args, book)
    assumptions = Assumptions.from_yaml(args.assumptions) if args.assumptions else Assumptions()
    model = KpiModel().fit(book, seg, asg)
    proj = model.project(assumptions, horizon_months=args.horizon, draws=args.draws, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"fingerprint": book.fingerprint(), "params": proj.params, "kpis": proj.kpis,
               "assumptions": proj.assumptions, "segmentation": seg_note}
    (out / "kpis.json").write_text(json.dumps(payload, indent=2, default=float), encoding="utf-8")
    proj.series.to_csv(out / "series.csv", index=False, date_format="%Y-%m-%d")
    proj.by_segment.to_csv(out / "by_segment.csv", index=False)
    proj.by_manager.to_csv(out / "by_manager.csv", index=False)
    if args.write_assumptions:
        assumptions.to_yaml(args.write_assumptions)
    print(f"book: {book.summary()}; {seg_note}")
    for key in ("revenue_12m", "accounts_moved", "revenue_at_risk", "workload_imbalance", "managers_in_band"):
        k = proj.kpis.get(key)
        if not k:
            continue
        band = f"  [P10 {k['p10']:,.2f} .. P90 {k['p90']:,.2f}]" if k.get("p10") is not None else ""
        print(f"{k['label']}: {k['baseline']:,.2f} -> {k['scenario']:,.2f} ({k['delta']:+,.2f} {k['unit']}){band}")
    print(f"wrote {out}/kpis.json, series.csv, by_segment.csv, by_manager.csv in {time.perf_counter() - t0:.1f} s")
    return 0

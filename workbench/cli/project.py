"""``workbench project``: KPI projection of a saved assignment; writes kpis.json and the monthly series."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def _between(option: str, low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} expects a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{option} must be between {low:,} and {high:,}, got {value:,}")
        return value
    return parse


def _share_of_month(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--last-month-share expects a share such as 0.5, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"--last-month-share must be above 0 and at most 1, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("project", help="project KPIs (baseline vs scenario) for a saved assignment",
                       description="Project revenue, retention, CLV, cost to serve and workload KPIs of a saved "
                                   "assignment against keeping the current owners, with explicit assumptions.")
    p.add_argument("book", metavar="BOOK_DIR", help="book folder (accounts, managers, optional revenue_history)")
    p.add_argument("--assignment", required=True, metavar="DIR",
                   help="folder of a saved Assignment, or the --out folder of `workbench reallocate`")
    p.add_argument("--segmentation", metavar="DIR",
                   help="saved Segmentation (or segments.csv + coverage.csv) folder; default: a 'segmentation' "
                        "folder next to the assignment, else the default segmentation is computed")
    p.add_argument("--assumptions", metavar="FILE", help="scenario YAML with an 'assumptions' section")
    p.add_argument("--draws", type=_between("--draws", 0, 100_000), default=1000,
                   help="Monte Carlo draws for P10/P50/P90 (default 1000; 0 = none)")
    p.add_argument("--horizon", type=_between("--horizon", 1, 60), default=12,
                   help="months to project, 1..60 (default 12)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the Monte Carlo draws (default 0)")
    p.add_argument("--write-assumptions", metavar="FILE",
                   help="also write the assumptions used (values, ranges, sources) as YAML to FILE")
    p.add_argument("--backtest", type=_between("--backtest", 0, 24), metavar="MONTHS", default=0,
                   help="also backtest the baseline on the last MONTHS (1..24) of history (writes backtest.json, "
                        "backtest_series.csv); needs 13 months of history more than MONTHS")
    p.add_argument("--actuals", metavar="FILE",
                   help="pilot tracking: revenue after the roll-out (account_id, period, revenue; CSV or Parquet); "
                        "writes pilot.json, pilot_segments.csv, pilot_managers.csv")
    p.add_argument("--last-month-share", type=_share_of_month, default=1.0, metavar="SHARE",
                   help="pilot tracking: share of the last actual month covered, above 0 up to 1 (default 1; 0.5 "
                        "for a 45-day pilot)")
    p.add_argument("--actual-owners", metavar="FILE",
                   help="pilot tracking: owners after the roll-out (account_id, owner_id; CSV or Parquet)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder to write kpis.json, series.csv, by_segment.csv, by_manager.csv")
    p.set_defaults(func=_main)


def _assignment_dir(path: str) -> Path:
    """The saved Assignment folder: DIR itself, or DIR/assignment as ``workbench reallocate --out DIR`` writes it."""
    d = Path(path)
    if not (d / "meta.json").exists() and (d / "assignment" / "meta.json").exists():
        return d / "assignment"
    return d


def _find_segmentation(args: argparse.Namespace, book, asg_dir: Path):
    from .reallocate import load_segmentation

    if args.segmentation:
        return load_segmentation(args.segmentation), f"segmentation from {args.segmentation}"
    for c in (asg_dir / "segmentation", asg_dir.parent / "segmentation", asg_dir.parent.parent / "segmentation"):
        if (c / "meta.json").exists():
            return load_segmentation(c), f"segmentation from {c}"
    from ..pipeline import DEFAULT_PARAMS
    from ..segment import segment

    return segment(book, **DEFAULT_PARAMS["segment"]), "default segmentation (computed; pass --segmentation)"


def _read_table(path: str, table: str | None):
    """A CSV/Parquet file; with ``table`` validated against the canonical schema (bad rows reported, not used)."""
    import pandas as pd

    from .. import schema

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist")
    try:
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, dtype={"account_id": "string",
                                                                                      "owner_id": "string"})
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one line for the user
        raise ValueError(f"{p.name} could not be read: {exc}") from exc
    if table is None:
        missing = [c for c in ("account_id", "owner_id") if c not in df.columns]
        if missing:
            raise ValueError(f"{p.name} lacks column(s) {', '.join(missing)}")
        return df, ""
    v = schema.validate(df, table, file=p.name)
    note = f"{p.name}: {v.rows_rejected:,} rows rejected" if v.rows_rejected else ""
    return v.accepted, note


def _check_backtest(book, months: int) -> None:
    """The backtest's own conditions, checked before anything is computed or written."""
    from ..kpi.backtest import MIN_FIT_MONTHS

    if not months:
        return
    if book.history is None or not len(book.history):
        raise ValueError("--backtest needs revenue history, and this book has none")
    have = int(book.history["period"].nunique())
    if have < months + MIN_FIT_MONTHS:
        raise ValueError(f"--backtest {months} needs at least {months + MIN_FIT_MONTHS} months of history "
                         f"({MIN_FIT_MONTHS} to fit, {months} to hold out); the book has {have}")


def _main(args: argparse.Namespace) -> int:
    import json

    from ..assumptions import Assumptions
    from ..kpi import KpiModel
    from ..report.format import kpi_line
    from ..results import Assignment, load_result, split_timing
    from ._common import check_out, load_reported, make_out, write_rejections

    t0 = time.perf_counter()
    # every option and input is checked, and everything computed, before the first file is written
    out = check_out(args.out)
    if args.write_assumptions:
        check_out(Path(args.write_assumptions).parent, "--write-assumptions")
    if args.actual_owners and not args.actuals:
        raise ValueError("--actual-owners needs --actuals FILE (the revenue after the roll-out)")
    asg_dir = _assignment_dir(args.assignment)
    asg = load_result(Assignment, asg_dir)
    assumptions = Assumptions.from_yaml(args.assumptions) if args.assumptions else Assumptions()
    book = load_reported(args.book, out)
    _check_backtest(book, args.backtest)
    if len(book.managers) == 0:
        raise ValueError("the book has no managers, so it has no plan to project: the projection compares a "
                         "reallocation with the current owners, and reallocating needs managers (a managers file or "
                         "an owner column)")
    seg, seg_note = _find_segmentation(args, book, asg_dir)
    model = KpiModel().fit(book, seg, asg)
    proj = model.project(assumptions, horizon_months=args.horizon, draws=args.draws, seed=args.seed)
    bt = rep = None
    pilot_notes: list[str] = []
    if args.backtest:
        from ..kpi import backtest

        bt = backtest(book, seg, holdout_months=args.backtest, draws=args.draws, seed=args.seed,
                      assumptions=assumptions)
    if args.actuals:
        from ..kpi import track_pilot

        actuals, note = _read_table(args.actuals, "history")
        owners_now = _read_table(args.actual_owners, None)[0] if args.actual_owners else None
        rep = track_pilot(book, seg, asg, actuals, owners_now, assumptions=assumptions, model=model,
                          last_month_share=args.last_month_share)
        pilot_notes = rep.notes + ([note] if note else [])

    make_out(out)
    payload, timing = split_timing({"fingerprint": book.fingerprint(), "params": proj.params, "kpis": proj.kpis,
                                    "assumptions": proj.assumptions, "segmentation": seg_note})
    (out / "kpis.json").write_text(json.dumps(payload, indent=2, default=float), encoding="utf-8")
    proj.series.to_csv(out / "series.csv", index=False, date_format="%Y-%m-%d")
    proj.by_segment.to_csv(out / "by_segment.csv", index=False)
    proj.by_manager.to_csv(out / "by_manager.csv", index=False)
    written = ["kpis.json", "series.csv", "by_segment.csv", "by_manager.csv"]
    if timing:
        (out / "timing.json").write_text(json.dumps(timing, indent=2, default=float), encoding="utf-8")
        written.append("timing.json")
    if args.write_assumptions:
        assumptions.to_yaml(args.write_assumptions)
    if bt is not None:
        (out / "backtest.json").write_text(json.dumps({"metrics": bt.metrics, "notes": bt.notes,
                                                       "by_segment": bt.by_segment.to_dict("records")},
                                                      indent=2, default=float), encoding="utf-8")
        bt.series.to_csv(out / "backtest_series.csv", index=False, date_format="%Y-%m-%d")
        written += ["backtest.json", "backtest_series.csv"]
        m = bt.metrics
        cov = f", actual total inside P10-P90 in {m['coverage_total']:.0%} of months" if m["coverage_total"] \
            is not None else ""
        print(f"backtest ({m['fit_months']} months fitted, {m['holdout_months']} held out): MAPE total "
              f"{m['mape_total']:.1%}, per segment {m['mape_segments']:.1%}{cov}")
    if rep is not None:
        (out / "pilot.json").write_text(json.dumps({"summary": rep.summary, "notes": pilot_notes}, indent=2,
                                                   default=float), encoding="utf-8")
        rep.by_segment.to_csv(out / "pilot_segments.csv", index=False)
        rep.by_manager.to_csv(out / "pilot_managers.csv", index=False)
        written += ["pilot.json", "pilot_segments.csv", "pilot_managers.csv"]
        sm = rep.summary
        deg = f"{sm['implementation_degree']:.0%}" if sm["implementation_degree"] is not None else "unknown"
        att = f"{sm['target_attainment']:.1%}" if sm["target_attainment"] is not None else "n/a"
        print(f"pilot ({', '.join(sm['periods'])}): implementation degree {deg} "
              f"({sm['executed_moves']:,} of {sm['planned_moves']:,} moves), target attainment {att}")
        for n in pilot_notes:
            print(f"note: {n}")
    written += write_rejections(book, out)
    print(f"book: {book.summary()}; {seg_note}")
    for key in ("revenue_12m", "accounts_moved", "revenue_at_risk", "workload_imbalance", "managers_in_band"):
        k = proj.kpis.get(key)
        if not k:
            continue
        print(kpi_line(k))
    print(f"wrote {out}/{', '.join(written)} in {time.perf_counter() - t0:.1f} s")
    return 0

"""``workbench reallocate``: optimised owner reassignment for a book and a saved segmentation, with CRM move files."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reallocate", help="reassign account owners inside a workload band; write moves and CRM files",
                       description="Reassign account owners so every manager is inside the workload band, moving "
                                   "as few valuable relationships as possible. Writes moves.csv, managers.csv, "
                                   "allocation.json and the CRM move files.")
    p.add_argument("book", metavar="BOOK_DIR", help="book folder (accounts, managers)")
    p.add_argument("--segments", required=True, metavar="DIR",
                   help="a saved segmentation (folder written by save_result) or a folder with segments.csv "
                        "(account_id, segment_id) and coverage.csv (segment_id, role, hours_per_account)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    add_allocate_options(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the candidate sample")
    p.add_argument("--tradeoff", nargs="?", const="default", default=None, metavar="BANDS",
                   help="also re-solve at each of these workload bands (comma separated shares; without a value "
                        "0.05 … 0.30) with the other settings as given and no move limit, and write tradeoff.csv "
                        "and tradeoff.svg: accounts moved and imbalance left per band")
    p.set_defaults(func=_main)


def add_allocate_options(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """The reallocation settings, shared by ``workbench reallocate`` and ``workbench run``. With
    ``defaults=False`` (``run``) every option defaults to ``None``: only the flags given override the scenario
    file and the pipeline defaults."""
    def d(value):
        return value if defaults else None

    p.add_argument("--band", type=float, default=d(0.15),
                   help="workload band around target as a share (default 0.15)")
    p.add_argument("--max-move-share", type=float, default=None,
                   help="at most this share of owned accounts (or of their revenue, see --move-share-of) may change "
                        "owner (e.g. 0.2)")
    p.add_argument("--move-share-of", default=d("accounts"), choices=["accounts", "revenue"],
                   help="what --max-move-share counts: owned accounts (default) or their 12-month revenue")
    p.add_argument("--balance-on", default=None, choices=["revenue", "potential"],
                   help="also keep each manager's revenue (revenue_12m) or potential inside a band around a fair "
                        "share (the role's total shared out like its hours); default: workload only")
    p.add_argument("--balance-band", type=float, default=d(0.2),
                   help="band of --balance-on around each manager's fair share, as a share (default 0.2 = ±20 %%)")
    p.add_argument("--candidates", type=int, default=d(6), metavar="N",
                   help="managers considered per account, its current owner included (default 6); more lets a "
                        "tight band be met at the cost of a slower solve")
    p.add_argument("--lock", metavar="FILE", default=None,
                   help="CSV with account_id and optional manager_id: accounts pinned to their owner or that manager")
    p.add_argument("--event", action="append", default=[], metavar="EVENT",
                   help="what-if event: leave:MANAGER_ID | hire:name=..,role=..,region=..,capacity_hours=1600,"
                        "ramp=0.5 | override:ACCOUNT_ID=MANAGER_ID[,freeze] (repeatable)")
    p.add_argument("--weight", action="append", default=[], metavar="NAME=VALUE",
                   help="objective weight: continuity=1, fit=1, balance=1 (repeatable)")
    p.add_argument("--mode", default=d("thorough"), choices=["thorough", "auto", "deep", "lp", "lagrangian", "exact"],
                   help="solver (default thorough: Lagrangian prices, two-move chains and a deeper MILP search, "
                        "~10 s on 10k accounts; auto is the app's Quick, ~1 s; deep adds branch and bound over "
                        "windows of managers and over each role's cheapest alternatives, for runs overnight)"
                   if defaults else
                        "solver (default: the scenario file's, else auto)")
    p.add_argument("--crm", default="salesforce,hubspot,dynamics,plain",
                   help="CRM move files to write (comma separated; default all; 'none' for none)")


def allocate_settings(args: argparse.Namespace) -> dict:
    """The ``reallocate`` keyword arguments the allocation flags ask for; options left at ``None`` are omitted
    (``run`` then keeps the scenario file's value). The lock file is read here, events are parsed."""
    import pandas as pd

    from ..allocate import normalise_locks, parse_event

    out = {"band": args.band, "max_move_share": args.max_move_share, "move_share_of": args.move_share_of,
           "balance_on": args.balance_on, "balance_band": args.balance_band, "mode": args.mode,
           "candidates": args.candidates}
    out = {k: v for k, v in out.items() if v is not None}
    if args.lock:
        lock_path = Path(args.lock)
        if not lock_path.exists():
            raise FileNotFoundError(f"lock file {lock_path} does not exist")
        # records, as the app keeps them: they go into the scenario's parameters and kpis.json as they are
        locks = normalise_locks(pd.read_csv(lock_path, dtype="string"))
        out["locks"] = locks.astype(object).where(locks.notna(), None).to_dict("records")
    weights = {}
    for item in args.weight:
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--weight expects NAME=VALUE, got {item!r}")
        weights[key.strip()] = float(value)
    if weights:
        out["weights"] = weights
    if args.event:
        out["events"] = [parse_event(e) for e in args.event]
    return out


def check_plan(stats: dict) -> str | None:
    """What the CLI does with an infeasible plan. One that breaks the move limit raises ``InfeasibleError``: its
    CRM files would move more accounts than the user allowed. One that only misses the band (an account family
    bigger than a band, capacity below demand) is the closest plan there is: it is written, and the returned
    warning says what it misses and what to relax. ``None`` for a feasible plan."""
    from ..allocate import InfeasibleError

    if stats.get("status") != "infeasible":
        return None
    if stats.get("moves_over_limit", 0.0) > 1e-9:
        raise InfeasibleError(f"no feasible plan. {stats['diagnosis']}")
    return f"no plan meets every setting, so the files hold the closest one. {stats['diagnosis']}"


def crm_systems(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(x.strip() for x in args.crm.split(",") if x.strip() and x.strip() != "none")


def load_segmentation(folder):
    """A Segmentation from a ``save_result`` folder or from ``segments.csv`` + ``coverage.csv``."""
    from pathlib import Path

    import pandas as pd

    from ..results import Segmentation, load_result

    folder = Path(folder)
    if (folder / "meta.json").exists():
        return load_result(Segmentation, folder)
    labels, coverage = folder / "segments.csv", folder / "coverage.csv"
    if labels.exists() and coverage.exists():
        lab = pd.read_csv(labels, dtype={"account_id": "string"})
        cov = pd.read_csv(coverage)
        return Segmentation(labels=lab, profiles=pd.DataFrame(), coverage=cov)
    raise FileNotFoundError(f"{folder} holds no segmentation: expected meta.json (a saved Segmentation) or "
                            "segments.csv and coverage.csv")


def _main(args: argparse.Namespace) -> int:
    import json

    from ..allocate import moves_summary, reallocate
    from ..book import load_book
    from ..crm import write_move_files
    from ..results import save_result
    from ._progress import progress_bar

    t0 = time.perf_counter()
    bands = parse_bands(args.tradeoff) if args.tradeoff else None  # a typo fails before any solving
    book = load_book(args.book)
    seg = load_segmentation(args.segments)
    # thorough (the default) takes minutes on a big book: on a terminal a bar names the solver's stage
    asg = reallocate(book, seg, seed=args.seed, **allocate_settings(args),
                     progress=progress_bar("workbench reallocate"))
    s = asg.stats
    warning = check_plan(s)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    asg.moves.to_csv(out / "moves.csv", index=False)
    asg.loads.to_csv(out / "managers.csv", index=False)
    (out / "allocation.json").write_text(json.dumps({"params": asg.params, "stats": asg.stats}, indent=2,
                                                    default=str), encoding="utf-8")
    save_result(asg, out / "assignment")
    files = write_move_files(asg, book, out, crm_systems(args))
    print(f"book: {book.summary()}")
    print(f"moves: {moves_summary(asg.moves)} ({s['moved_share_accounts']:.1%} of owned accounts, "
          f"{s['moved_share_revenue']:.1%} of their revenue); managers in band {s['managers_in_band_before']} -> "
          f"{s['managers_in_band_after']} of {s['active_managers']}")
    if args.balance_on:
        print(f"{args.balance_on} band ±{args.balance_band:.0%}: managers inside {s['managers_in_aux_band_before']} -> "
              f"{s['managers_in_aux_band_after']} of {s['active_managers']}")
    print(f"solver: {s['solver']}, objective {s['objective']:,.0f}, lower bound {s['lower_bound']:,.0f}, "
          f"gap {s['gap']:.2%}, status {s['status']}")
    for note in s["notes"]:
        print(f"note: {note}")
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    written = ["moves.csv", "managers.csv", "allocation.json", *(f.name for f in files)]
    if bands:
        written += _tradeoff(book, seg, bands, args, out)
    print(f"wrote {out}/{', '.join(written)} in {time.perf_counter() - t0:.1f} s")
    return 0


def parse_bands(text: str) -> tuple[float, ...]:
    """``"0.05,0.1,0.2"`` → (0.05, 0.1, 0.2); ``"default"`` → the standard grid; a clear error otherwise."""
    from ..allocate.tradeoff import DEFAULT_BANDS

    if text == "default":
        return DEFAULT_BANDS
    out = []
    for item in text.split(","):
        try:
            out.append(float(item.strip().rstrip("%")) / (100 if item.strip().endswith("%") else 1))
        except ValueError:
            raise ValueError(f"--tradeoff expects bands as shares separated by commas (0.05,0.1,0.2), got {item!r}"
                             ) from None
    bad = [b for b in out if not 0 <= b < 1]
    if bad:
        raise ValueError(f"--tradeoff bands are shares between 0 and 1 (0.15 = ±15 %), got {bad[0]:g}")
    return tuple(out)


def _tradeoff(book, seg, bands: tuple[float, ...], args: argparse.Namespace, out: Path) -> list[str]:
    """Write tradeoff.csv / tradeoff.svg and print the table; returns the file names."""
    from ..allocate.tradeoff import band_tradeoff, sweep_settings
    from ..report.charts.allocate import tradeoff_chart
    from ..report.export import save_chart
    from ._progress import progress_bar

    table = band_tradeoff(book, seg, bands=bands, seed=args.seed, progress=progress_bar("band trade-off"),
                          **sweep_settings(allocate_settings(args)))
    table.to_csv(out / "tradeoff.csv", index=False)
    save_chart(tradeoff_chart(table, band=args.band), out / "tradeoff.svg")
    print("band trade-off (no move limit):")
    for r in table.itertuples():
        print(f"  ±{r.band:.1%}: {r.accounts_moved:,} accounts moved ({r.moved_share_revenue:.1%} of owned revenue), "
              f"imbalance after {r.gini_after:.3f}, {'meets the band' if r.feasible else 'cannot meet the band'}"
              + (f" (same plan as ±{r.plan_from_band:.1%})" if r.plan_from_band != r.band else ""))
    return ["tradeoff.csv", "tradeoff.svg"]

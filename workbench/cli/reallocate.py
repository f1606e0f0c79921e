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
                   help="the --out folder of 'workbench segment' (or its segmentation/ subfolder), or any folder "
                        "with segments.csv (account_id, segment_id) and coverage.csv (segment_id, role, "
                        "hours_per_account)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    add_allocate_options(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the candidate sample (default 0)")
    p.add_argument("--tradeoff", nargs="?", const="default", default=None, metavar="BANDS",
                   help="also re-solve at each of these workload bands (comma separated shares; without a value "
                        "0.05 … 0.30) with the other settings as given and no move limit, and write tradeoff.csv "
                        "and tradeoff.svg: accounts moved and imbalance left per band")
    p.set_defaults(func=_main)


#: ``reallocate``'s own default (tests/test_allocate.py checks they agree), so `workbench reallocate`, `workbench
#: run` and Python plan alike; importing the engine here would slow every command's start
_DEFAULT_CANDIDATES = 12


def add_allocate_options(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """The reallocation settings, shared by ``workbench reallocate`` and ``workbench run``. With
    ``defaults=False`` (``run``) every option defaults to ``None``: only the flags given override the scenario
    file and the pipeline defaults."""
    def d(value):
        return value if defaults else None

    p.add_argument("--band", type=share("--band"), default=d(0.15),
                   help="workload band around target as a share (default 0.15)")
    p.add_argument("--max-move-share", type=share("--max-move-share"), default=None,
                   help="at most this share of owned accounts (or of their revenue, see --move-share-of) may change "
                        "owner (e.g. 0.2)")
    p.add_argument("--move-share-of", default=d("accounts"), choices=["accounts", "revenue"],
                   help="what --max-move-share counts: owned accounts (default) or their 12-month revenue")
    p.add_argument("--balance-on", default=None, choices=["revenue", "potential"],
                   help="also keep each manager's revenue (revenue_12m) or potential inside a band around a fair "
                        "share (the role's total shared out like its hours); default: workload only")
    p.add_argument("--balance-band", type=share("--balance-band"), default=d(0.2),
                   help="band of --balance-on around each manager's fair share, as a share (default 0.2 = ±20 %%)")
    p.add_argument("--candidates", type=whole("--candidates", 1), default=d(_DEFAULT_CANDIDATES), metavar="N",
                   help=f"managers considered per account, its current owner included (default "
                        f"{_DEFAULT_CANDIDATES}); more lets a tight band be met at the cost of a slower solve")
    p.add_argument("--lock", metavar="FILE", default=None,
                   help="CSV (any delimiter) with account_id and optional manager_id: accounts pinned to their owner "
                        "or to that manager")
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
                   help="CRM move files to write: salesforce, hubspot, dynamics, plain (comma separated; default "
                        "all; 'none' for none)")


def share(option: str):
    """An argparse type: a number, with the option named when it is none (argparse says only 'invalid float')."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} expects a share such as 0.15, got {text!r}") from None
        if not value >= 0:
            raise argparse.ArgumentTypeError(f"{option} must not be negative, got {text}")
        return value
    return parse


def whole(option: str, low: int = 0):
    """An argparse type: a whole number of at least ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} expects a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{option} must be at least {low}, got {value}")
        return value
    return parse


def allocate_settings(args: argparse.Namespace) -> dict:
    """The ``reallocate`` keyword arguments the allocation flags ask for; options left at ``None`` are omitted
    (``run`` then keeps the scenario file's value). The lock file is read here, events are parsed."""
    from ..allocate import parse_event

    out = {"band": args.band, "max_move_share": args.max_move_share, "move_share_of": args.move_share_of,
           "balance_on": args.balance_on, "balance_band": args.balance_band, "mode": args.mode,
           "candidates": args.candidates}
    out = {k: v for k, v in out.items() if v is not None}
    if args.lock:
        # records, as the app keeps them: they go into the scenario's parameters and kpis.json as they are
        locks = read_locks(args.lock)[0]
        out["locks"] = locks.astype(object).where(locks.notna(), None).to_dict("records")
    weights = {}
    for item in args.weight:
        key, eq, value = item.partition("=")
        try:
            number = float(value) if eq else None
        except ValueError:
            number = None
        if number is None:
            raise ValueError(f"--weight expects NAME=NUMBER (continuity=1, fit=2, balance=1), got {item!r}")
        weights[key.strip()] = number
    if weights:
        out["weights"] = weights
    if args.event:
        out["events"] = [parse_event(e) for e in args.event]
    return out


def read_locks(path: str):
    """A lock file as ``(account_id, manager_id)`` text and the data row number of each lock. Read like an import
    (encoding and delimiter detected, so a ';' file works); a file without an account_id column is one sentence
    naming what it has."""
    import numpy as np
    import pandas as pd

    from ..io import read_table

    lock_path = Path(path)
    if not lock_path.exists():
        raise FileNotFoundError(f"lock file {lock_path} does not exist")
    raw = read_table(lock_path)
    cols = {str(c).strip().lower(): c for c in raw.frame.columns}
    if "account_id" not in cols:
        raise ValueError(f"lock file {lock_path.name} needs an account_id column (and optionally manager_id); "
                         f"found: {', '.join(map(str, raw.frame.columns))}")
    if len(raw.bad_rows):
        r = raw.bad_rows.iloc[0]
        raise ValueError(f"lock file {lock_path.name} row {r['row']}: {r['rule']}")

    def text(col):
        if col is None:
            return pd.Series(pd.NA, index=raw.frame.index, dtype="string")
        s = raw.frame[col].astype("string").str.strip()
        return s.mask(s == "")

    df = pd.DataFrame({"account_id": text(cols["account_id"]), "manager_id": text(cols.get("manager_id"))})
    keep = df["account_id"].notna().to_numpy()
    return df[keep].reset_index(drop=True), np.asarray(raw.row_numbers)[keep]


def check_locks(book, path: str | None, settings: dict) -> None:
    """Each lock against the book before any work, naming the lock file's row: an account that is not in the
    book, a manager who is not in it (nor hired by an event), an unowned account with no manager to pin it to."""
    import pandas as pd

    if not path:
        return
    locks, rows = read_locks(path)
    name = Path(path).name

    def refuse(mask, what: str) -> None:
        if mask.any():
            bad = locks[mask]
            shown = "; ".join(f"row {r}: {what.format(**rec)}" for r, rec in
                              zip(rows[mask][:3], bad.to_dict("records")))
            more = f" (and {int(mask.sum()) - 3} more)" if mask.sum() > 3 else ""
            raise ValueError(f"lock file {name} {shown}{more}")

    acc = book.accounts.set_index(book.accounts["account_id"].astype("string"))["owner_id"]
    known = locks["account_id"].isin(acc.index).to_numpy()
    refuse(~known, "account {account_id} is not in the book")
    hires = [e for e in settings.get("events", []) if e.get("type") == "hire"]
    if all(e.get("manager_id") for e in hires):  # a hire without an id gets one from the plan: not checkable here
        ids = set(book.managers["manager_id"].astype(str)) | {str(e["manager_id"]) for e in hires}
        named = locks["manager_id"].notna().to_numpy()
        refuse(named & ~locks["manager_id"].isin(ids).fillna(False).to_numpy(bool),
               "manager {manager_id} is not in the managers table")
    owner = acc.reindex(locks["account_id"]).to_numpy()
    refuse(locks["manager_id"].isna().to_numpy() & known & pd.isna(owner).astype(bool),
           "account {account_id} has no owner to keep; name a manager in a manager_id column")


def needs_managers(book, settings: dict) -> None:
    """Reallocating needs someone to own the accounts: a book without managers (and no hire) is one sentence."""
    if len(book.managers) == 0 and not any(e.get("type") == "hire" for e in settings.get("events", [])):
        raise ValueError("the book has no managers, so its accounts cannot be reallocated: give the book a managers "
                         "file, or import the accounts with an owner column (or add a hire with --event hire:…); "
                         "'workbench segment' works without managers")


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
    """The CRM files asked for by ``--crm``, checked before any work (a typo must not cost a whole solve)."""
    from ..crm import SYSTEMS

    systems = tuple(x.strip().lower() for x in args.crm.split(",") if x.strip() and x.strip().lower() != "none")
    unknown = [x for x in systems if x not in SYSTEMS and x != "plain"]
    if unknown:
        raise ValueError(f"--crm: unknown CRM {unknown[0]!r}; expected {', '.join([*SYSTEMS, 'plain'])} or none")
    return systems


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
    from ..crm import write_move_files
    from ..results import save_result, split_timing
    from ._common import check_out, load_reported, make_out, write_rejections
    from ._progress import progress_bar

    t0 = time.perf_counter()
    # every option is checked before the solve: a typo must not cost minutes, nor leave half the files
    out = check_out(args.out)
    bands = parse_bands(args.tradeoff) if args.tradeoff else None
    systems = crm_systems(args)
    settings = allocate_settings(args)
    seg = load_segmentation(args.segments)
    book = load_reported(args.book, out)
    needs_managers(book, settings)
    check_locks(book, args.lock, settings)
    # thorough (the default) takes minutes on a big book: on a terminal a bar names the solver's stage
    asg = reallocate(book, seg, seed=args.seed, **settings, progress=progress_bar("workbench reallocate"))
    s = asg.stats
    warning = check_plan(s)
    make_out(out)
    asg.moves.to_csv(out / "moves.csv", index=False)
    asg.loads.to_csv(out / "managers.csv", index=False)
    payload, timing = split_timing({"params": asg.params, "stats": asg.stats})
    (out / "allocation.json").write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    save_result(asg, out / "assignment")
    files = write_move_files(asg, book, out, systems)
    print(f"book: {book.summary()}")
    print(f"moves: {moves_summary(asg)} ({s['moved_share_accounts']:.1%} of owned accounts, "
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
    written = ["moves.csv", "managers.csv", "allocation.json", "timing.json", "assignment/",
               *(f.name for f in files), *write_rejections(book, out)]
    if bands:
        written += _tradeoff(book, seg, bands, args, out, timing)
    (out / "timing.json").write_text(json.dumps(timing, indent=2, default=str), encoding="utf-8")
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


def _tradeoff(book, seg, bands: tuple[float, ...], args: argparse.Namespace, out: Path, timing: dict) -> list[str]:
    """Write tradeoff.csv / tradeoff.svg and print the table; returns the file names. The seconds per band go to
    ``timing`` (timing.json), so tradeoff.csv is the same for the same inputs."""
    from ..allocate.tradeoff import band_tradeoff, sweep_settings
    from ..report.charts.allocate import tradeoff_chart
    from ..report.export import save_chart
    from ._progress import progress_bar

    table = band_tradeoff(book, seg, bands=bands, seed=args.seed, progress=progress_bar("band trade-off"),
                          **sweep_settings(allocate_settings(args)))
    if "seconds" in table:
        timing["tradeoff_seconds"] = dict(zip(table["band"].map(lambda b: f"{b:g}"), table["seconds"]))
    table.drop(columns=["seconds"], errors="ignore").to_csv(out / "tradeoff.csv", index=False)
    save_chart(tradeoff_chart(table, band=args.band), out / "tradeoff.svg")
    print("band trade-off (no move limit):")
    for r in table.itertuples():
        print(f"  ±{r.band:.1%}: {r.accounts_moved:,} accounts moved ({r.moved_share_revenue:.1%} of owned revenue), "
              f"imbalance after {r.gini_after:.3f}, {'meets the band' if r.feasible else 'cannot meet the band'}"
              + (f" (same plan as ±{r.plan_from_band:.1%})" if r.plan_from_band != r.band else ""))
    return ["tradeoff.csv", "tradeoff.svg"]

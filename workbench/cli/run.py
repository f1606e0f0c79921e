"""``workbench run``: the whole flow on a book folder, writing segments.csv, moves.csv, managers.csv, kpis.json.

``workbench run SCENARIO.yaml --book DIR --out DIR`` takes the parameters from a scenario file (``--set`` and the
reallocation flags of ``workbench reallocate`` — ``--band``, ``--max-move-share``, ``--lock``, ``--event`` … —
still override them) and writes the CRM move files too; ``--save NAME [--publish] [--store PATH]`` also keeps the
run as a scenario in the store.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .reallocate import add_allocate_options, allocate_settings, check_plan, crm_systems


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="segment, reallocate and project KPIs for a book folder",
                       description="Run the whole flow on a canonical book folder and write the results and the CRM "
                                   "move files.")
    p.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO.yaml",
                   help="scenario file with the parameters (see 'workbench scenario export NAME --format yaml')")
    p.add_argument("--book", required=True, help="book folder (accounts, managers, optional revenue_history)")
    p.add_argument("--out", required=True, help="folder to write segments.csv, moves.csv, managers.csv, kpis.json")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a parameter, e.g. --set segment.k=5 --set allocate.band=0.1")
    add_allocate_options(p, defaults=False)
    p.add_argument("--save", default=None, metavar="NAME",
                   help="also save the run as scenario NAME in the scenario store (a new version if it exists)")
    p.add_argument("--publish", action="store_true", help="with --save: publish it to the dashboard")
    p.add_argument("--store", default=None, metavar="PATH",
                   help="scenario store for --save (default: $WORKBENCH_STORE or workspace/scenarios.sqlite)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..allocate import moves_summary
    from ..book import load_book
    from ..crm import write_move_files
    from ..pipeline import run, set_param, write_results
    from ..report.format import kpi_line
    from ..scenario import Scenario, ScenarioStore, default_store_path, read_yaml
    from ._progress import progress_bar

    if args.publish and not args.save:
        raise ValueError("--publish needs --save NAME")
    spec = read_yaml(Path(args.scenario)) if args.scenario else None
    params: dict = {k: dict(v) for k, v in spec.params.items()} if spec else {}
    for s in args.sets:
        set_param(params, s)
    # the reallocate flags (--band, --lock, --event, …) say the same as --set allocate.KEY=VALUE, in its words
    params.setdefault("allocate", {}).update(allocate_settings(args))
    t0 = time.perf_counter()
    bar = progress_bar("workbench run")
    bar("load", 0.0)
    book = load_book(args.book)
    # the pipeline reports segment / reallocate / project as 0 .. 1; loading and writing take the ends
    result = run(book, params, progress=lambda stage, f: bar(stage, 0.1 + 0.8 * f) if f < 1 else None)
    stats = result.assignment.stats
    warning = check_plan(stats)  # as `workbench reallocate`: refuses a plan that breaks the move limit
    bar("write", 0.9)
    out = write_results(result, args.out)
    crm = write_move_files(result.assignment, book, out, crm_systems(args))
    bar("done", 1.0)
    k = result.projection.kpis
    print(f"book: {book.summary()}")
    print(f"segments: {', '.join(f'{r.segment} ({r.n_accounts:,})' for r in result.segmentation.profiles.itertuples())}")
    if result.segmentation.quality.get("warning"):  # e.g. one segment because the features do not separate accounts
        print(f"warning: segments: {result.segmentation.quality['warning']}", file=sys.stderr)
    print(f"moves: {moves_summary(result.assignment.moves)}")
    for key in ("revenue_12m", "accounts_moved", "workload_imbalance"):
        if key in k:
            v = k[key]
            print(kpi_line(v))
    for note in stats.get("notes", []):
        print(f"note: {note}")
    files = ["segments.csv", "moves.csv", "managers.csv", "series.csv", "kpis.json", *(f.name for f in crm)]
    print(f"wrote {out}/{', '.join(files)} in {time.perf_counter() - t0:.1f} s")
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if spec is not None and spec.fingerprint and spec.fingerprint != book.fingerprint():
        print(f"note: {Path(args.scenario).name} was made on another book (fingerprint {spec.fingerprint}, "
              f"this book {book.fingerprint()})")
    if args.save:
        sc = Scenario.from_run(args.save, result, book, description=spec.description if spec else "",
                               author=spec.author if spec else "")
        store_path = Path(args.store) if args.store else default_store_path()
        with ScenarioStore(store_path) as store:
            version = store.save(sc, publish=args.publish)
        print(f"saved scenario {args.save!r} version {version}{' (published)' if args.publish else ''} "
              f"in {store_path}")
    return 0

"""``workbench run``: the whole flow on a book folder, writing the results, the CRM move files and the load report.

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

from .reallocate import (
    add_allocate_options,
    allocate_settings,
    check_locks,
    check_plan,
    crm_systems,
    needs_managers,
)

#: Monte Carlo draws of ``workbench run`` when neither --set kpi.draws nor the scenario file says: as ``workbench
#: project``, so kpis.json has P10/P50/P90 (the app and Python's run() default to 0 and draw on demand)
RUN_DRAWS = 1000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="segment, reallocate and project KPIs for a book folder",
                       description="Run the whole flow on a canonical book folder and write the results and the CRM "
                                   "move files.")
    p.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO.yaml",
                   help="scenario file with the parameters (see 'workbench scenario export NAME --format yaml')")
    p.add_argument("--book", required=True, help="book folder (accounts, managers, optional revenue_history)")
    p.add_argument("--out", required=True,
                   help="folder to write segments.csv, moves.csv (every move with reason code and revenue, as "
                        "'workbench reallocate' writes it), managers.csv, series.csv, kpis.json, timing.json (the "
                        "seconds each stage took, kept out of kpis.json so identical runs give identical files), "
                        "the CRM move files (see --crm) and, when the book's load rejected rows, rejected_rows.csv")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a parameter, e.g. --set segment.k=5 --set allocate.band=0.1; sections segment, "
                        "allocate, kpi take the keyword arguments of segment(), reallocate(), project(). "
                        f"kpi.draws defaults to {RUN_DRAWS} Monte Carlo draws (P10/P50/P90), as 'workbench project'")
    add_allocate_options(p, defaults=False)
    p.add_argument("--save", default=None, metavar="NAME",
                   help="also save the run as scenario NAME in the scenario store (a new version if it exists)")
    p.add_argument("--publish", action="store_true", help="with --save: publish it to the dashboard")
    p.add_argument("--store", default=None, metavar="PATH",
                   help="scenario store for --save (default: $WORKBENCH_STORE or workspace/scenarios.sqlite)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..allocate import moves_summary
    from ..crm import write_move_files
    from ..pipeline import RESULT_FILES, check_params, run, set_param, write_results
    from ..report.format import kpi_line
    from ..scenario import Scenario, ScenarioStore, default_store_path, read_yaml
    from ._common import check_out, load_reported, make_out, write_rejections
    from ._progress import progress_bar

    # every option is checked before any work: a typo must not cost a whole run, nor leave half the files behind
    if args.save is not None and not args.save.strip():
        raise ValueError("--save needs a scenario name, got an empty one")
    if args.publish and not args.save:
        raise ValueError("--publish needs --save NAME")
    out = check_out(args.out)
    store_path = Path(args.store) if args.store else default_store_path()
    if args.save:
        check_out(store_path.parent, "--store")
    systems = crm_systems(args)
    spec = read_yaml(Path(args.scenario)) if args.scenario else None
    params: dict = {k: dict(v) for k, v in spec.params.items()} if spec else {}
    for s in args.sets:
        set_param(params, s)
    # the reallocate flags (--band, --lock, --event, …) say the same as --set allocate.KEY=VALUE, in its words
    params.setdefault("allocate", {}).update(allocate_settings(args))
    params.setdefault("kpi", {}).setdefault("draws", RUN_DRAWS)
    check_params(params)
    t0 = time.perf_counter()
    bar = progress_bar("workbench run")
    bar("load", 0.0)
    book = load_reported(args.book, out)
    needs_managers(book, params["allocate"])
    check_locks(book, args.lock, params["allocate"])
    # the pipeline reports segment / reallocate / project as 0 .. 1; loading and writing take the ends
    result = run(book, params, progress=lambda stage, f: bar(stage, 0.1 + 0.8 * f) if f < 1 else None)
    stats = result.assignment.stats
    warning = check_plan(stats)  # as `workbench reallocate`: refuses a plan that breaks the move limit
    bar("write", 0.9)
    make_out(out)
    write_results(result, out)
    crm = write_move_files(result.assignment, book, out, systems)
    rejected = write_rejections(book, out)
    bar("done", 1.0)
    k = result.projection.kpis
    print(f"book: {book.summary()}")
    print(f"segments: {', '.join(f'{r.segment} ({r.n_accounts:,})' for r in result.segmentation.profiles.itertuples())}")
    if result.segmentation.quality.get("warning"):  # e.g. one segment because the features do not separate accounts
        print(f"warning: segments: {result.segmentation.quality['warning']}", file=sys.stderr)
    print(f"moves: {moves_summary(result.assignment)}")
    for key in ("revenue_12m", "accounts_moved", "workload_imbalance"):
        if key in k:
            v = k[key]
            print(kpi_line(v))
    for note in stats.get("notes", []):
        print(f"note: {note}")
    files = [*RESULT_FILES, *(f.name for f in crm), *rejected]
    print(f"wrote {out}/{', '.join(files)} in {time.perf_counter() - t0:.1f} s")
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if spec is not None and spec.fingerprint and spec.fingerprint != book.fingerprint():
        print(f"note: {Path(args.scenario).name} was made on another book (fingerprint {spec.fingerprint}, "
              f"this book {book.fingerprint()})")
    if args.save:
        sc = Scenario.from_run(args.save, result, book, description=spec.description if spec else "",
                               author=spec.author if spec else "")
        with ScenarioStore(store_path) as store:
            version = store.save(sc, publish=args.publish)
        print(f"saved scenario {args.save!r} version {version}{' (published)' if args.publish else ''} "
              f"in {store_path}")
    return 0

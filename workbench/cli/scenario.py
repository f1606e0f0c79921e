"""``workbench scenario``: list, show, publish, unpublish, delete, restore, compare and export stored scenarios."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import CliError
from ._progress import progress_bar

_FORMATS = ("xlsx", "html", "yaml", "svg", "png", "crm")


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", default=None, metavar="PATH",
                        help="scenario store file (default: $WORKBENCH_STORE or workspace/scenarios.sqlite)")
    p = sub.add_parser("scenario", help="manage stored scenarios (list, show, publish, compare, export)",
                       description="Manage the scenarios in a scenario store.")
    cmds = p.add_subparsers(dest="action", metavar="ACTION")
    def _help(_args) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_help)

    c = cmds.add_parser("list", parents=[common], help="list scenarios (latest version of each)")
    c.add_argument("--published", action="store_true", help="only published scenarios (their published version)")
    c.add_argument("--all", action="store_true", help="include soft-deleted scenarios")
    c.set_defaults(func=_list)

    c = cmds.add_parser("show", parents=[common], help="show one scenario: header, KPIs, parameters, history")
    c.add_argument("name")
    c.add_argument("--version", type=int, default=None, help="version to show (default: latest)")
    c.set_defaults(func=_show)

    for action, text in (("publish", "make the scenario visible in the dashboard (pins this version)"),
                         ("unpublish", "hide the scenario from the dashboard"),
                         ("delete", "soft delete (versions are kept; 'restore' brings it back)"),
                         ("restore", "undo a soft delete")):
        c = cmds.add_parser(action, parents=[common], help=text)
        c.add_argument("name")
        if action == "publish":
            c.add_argument("--version", type=int, default=None, help="version to publish (default: latest)")
        c.set_defaults(func=_change, action=action)

    c = cmds.add_parser("compare", parents=[common], help="compare two or more scenarios side by side")
    c.add_argument("names", nargs="+", metavar="NAME", help="scenario names; NAME@V picks version V")
    c.add_argument("--out", default=None, help="also write the comparison as a self-contained .html report")
    c.set_defaults(func=_compare)

    c = cmds.add_parser("export", parents=[common], help="export a scenario: xlsx, html, yaml, svg/png charts, or crm owner-update files")
    c.add_argument("name", help="scenario name; NAME@V picks version V")
    c.add_argument("--format", choices=_FORMATS, default=None,
                   help="xlsx (workbook), html (offline report), yaml (parameters), svg/png (charts into --out folder),"
                        " crm (CRM owner-update files into --out folder; needs --book); default: from the --out extension")
    c.add_argument("--book", default=None, help="with --format crm: the book folder the scenario was computed on")
    c.add_argument("--out", required=True, help="output file (a folder for svg/png)")
    c.add_argument("--pseudonymise", action="store_true",
                   help="replace account and manager names and ids with stable aliases")
    c.set_defaults(func=_export)


def _open(args, read_only: bool = True):
    from ..scenario import ScenarioStore, default_store_path

    path = Path(args.store) if args.store else default_store_path()
    if read_only and not path.exists():
        raise CliError(f"no scenario store at {path} (save one with 'workbench run ... --save NAME', "
                       "or pass --store PATH)")
    return ScenarioStore(path, read_only=read_only)


def _split(ref: str) -> tuple[str, int | None]:
    name, at, version = ref.rpartition("@")
    if at and version.isdigit() and name:
        return name, int(version)
    return ref, None


def _list(args) -> int:
    with _open(args) as store:
        df = store.list(published_only=args.published, include_deleted=args.all)
    if df.empty:
        print("no scenarios" + (" published" if args.published else ""))
        return 0
    show = df[["name", "version", "versions", "published", "author", "saved_at", "revenue_12m", "accounts_moved"]]
    if args.all:
        show = show.assign(deleted=df["deleted"])
    print(show.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    return 0


def _show(args) -> int:
    from ..allocate import moves_summary
    from ..compare import flatten_params
    from ..report.format import kpi_display

    with _open(args) as store:
        sc = store.load(args.name, version=args.version)
        hist = store.history(args.name)
    print(f"{sc.name}  (version {sc.version}{', published' if sc.published else ''})")
    for label, value in (("description", sc.description), ("author", sc.author), ("created", sc.created),
                         ("saved", sc.saved_at), ("book", sc.book_summary), ("fingerprint", sc.fingerprint)):
        if value:
            print(f"  {label}: {value}")
    if sc.has_results:
        print("\nKPIs")
        print(kpi_display(sc.projection.kpis).to_string(index=False))
        # in the KPIs' words: "334 moves" stood under "Accounts moved 309"
        print(f"\nmoves: {len(sc.assignment.moves):,} ({moves_summary(sc.assignment)})")
    print("\nparameters")
    for key, value in flatten_params(sc.params).items():
        print(f"  {key} = {value}")
    print("\nhistory")
    print(hist.to_string(index=False))
    return 0


def _change(args) -> int:
    with _open(args, read_only=False) as store:
        if args.action in ("restore", "delete"):
            # the store's "No scenario named" would be wrong for a scenario that is there but not in that state
            every = store.list(include_deleted=True)
            row = every[every["name"] == args.name]
            if len(row) and args.action == "restore" and not row["deleted"].iloc[0]:
                raise CliError(f"scenario {args.name!r} is not deleted; there is nothing to restore")
            if len(row) and args.action == "delete" and row["deleted"].iloc[0]:
                raise CliError(f"scenario {args.name!r} is already deleted ('workbench scenario restore "
                               f"{args.name}' brings it back)")
        if args.action == "publish":
            v = store.publish(args.name, getattr(args, "version", None))
            print(f"published {args.name} version {v}")
        else:
            getattr(store, args.action)(args.name)
            print(f"{args.action}d {args.name}" if args.action != "unpublish" else f"unpublished {args.name}")
    return 0


def _compare(args) -> int:
    from ..compare import compare
    from ..report.export import export_html
    from ..report.format import comparison_display

    if len(args.names) < 2:
        raise CliError("compare needs at least two scenario names")
    with _open(args) as store:
        scenarios = [store.load(n, version=v) for n, v in map(_split, args.names)]
    cmp = compare(scenarios)
    for w in cmp.warnings:
        print(f"warning: {w}")
    for n in cmp.notes:
        print(f"note: {n}")
    print("KPIs")
    print(comparison_display(cmp).to_string(index=False))
    print("\nmove lists")
    print(cmp.overlap.to_string(index=False, float_format=lambda v: f"{v:.0%}"))
    print("\nparameters that differ")
    print(cmp.param_diff.drop(columns=["differs"]).to_string(index=False) if len(cmp.param_diff) else "  none")
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() != ".html":
            raise CliError(f"--out must name an .html file, got {out.name}")
        print(f"\nwrote {export_html(cmp, out, progress=progress_bar('comparison report'))}")
    return 0


def _export(args) -> int:
    from ..report.export import export_excel, export_html, save_chart, scenario_charts
    from ..scenario import pseudonymise

    out = Path(args.out)
    fmt = args.format or out.suffix.lower().lstrip(".")
    if fmt == "yml":
        fmt = "yaml"
    if fmt not in _FORMATS:
        raise CliError(f"cannot tell the format from {out.name}; pass --format ({', '.join(_FORMATS)})")
    if fmt == "crm" and args.pseudonymise:
        raise CliError("CRM move files need the real ids; --pseudonymise cannot be used with --format crm")
    name, version = _split(args.name)
    with _open(args) as store:
        sc = store.load(name, version=version)
        salt = store.alias_salt
    if args.pseudonymise:
        sc = pseudonymise(sc, salt)
    if fmt == "crm":
        return _export_crm(sc, args.book, out)
    if fmt == "yaml":
        sc.to_yaml(out)
        print(f"wrote {out}")
        return 0
    if fmt == "xlsx":
        path = export_excel(sc, out, progress=progress_bar(f"export {name}"))
    elif fmt == "html":
        path = export_html(sc, out, progress=progress_bar(f"export {name}"))
    else:
        out.mkdir(parents=True, exist_ok=True)
        charts = scenario_charts(sc)
        say = progress_bar(f"charts {name}")
        for i, (key, chart) in enumerate(charts.items()):
            save_chart(chart, out / f"{key}.{fmt}")
            say(key, (i + 1) / len(charts))
        path = out
    print(f"wrote {path}")
    return 0


def _export_crm(sc, book_dir: str | None, out: Path) -> int:
    """CRM move files need the book's source ids, which a scenario does not keep: the same book must be given."""
    from ..book import load_book
    from ..crm import write_move_files

    if not book_dir:
        raise CliError("--format crm needs --book DIR (the book the scenario was computed on, for the CRM ids)")
    if not sc.has_results:
        raise CliError(f"scenario {sc.name!r} holds parameters only; nothing to export")
    book = load_book(book_dir)
    if sc.fingerprint and book.fingerprint() != sc.fingerprint:
        raise CliError(f"{book_dir} is not the book scenario {sc.name!r} was computed on "
                       f"(fingerprint {book.fingerprint()}, scenario {sc.fingerprint})")
    for path in write_move_files(sc.assignment, book, out):
        print(f"wrote {path}")
    return 0

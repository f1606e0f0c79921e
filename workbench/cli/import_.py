"""``workbench import``: CRM export files → a canonical book folder (Parquet) plus ``import_report.json``."""

from __future__ import annotations

import argparse
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import CRM export files into a canonical book folder",
                       description="Read a CRM export (CSV, Excel, Parquet; Salesforce, HubSpot, Dynamics or generic), "
                                   "validate it and write the canonical book as Parquet with import_report.json.")
    p.add_argument("path", help="accounts export file")
    p.add_argument("--managers", help="managers / users file (default: derived from the owners seen)")
    p.add_argument("--history", help="monthly revenue history, long or wide form")
    p.add_argument("--pipeline", help="opportunities file: derive one owner per account and revenue from won deals")
    p.add_argument("--preset", default="auto", choices=["auto", "salesforce", "hubspot", "dynamics", "generic"],
                   help="column preset (default: detected from the headers)")
    p.add_argument("--mapping", help="YAML mapping file overriding columns, values and constants")
    p.add_argument("--sheet", help="Excel sheet name (default: first visible sheet)")
    p.add_argument("--no-harmonise", action="store_true", help="keep countries and industries as they came")
    p.add_argument("--currency", default="EUR", help="currency of the revenue figures (default EUR)")
    p.add_argument("--out", required=True, help="book folder to write")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..book import save_book
    from ..io import import_book

    t0 = time.perf_counter()
    book = import_book(args.path, managers=args.managers, history=args.history, pipeline=args.pipeline,
                       preset=args.preset, mapping=args.mapping, sheet=args.sheet,
                       harmonise=not args.no_harmonise, currency=args.currency)
    out = save_book(book, args.out, fmt="parquet")
    rep = book.report
    for f in rep.files:
        det = f.get("detected") or {}
        what = ", ".join(f"{k} {det[k]}" for k in ("preset", "encoding", "delimiter", "decimal", "sheet") if k in det)
        print(f"{f['file']}: {f['rows_read']:,} read, {f['rows_accepted']:,} accepted, "
              f"{f['rows_rejected']:,} rejected" + (f" ({what})" if what else ""))
    for w in rep.warnings:
        print(f"warning: {w}")
    for n in rep.notes:
        print(f"note: {n}")
    if len(rep.rejections):
        print(f"{len(rep.rejections):,} rejection reasons in {out}/import_report.json")
    print(f"book: {book.summary()}")
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    return 0

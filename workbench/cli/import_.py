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
    p.add_argument("--currency", default=None,
                   help="currency of the revenue figures (ISO code; default: found in the file, else EUR with a note)")
    p.add_argument("--find-duplicates", action="store_true",
                   help="write duplicate candidate pairs (score, evidence) to duplicate_candidates.csv for review")
    p.add_argument("--merge-above", type=float, metavar="SCORE",
                   help="merge duplicate candidates scoring at least SCORE (0-100; every source id is kept)")
    p.add_argument("--out", required=True, help="book folder to write")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..book import save_book
    from ..io import import_book

    if args.merge_above is not None and not 0 <= args.merge_above <= 100:
        raise ValueError(f"--merge-above must be a score between 0 and 100, got {args.merge_above:g}")
    t0 = time.perf_counter()
    book = import_book(args.path, managers=args.managers, history=args.history, pipeline=args.pipeline,
                       preset=args.preset, mapping=args.mapping, sheet=args.sheet,
                       harmonise=not args.no_harmonise, currency=args.currency)
    cand = None
    if args.find_duplicates or args.merge_above is not None:
        from ..harmonize import find_duplicates, merge_book

        threshold = 92.0 if args.merge_above is None else min(92.0, args.merge_above)
        cand = find_duplicates(book.accounts, threshold=threshold)
        accepted = cand[cand["score"] >= args.merge_above] if args.merge_above is not None else cand.head(0)
        if len(accepted):
            book = merge_book(book, accepted)
    out = save_book(book, args.out, fmt="parquet")
    rep = book.report
    if len(rep.rejections):
        from ..io import rejections_csv

        (out / "rejected_rows.csv").write_bytes(rejections_csv(rep))
    if cand is not None:
        cand.to_csv(out / "duplicate_candidates.csv", index=False)
        print(f"{len(cand):,} duplicate candidate pairs written to {out}/duplicate_candidates.csv")
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
        from ._common import first_reasons

        print(f"{rep.rows_rejected:,} rejected rows ({len(rep.rejections):,} reasons) in {out}/rejected_rows.csv "
              f"(first: {first_reasons(rep)})")
    print(f"book: {book.summary()}")
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    return 0

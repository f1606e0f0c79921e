"""What the commands that take a book folder share: the load report on stderr, rejected rows beside the results,
and an output folder checked before any work."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from . import CliError

#: how many rejection reasons the one-line load report quotes
FIRST_REASONS = 3
REJECTED_FILE = "rejected_rows.csv"


def _quote(value, width: int = 40) -> str:
    text = "" if value is None else str(value)
    return f"'{text[:width - 1]}…'" if len(text) > width else f"'{text}'"


def first_reasons(report, n: int = FIRST_REASONS) -> str:
    """``"accounts.csv row 3, revenue_12m 'abc': not a number (float); row 7, …"``: the first ``n`` rejected rows
    with file, row (data rows, header not counted), column, value and rule."""
    rej = report.rejections.drop_duplicates(["file", "row"]).head(n)
    first, last_file = [], None
    for r in rej.itertuples(index=False):
        where = f"{r.file} row {r.row}" if r.file != last_file else f"row {r.row}"
        last_file = r.file
        what = f"{r.column} {_quote(r.value)}: {r.rule}" if r.column else str(r.rule)
        first.append(f"{where}, {what}")
    return "; ".join(first) + ("; …" if report.rows_rejected > len(rej) else "")


def report_lines(book, out: Path | None) -> list[str]:
    """The load report for stderr, one line each: rows read / accepted / rejected with the first reasons (only
    when rows were rejected), then every warning. Nothing for a clean book."""
    rep = book.report
    lines = []
    if rep.rows_rejected:
        where = (f"every reason goes to {out / REJECTED_FILE} with the results" if out is not None
                 else "see the book's rejected_rows.csv")
        lines.append(f"book: {rep.rows_read:,} rows read, {rep.rows_accepted:,} accepted, {rep.rows_rejected:,} "
                     f"rejected (first: {first_reasons(rep)}); {where}")
    lines += [f"warning: book: {w}" for w in rep.warnings]
    return lines


def load_reported(folder: str, out: str | Path | None = None):
    """``load_book(folder)`` with its report on stderr (see ``report_lines``); rows are data rows, the header not
    counted, as in ``rejected_rows.csv``."""
    from ..book import load_book

    book = load_book(folder)
    for line in report_lines(book, Path(out) if out is not None else None):
        print(line, file=sys.stderr)
    return book


def write_rejections(book, out: Path) -> list[str]:
    """``rejected_rows.csv`` (the import's format) in ``out`` when the book's load rejected rows; the file names
    written."""
    if not len(book.report.rejections):
        return []
    from ..io import rejections_csv

    (out / REJECTED_FILE).write_bytes(rejections_csv(book.report))
    return [REJECTED_FILE]


def check_out(path: str | Path, option: str = "--out") -> Path:
    """The output folder, checked before any work so that a run never fails at its end for want of a place to
    write: it is a folder or can be made in the nearest existing one. Nothing is created here."""
    out = Path(path)
    if str(path).strip() == "":
        raise CliError(f"{option} needs a folder name")
    if out.exists() and not out.is_dir():
        raise CliError(f"{option} {out} is a file, not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise CliError(f"{option} {out} cannot be made: {parent} is a file, not a folder")
    if not out.exists():
        # a trial folder, removed at once: permission bits do not tell (root may write anywhere, /proc refuses all)
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".workbench-check-", dir=parent))
        except OSError as exc:
            raise CliError(f"{option} {out} cannot be made in {parent}: {exc.strerror or exc}") from None
    elif not os.access(out, os.W_OK | os.X_OK):
        raise CliError(f"{option} {out} cannot be written: no permission")
    return out


def make_out(path: Path, option: str = "--out") -> Path:
    """Create the output folder; a refusal of the system (a read-only or virtual file system) is one sentence."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"{option} {path} cannot be made: {exc.strerror or exc}") from None
    return path

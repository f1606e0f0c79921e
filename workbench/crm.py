"""Move files the client's CRM can import: owner updates for Salesforce, HubSpot, Dynamics 365, and a plain CSV.

Every file holds one row per account that changes owner, keyed by the ids the CRM knows (``source_id`` of the
account and of the manager, kept at import). Where a source id is missing (a new hire, an account typed in by
hand) the row goes to ``needs_source_ids.csv`` instead of into a file the CRM would reject.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from .book import AccountBook
from .results import Assignment

__all__ = ["SYSTEMS", "MISSING_IDS", "move_table", "move_files", "move_files_zip", "write_move_files"]

#: the moves a CRM file leaves out (no source id for the account or the new owner), for someone to resolve
MISSING_IDS = "needs_source_ids.csv"

# file name and columns per CRM; the value is (file name, {output column: move_table column}, constant columns)
SYSTEMS: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    # Salesforce Data Loader "Update" on Account: Id + OwnerId (18-character user id)
    "salesforce": ("salesforce_account_owner_update.csv", {"Id": "account_source_id", "OwnerId": "owner_source_id"},
                   {}),
    # HubSpot companies import: "Record ID" matches the existing company, "Company owner" takes owner id or email
    "hubspot": ("hubspot_company_owner_import.csv", {"Record ID": "account_source_id",
                                                     "Company owner": "owner_source_id"}, {}),
    # Dynamics 365 Data Import (Account): primary key + owner lookup to a user record
    "dynamics": ("dynamics365_account_owner_import.csv", {"accountid": "account_source_id",
                                                          "ownerid": "owner_source_id"},
                 {"owneridtype": "systemuser"}),
}


def move_table(assignment: Assignment, book: AccountBook) -> pd.DataFrame:
    """The moves joined with the CRM ids and names: one row per account whose owner changes.

    Columns: ``account_id``, ``account_name``, ``account_source_id``, ``from_manager``, ``from_name``,
    ``to_manager``, ``to_name``, ``owner_source_id``, ``reason``.
    """
    acc = book.accounts
    a = acc.set_index(acc["account_id"].astype(str))
    src = a["source_id"] if "source_id" in a else pd.Series(pd.NA, index=a.index, dtype="string")
    m = book.managers.set_index(book.managers["manager_id"].astype(str))
    msrc = m["source_id"] if "source_id" in m else pd.Series(pd.NA, index=m.index, dtype="string")
    mv = assignment.moves
    ids = mv["account_id"].astype(str).to_numpy()
    to = mv["to_manager"].astype("string").fillna("").to_numpy()
    names = m["name"].astype("string")
    if "to_name" in mv:
        to_name = mv["to_name"].astype("string")
    else:
        to_name = pd.Series(names.reindex(to).to_numpy(), dtype="string")
    return pd.DataFrame({
        "account_id": pd.Series(ids, dtype="string"),
        "account_name": pd.Series(a["name"].reindex(ids).to_numpy(), dtype="string"),
        "account_source_id": pd.Series(src.reindex(ids).to_numpy(), dtype="string"),
        "from_manager": mv["from_manager"].astype("string").to_numpy(),
        "from_name": pd.Series(names.reindex(mv["from_manager"].astype("string").fillna("").to_numpy()).to_numpy(),
                               dtype="string"),
        "to_manager": pd.Series(to, dtype="string"),
        "to_name": to_name.to_numpy(),
        "owner_source_id": pd.Series(msrc.reindex(to).to_numpy(), dtype="string"),
        "reason": mv["reason"].astype("string").to_numpy(),
    })


def move_files(assignment: Assignment, book: AccountBook,
               systems: tuple[str, ...] = ("salesforce", "hubspot", "dynamics", "plain")) -> dict[str, pd.DataFrame]:
    """The owner-update files for the CRMs in ``systems``, by file name, in the order of ``systems``; plus
    ``needs_source_ids.csv`` (the moves a CRM file leaves out for want of a source id) when there are any.

    Parameters
    ----------
    assignment : the plan whose moves are written.
    book : the book the plan was made for (source ids and names).
    systems : any of ``"salesforce"``, ``"hubspot"``, ``"dynamics"``, ``"plain"``.
    """
    unknown = [s for s in systems if s not in SYSTEMS and s != "plain"]
    if unknown:
        raise ValueError(f"unknown CRM {unknown[0]!r}; expected {', '.join([*SYSTEMS, 'plain'])}")
    table = move_table(assignment, book)
    ok = table["account_source_id"].notna() & table["owner_source_id"].notna()
    files: dict[str, pd.DataFrame] = {}
    for system in systems:
        if system == "plain":
            files["moves_plain.csv"] = table
            continue
        name, cols, const = SYSTEMS[system]
        out = pd.DataFrame({col: table.loc[ok, src].to_numpy() for col, src in cols.items()})
        for col, value in const.items():
            out[col] = value
        files[name] = out
    if (~ok).any():
        files[MISSING_IDS] = table.loc[~ok]
    return files


def move_files_zip(assignment: Assignment, book: AccountBook,
                   systems: tuple[str, ...] = ("salesforce", "hubspot", "dynamics", "plain")) -> bytes:
    """``move_files`` as one ZIP archive of UTF-8 CSVs (what the app hands to the browser)."""
    buf = io.BytesIO()
    # a fixed date on every member: the same plan gives the same archive, byte for byte
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, frame in move_files(assignment, book, systems).items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), frame.to_csv(index=False))
    return buf.getvalue()


def write_move_files(assignment: Assignment, book: AccountBook, folder: str | Path,
                     systems: tuple[str, ...] = ("salesforce", "hubspot", "dynamics", "plain")) -> list[Path]:
    """Write one owner-update file per CRM in ``systems`` (plus ``needs_source_ids.csv`` when ids are missing).

    Parameters
    ----------
    assignment : the plan whose moves are written.
    book : the book the plan was made for (source ids and names).
    folder : output folder (created).
    systems : any of ``"salesforce"``, ``"hubspot"``, ``"dynamics"``, ``"plain"``.

    Returns
    -------
    The paths written, in the order of ``systems``.
    """
    files = move_files(assignment, book, systems)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in files.items():
        path = folder / name
        frame.to_csv(path, index=False, encoding="utf-8")
        paths.append(path)
    if MISSING_IDS not in files:
        (folder / MISSING_IDS).unlink(missing_ok=True)
    return paths

"""Owners and managers when the export does not give them directly.

A pipeline (opportunities) file names many agents per account; :func:`derive_owners` picks one by a
documented rule. Managers come from their own file (mapped like accounts) or are derived from the owners
seen. Capacity that no file gives is filled with :data:`DEFAULT_CAPACITY_HOURS` and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ImportFileError
from .presets import MANAGER_SYNONYMS, normalise_header, suggest_mapping
from .readers import RawTable, parse_dates, parse_numbers

__all__ = ["DEFAULT_CAPACITY_HOURS", "OWNER_RULE", "PipelineColumns", "pipeline_columns", "derive_owners",
           "won_revenue", "map_managers", "managers_from_owners"]

#: Hours per year an account manager has for account work when no file says so: about 220 working days
#: × 8 h minus internal time (≈ 10 %); typical planning values are 1,400–1,800 h.
DEFAULT_CAPACITY_HOURS = 1600.0

OWNER_RULE = ("owner = the agent with the largest won value in the 12 months up to the last close date in the "
              "pipeline; accounts without a won deal in that window: largest won value over all data; "
              "without any won deal: the agent with the most opportunities (ties: alphabetical)")

_PIPE_SYNONYMS = {
    "account": ("account_id", "accountid", "account id", "account", "account name", "company", "customer"),
    "agent": ("sales_agent", "sales agent", "ownerid", "owner id", "owner", "agent", "opportunity owner",
              "sales rep"),
    "stage": ("deal_stage", "deal stage", "stagename", "stage", "status"),
    "won": ("iswon", "is won", "won"),
    "close_date": ("close_date", "closedate", "close date", "closed", "won date"),
    "value": ("close_value", "amount", "value", "deal value", "revenue", "close value"),
}


@dataclass
class PipelineColumns:
    """Which pipeline headers hold the account, the agent, the stage or won flag, the close date and the value."""

    account: str
    agent: str
    close_date: str | None
    value: str | None
    stage: str | None = None
    won: str | None = None


def pipeline_columns(headers: list[str], file: str) -> PipelineColumns:
    """Find the pipeline columns by header synonyms.

    Raises
    ------
    ImportFileError : no account or no agent column.
    """
    sugg = suggest_mapping(headers, targets=_PIPE_SYNONYMS)
    found = {r.target: r.source for r in sugg.itertuples() if r.source}
    for need in ("account", "agent"):
        if need not in found:
            raise ImportFileError(f"{file} has no {need} column for a pipeline; expected one of "
                                  f"{', '.join(_PIPE_SYNONYMS[need][:4])}.")
    return PipelineColumns(found["account"], found["agent"], found.get("close_date"), found.get("value"),
                           found.get("stage"), found.get("won"))


def _won_mask(raw: pd.DataFrame, cols: PipelineColumns) -> np.ndarray:
    if cols.won:
        return raw[cols.won].astype("string").str.strip().str.lower().isin(["true", "1", "yes", "ja", "x"]).to_numpy()
    if cols.stage:
        return raw[cols.stage].astype("string").str.contains(r"\bwon\b|gewonnen", case=False, regex=True,
                                                            na=False).to_numpy()
    return np.ones(len(raw), bool)


def _pipeline_frame(raw: RawTable, account_key: pd.Series, cols: PipelineColumns) -> pd.DataFrame:
    """Pipeline rows with the account resolved to ``account_id``; rows for unknown/empty accounts dropped.

    Cached in ``raw.cache`` per account key, since owners and revenue both need it."""
    cached = raw.cache.get("pipeline")
    if cached is not None and cached[0] is account_key:
        return cached[1]
    df = raw.frame
    dec = "," if raw.detected.get("decimal") == "comma" else "."
    value = parse_numbers(df[cols.value], dec) if cols.value else pd.Series(0.0, index=df.index)
    value = pd.to_numeric(value, errors="coerce").fillna(0.0)
    close = parse_dates(df[cols.close_date]) if cols.close_date else pd.Series(pd.NaT, index=df.index)
    key = df[cols.account].astype("string").str.strip()
    out = pd.DataFrame({"account_id": key.map(account_key).astype("string"),
                        "agent": df[cols.agent].astype("string").str.strip(),
                        "won": _won_mask(df, cols), "close": close, "value": value})
    out = out[out["account_id"].notna() & out["agent"].notna()]
    raw.cache["pipeline"] = (account_key, out)
    return out


def derive_owners(raw: RawTable, account_key: pd.Series) -> tuple[pd.Series, dict]:
    """One owner per account from a pipeline by :data:`OWNER_RULE`.

    Parameters
    ----------
    raw : the pipeline file as read.
    account_key : maps the pipeline's account values (ids, source ids or names) to ``account_id``.

    Returns
    -------
    (Series ``account_id`` → owner (agent as named in the pipeline), facts for the report: window, counts)
    """
    cols = pipeline_columns(list(raw.frame.columns), raw.file)
    p = _pipeline_frame(raw, account_key, cols)
    end = p["close"].max()
    start = end - pd.DateOffset(months=12) if pd.notna(end) else pd.NaT
    recent = p["won"] & (p["close"] > start) if pd.notna(end) else p["won"]

    def best(frame: pd.DataFrame, weight: str) -> pd.Series:
        g = frame.groupby(["account_id", "agent"], sort=True)[weight].sum().reset_index()
        g = g.sort_values(["account_id", weight, "agent"], ascending=[True, False, True], kind="stable")
        return g.drop_duplicates("account_id").set_index("account_id")["agent"]

    by_recent = best(p[recent], "value")
    by_all = best(p[p["won"]], "value")
    by_count = best(p.assign(n=1), "n")
    owner = by_recent.combine_first(by_all).combine_first(by_count)
    facts = {"rule": OWNER_RULE, "window_end": None if pd.isna(end) else str(end.date()),
             "from_recent_won": int(len(by_recent)),
             "from_all_won": int(len(by_all.index.difference(by_recent.index))),
             "from_count": int(len(owner) - len(by_all.index.union(by_recent.index))),
             "agents": int(p["agent"].nunique()), "rows_used": int(len(p)), "rows_read": int(len(raw.frame)),
             "unmatched_rows": int(len(raw.frame) - len(p))}
    return owner, facts


def won_revenue(raw: RawTable, account_key: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """Won value per account in the last 12 months of the pipeline, and the monthly won history (long form)."""
    cols = pipeline_columns(list(raw.frame.columns), raw.file)
    p = _pipeline_frame(raw, account_key, cols)
    p = p[p["won"] & p["close"].notna()]
    end = p["close"].max()
    rev = (p[p["close"] > end - pd.DateOffset(months=12)].groupby("account_id")["value"].sum()
           if len(p) else pd.Series(dtype="float64"))
    hist = (p.assign(period=p["close"].dt.to_period("M").dt.to_timestamp())
            .groupby(["account_id", "period"], as_index=False, sort=True)["value"].sum()
            .rename(columns={"value": "revenue"}))
    return rev, hist


def map_managers(raw: RawTable) -> tuple[pd.DataFrame, dict, list[str]]:
    """Managers file → canonical managers columns (+ ``team_manager`` and extras); with mapping and notes.

    A file with only names (Maven ``sales_teams``: ``sales_agent, manager, regional_office``) uses the name as
    ``manager_id``; missing capacity is filled with :data:`DEFAULT_CAPACITY_HOURS` and said so.
    """
    headers = list(raw.frame.columns)
    sugg = suggest_mapping(headers, targets=MANAGER_SYNONYMS)
    m = {r.target: r.source for r in sugg.itertuples() if r.source}
    # in a team file, 'manager' is the team lead of the agent named in the row, not the row's own name
    agent_col = next((h for h in headers if normalise_header(h) in ("salesagent", "agent")), None)
    if agent_col:
        m["name"] = agent_col
        mgr = next((h for h in headers if normalise_header(h) == "manager"), None)
        if mgr:
            m["team_manager"] = mgr
    if "team_manager" in m and m["team_manager"] == m.get("name"):
        m.pop("team_manager")
    if "name" not in m and "manager_id" not in m:
        raise ImportFileError(f"{raw.file} has no manager id or name column; found: {', '.join(headers)}.")
    notes: list[str] = []
    df = raw.frame
    out = pd.DataFrame(index=df.index)
    for target, src in m.items():
        out[target] = df[src]
    by_name = "manager_id" not in out
    if by_name:
        out["manager_id"] = out["name"]
        notes.append(f"{raw.file}: no manager id column; the name is used as manager_id")
    if "name" not in out:
        out["name"] = out["manager_id"]
        notes.append(f"{raw.file}: no name column; each manager's id is used as its name")
    for col in ("capacity_hours", "cost"):
        if col in out:
            out[col] = parse_numbers(out[col], "," if raw.detected.get("decimal") == "comma" else ".",
                                     {"dot": ".", "comma": ","}.get(raw.detected.get("thousands", "none")))
    if "capacity_hours" not in out:
        out["capacity_hours"] = DEFAULT_CAPACITY_HOURS
        notes.append(f"{raw.file}: no capacity column; every manager gets {DEFAULT_CAPACITY_HOURS:,.0f} hours/year")
    else:
        blank = out["capacity_hours"].isna()
        if blank.any():
            out.loc[blank, "capacity_hours"] = DEFAULT_CAPACITY_HOURS
            notes.append(f"{raw.file}: capacity missing for {int(blank.sum())} managers; "
                         f"{DEFAULT_CAPACITY_HOURS:,.0f} hours/year assumed")
    if "source_id" not in out and by_name:
        # a person's name is no CRM user id: an OwnerId "Rosie Papadopoulos" would only fail at the CRM's import
        out["source_id"] = pd.Series(pd.NA, index=out.index, dtype="string")
        notes.append(f"{raw.file}: managers are known by name only, so there is no CRM user id for them; moves to "
                     "them are listed in needs_source_ids.csv instead of the CRM files")
    elif "source_id" not in out:
        # a CRM's user export keys users by their CRM id already (Salesforce User.Id)
        out["source_id"] = out["manager_id"]
        notes.append(f"{raw.file}: no separate CRM id column (source_id, CRM ID); the manager id is taken as the "
                     "CRM's user id in the move files")
    for h in headers:
        if h not in m.values() and h not in out:
            out[h] = df[h]
    return out, m, notes


def managers_from_owners(owner_ids: pd.Series, owner_names: pd.Series | None = None) -> pd.DataFrame:
    """One manager per distinct owner seen in the accounts, capacity :data:`DEFAULT_CAPACITY_HOURS`."""
    ids = owner_ids.astype("string")
    names = owner_names.astype("string") if owner_names is not None else ids
    df = pd.DataFrame({"manager_id": ids, "name": names.fillna(ids)}).dropna(subset=["manager_id"])
    df = df.drop_duplicates("manager_id").sort_values("manager_id", kind="stable").reset_index(drop=True)
    df["capacity_hours"] = DEFAULT_CAPACITY_HOURS
    df["source_id"] = df["manager_id"]
    return df

"""Pilot tracking: after the roll-out, compare actuals with the projection per segment and per manager.

Two questions a steering committee asks after the (typically 45-day) test phase: were the planned moves
carried out (implementation degree = planned moves whose account now has the planned owner / planned
moves), and does revenue reach what the projection promised (target attainment = actual / projected
revenue over the same months)? Both are reported per segment and per (planned) manager, next to the
baseline so a shortfall can be told apart from a weak market.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..book import AccountBook
from ..results import Assignment, Segmentation
from .model import KpiModel

__all__ = ["PilotReport", "track_pilot"]


@dataclass
class PilotReport:
    """Pilot tracking result.

    summary : ``months`` (projection months covered, 1 = first month after the history), ``periods``,
        ``planned_moves``, ``executed_moves``, ``implementation_degree`` (share, None without owners),
        ``unplanned_moves``, ``actual``, ``projected``, ``baseline``, ``target_attainment`` (actual / projected).
    by_segment, by_manager : the same figures per segment and per planned owner (``to_manager``).
    """

    summary: dict
    by_segment: pd.DataFrame
    by_manager: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _months_since(periods: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    p = pd.to_datetime(periods).dt.to_period("M")
    o = pd.Timestamp(origin).to_period("M")
    return ((p.dt.year - o.year) * 12 + (p.dt.month - o.month)).to_numpy()


def track_pilot(book: AccountBook, segmentation: Segmentation, assignment: Assignment, actuals: pd.DataFrame,
                actual_owners: pd.DataFrame | None = None, assumptions=None,
                model: KpiModel | None = None, last_month_share: float = 1.0) -> PilotReport:
    """Compare actual revenue (and owners) after the roll-out with the projection.

    Parameters
    ----------
    book, segmentation, assignment : what the projection was made for (the book's history ends before the pilot).
    actuals : long revenue after the roll-out: ``account_id``, ``period`` (month), ``revenue`` (currency/month);
        may carry ``owner_id`` (owner at that month) when ``actual_owners`` is not given.
    actual_owners : ``account_id``, ``owner_id`` — the owners now (a CRM export after the roll-out).
    assumptions : the assumptions the projection used.
    model : an already fitted ``KpiModel`` for these inputs (saves the fit).
    last_month_share : share (0..1] of the last actual month the actuals cover — a 45-day pilot that starts
        on the 1st ends mid-way through its second month (0.5); the projection of that month is scaled alike.
    """
    if not 0.0 < float(last_month_share) <= 1.0:
        raise ValueError(f"last_month_share must be in (0, 1], got {last_month_share}")
    missing = [c for c in ("account_id", "period", "revenue") if c not in actuals.columns]
    if missing:
        raise ValueError(f"the actuals lack column(s) {', '.join(missing)} (expected account_id, period, revenue)")
    if not len(actuals):
        raise ValueError("the actuals are empty")
    model = model or KpiModel().fit(book, segmentation, assignment)
    notes: list[str] = []
    last = model.baseline_.last_period
    if last is None:
        last = pd.to_datetime(actuals["period"]).min() - pd.offsets.MonthBegin(1)
        notes.append(f"the book has no history; the pilot is taken to start in {(last + pd.offsets.MonthBegin(1)):%Y-%m}")
    month = _months_since(actuals["period"], last)
    if (month < 1).any():
        raise ValueError(f"{int((month < 1).sum()):,} actual rows are dated on or before the last history month "
                         f"{last:%Y-%m}; the pilot actuals must come after it")
    months = np.unique(month)
    base_acc, scen_acc = model.account_totals(assumptions, months)
    if last_month_share < 1.0:  # only part of the last month is in the actuals: take the same part of its projection
        base_last, scen_last = model.account_totals(assumptions, months[-1:])
        base_acc = base_acc - (1.0 - last_month_share) * base_last
        scen_acc = scen_acc - (1.0 - last_month_share) * scen_last

    ids = model.account_ids_
    pos = pd.Index(ids).get_indexer(actuals["account_id"].astype("string").to_numpy(dtype=object))
    unknown = int((pos < 0).sum())
    if unknown:
        notes.append(f"{unknown:,} actual rows name accounts that are not in the book; they are left out")
    rev = pd.to_numeric(actuals["revenue"], errors="coerce").fillna(0).to_numpy(dtype=float)
    actual_acc = np.bincount(pos[pos >= 0], weights=rev[pos >= 0], minlength=len(ids))

    own = assignment.owners.drop_duplicates("account_id")
    opos = pd.Index(own["account_id"].astype("string").to_numpy(dtype=object)).get_indexer(ids)
    frm = np.where(opos >= 0, own["from_manager"].astype("string").to_numpy(dtype=object)[opos.clip(0)], None)
    to = np.where(opos >= 0, own["to_manager"].astype("string").to_numpy(dtype=object)[opos.clip(0)], None)
    frm = pd.Series(frm, dtype="string").fillna("").to_numpy(dtype=object)
    to = pd.Series(to, dtype="string").fillna("").to_numpy(dtype=object)
    planned = frm != to

    if actual_owners is None and "owner_id" in actuals.columns:
        latest = actuals.assign(_p=pd.to_datetime(actuals["period"])).sort_values("_p")
        actual_owners = latest.drop_duplicates("account_id", keep="last")[["account_id", "owner_id"]]
    if actual_owners is not None:
        ap = pd.Index(actual_owners["account_id"].astype("string").to_numpy(dtype=object)).get_indexer(ids)
        now = np.where(ap >= 0, actual_owners["owner_id"].astype("string").fillna("").to_numpy(dtype=object)
                       [ap.clip(0)], None)
        known = ap >= 0
        executed = planned & known & (now == to)
        unplanned = known & ~planned & (now != frm)
    else:
        notes.append("no owners after the roll-out were given: the implementation degree is unknown")
        known = np.zeros(len(ids), dtype=bool)
        executed = np.zeros(len(ids), dtype=bool)
        unplanned = np.zeros(len(ids), dtype=bool)

    frame = pd.DataFrame({"segment": np.asarray(model.segment_names_, dtype=object)[model.segment_of_account_],
                          "manager_id": to, "planned_moves": planned.astype(int),
                          "executed_moves": executed.astype(int), "unplanned_moves": unplanned.astype(int),
                          "actual": actual_acc, "projected": scen_acc, "baseline": base_acc})

    def finish(df: pd.DataFrame) -> pd.DataFrame:
        with np.errstate(divide="ignore", invalid="ignore"):
            df["implementation_degree"] = np.where(df["planned_moves"] > 0,
                                                   df["executed_moves"] / df["planned_moves"], np.nan)
            df["target_attainment"] = np.where(df["projected"] > 0, df["actual"] / df["projected"], np.nan)
            df["vs_baseline"] = np.where(df["baseline"] > 0, df["actual"] / df["baseline"], np.nan)
        if actual_owners is None:
            df["implementation_degree"] = np.nan
        return df

    sums = ["planned_moves", "executed_moves", "unplanned_moves", "actual", "projected", "baseline"]
    by_segment = finish(frame.groupby("segment", sort=False)[sums].sum().reset_index())
    by_manager = finish(frame[frame["manager_id"] != ""].groupby("manager_id")[sums].sum().reset_index())
    tot = frame[sums].sum()
    n_planned = int(tot["planned_moves"])
    summary = {
        "months": [int(m) for m in months], "last_month_share": float(last_month_share),
        "periods": [f"{(last + pd.DateOffset(months=int(m))):%Y-%m}" for m in months],
        "planned_moves": n_planned, "executed_moves": int(tot["executed_moves"]),
        "unplanned_moves": int(tot["unplanned_moves"]),
        "implementation_degree": (float(tot["executed_moves"] / n_planned) if actual_owners is not None
                                  and n_planned else None),
        "actual": float(tot["actual"]), "projected": float(tot["projected"]), "baseline": float(tot["baseline"]),
        "target_attainment": float(tot["actual"] / tot["projected"]) if tot["projected"] > 0 else None,
    }
    return PilotReport(summary=summary, by_segment=by_segment, by_manager=by_manager, notes=notes)

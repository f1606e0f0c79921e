"""Moves against band width: what each workload band costs in relationships, so a room can pick its band.

A narrow band is fairer but moves more accounts (each owner change costs 13–18 % of that account's revenue in
published field data); a wide band disturbs less and leaves more imbalance. ``band_tradeoff`` re-solves the plan
at each band with every other setting as given and tabulates what it takes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from ..book import AccountBook
from ..kpi.model import gini
from ..results import Segmentation
from .engine import reallocate

__all__ = ["band_tradeoff", "sweep_settings", "DEFAULT_BANDS", "TRADEOFF_COLUMNS"]

#: ±5 % … ±30 %: from tighter than practice to looser (±10–20 % is common, ±15 % the default)
DEFAULT_BANDS = (0.05, 0.075, 0.10, 0.125, 0.15, 0.20, 0.25, 0.30)

TRADEOFF_COLUMNS = ["band", "feasible", "accounts_moved", "moved_share_accounts", "revenue_moved",
                    "moved_share_revenue", "managers_in_band", "active_managers", "plan_cost", "continuity_cost",
                    "gini_after", "plan_from_band", "seconds", "diagnosis"]


def sweep_settings(params: dict) -> dict:
    """The ``reallocate`` settings a band comparison keeps: all but the band and the move limit (and what the
    limit counts)."""
    return {k: v for k, v in params.items() if k not in ("band", "max_move_share", "move_share_of")}


def band_tradeoff(book: AccountBook, segmentation: Segmentation, bands: Sequence[float] = DEFAULT_BANDS,
                  progress: Callable[[str, float], None] | None = None, **settings) -> pd.DataFrame:
    """Re-solve the plan at each workload band and tabulate what it moves.

    Parameters
    ----------
    book, segmentation : as for ``reallocate``.
    bands : the workload bands to try, as shares (0.15 = ±15 %); each must be in [0, 1). Sorted, duplicates
        dropped.
    progress : optional ``progress(stage, fraction)`` callback, called before each band and at the end.
    settings : any other ``reallocate`` keyword (weights, locks, events, balance_on, mode, seed …). A move limit
        (``max_move_share``) is left out: the question is how many moves each band needs, and under a limit a
        narrow band would only report that it cannot be met.

    Returns
    -------
    One row per band (``TRADEOFF_COLUMNS``): ``feasible`` (every setting met), ``accounts_moved`` (accounts that
    get a new owner, unowned ones included, as "N accounts change owner" in the Reallocate step; the KPI
    "Accounts moved" counts owned accounts only), ``moved_share_accounts`` (share of the
    owned accounts that change owner), ``revenue_moved`` (12-month revenue of those owned accounts, book currency),
    ``moved_share_revenue``, ``managers_in_band`` of ``active_managers``, ``plan_cost`` (the objective),
    ``continuity_cost`` (the plan's relationship and fit cost, the objective's move part), ``gini_after`` (Gini
    of hours / capacity over the managers with capacity after the plan, as the KPI 'workload imbalance'; 0 =
    even), ``plan_from_band`` (the band whose plan the row shows), ``seconds`` and ``diagnosis`` (what to relax
    when a band cannot be met).
    """
    if "band" in settings:
        raise TypeError("band_tradeoff takes the bands to try as `bands`, not `band`")
    settings = {k: v for k, v in settings.items() if k != "max_move_share"}
    grid = sorted({round(float(b), 6) for b in bands})
    if not grid:
        raise ValueError("give at least one band to try")
    bad = [b for b in grid if not 0 <= b < 1]
    if bad:
        raise ValueError(f"bands must be shares between 0 and 1 (0.15 = ±15 %), got {bad[0]}")
    say = progress or (lambda stage, frac: None)
    rows = []
    for i, band in enumerate(grid):
        say(f"band ±{band:.1%}", i / len(grid))
        asg = reallocate(book, segmentation, band=band, **settings)
        s = asg.stats
        owned = asg.moves["from_manager"].notna()
        cap = asg.loads["capacity_hours"].to_numpy(dtype=float)
        ok = cap > 0  # as the KPI model counts it: a manager who leaves has no capacity
        rows.append({
            "band": band, "feasible": s["status"] != "infeasible",
            "accounts_moved": int(s["moves"]), "moved_share_accounts": float(s["moved_share_accounts"]),
            "revenue_moved": float(asg.moves.loc[owned, "revenue_12m"].fillna(0).sum()),
            "moved_share_revenue": float(s["moved_share_revenue"]),
            "managers_in_band": int(s["managers_in_band_after"]), "active_managers": int(s["active_managers"]),
            "plan_cost": float(s["objective"]), "continuity_cost": float(s["assignment_cost"]),
            "gini_after": gini(asg.loads["hours_after"].to_numpy(dtype=float)[ok] / cap[ok]),
            "plan_from_band": band, "seconds": float(s["seconds"]), "diagnosis": s.get("diagnosis", "") or ""})
        prev = rows[-2] if len(rows) > 1 else None
        if prev is not None and prev["feasible"] and prev["plan_cost"] < rows[-1]["plan_cost"]:
            # a plan inside a narrower band is inside this one too, at the same cost (the band only bounds hours):
            # a wider band never needs a costlier plan, so the cheaper narrower plan stands for it as well
            rows[-1] = {**prev, "band": band, "seconds": rows[-1]["seconds"]}
    say("done", 1.0)
    return pd.DataFrame(rows, columns=TRADEOFF_COLUMNS)


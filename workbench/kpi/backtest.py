"""Backtest of the baseline projection: fit on the earlier months of history, compare with the held-out months.

The book is taken as it was at the cutoff (accounts whose history starts after it are left out of both the
projection and the actuals); nobody moves, so the projection is the baseline process of ``baseline.py``. Users
see the error (MAPE per segment and in total) and how often the actuals fell inside the P10–P90 band.

Stated tolerance, checked in ``tests/test_kpi.py`` on ``workbench.sampledata.generate(n_months=36, seed=42)``
with the true tiers as segments: per-tier annual growth within 3 percentage points and annual revenue retention
within 2 points of the generating process; on a 6-month holdout the total MAPE is below 3 % (measured 0.9 %)
and every tier's below 8 % (measured 1.1–4.6 %). With only 24 months of history the fit has 18 months, no
seasonality can be estimated, and the total MAPE rises to about 4.7 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..book import AccountBook
from ..results import Assignment, Segmentation
from .baseline import history_matrix
from .model import KpiModel, as_assumptions

__all__ = ["Backtest", "backtest", "MIN_FIT_MONTHS"]

#: months the fit needs at least (growth by trend needs 13)
MIN_FIT_MONTHS = 13


@dataclass
class Backtest:
    """Result of a backtest.

    metrics : ``holdout_months``, ``fit_months``, ``cutoff`` (last fitted month), ``mape_total`` (share),
        ``mape_segments`` (revenue-weighted mean of the segments' MAPE), ``coverage_total`` and
        ``coverage_segments`` (share of months whose actual lies inside P10–P90; None without draws), ``draws``.
    by_segment : ``segment``, ``actual``, ``projected`` (holdout totals), ``mape``, ``coverage``.
    series : one row per (segment or "Total", month): ``segment``, ``month``, ``period``, ``actual``,
        ``projected``, ``p10``, ``p50``, ``p90``.
    """

    metrics: dict
    by_segment: pd.DataFrame
    series: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _mape(actual: np.ndarray, projected: np.ndarray) -> float:
    ok = actual > 0
    if not ok.any():
        return float("nan")
    return float(np.mean(np.abs(projected[ok] - actual[ok]) / actual[ok]))


def backtest(book: AccountBook, segmentation: Segmentation, holdout_months: int = 6, draws: int = 1000,
             seed: int = 0, assumptions=None) -> Backtest:
    """Fit the baseline on all but the last ``holdout_months`` months of history and score it on them.

    Parameters
    ----------
    book : book with revenue history.
    segmentation : segment per account (errors are reported per segment).
    holdout_months : months held out at the end (1..24).
    draws : Monte Carlo draws for the P10–P90 band (0 → no coverage figure).
    seed : random seed of the draws.
    assumptions : defaults for what history cannot estimate.

    Raises
    ------
    ValueError : no history, or too little of it for the fit plus the holdout.
    """
    if book.history is None or not len(book.history):
        raise ValueError("the backtest needs revenue history, and this book has none")
    h = int(holdout_months)
    if not 1 <= h <= 24:
        raise ValueError(f"holdout_months must be between 1 and 24, got {holdout_months}")
    ids = book.accounts["account_id"].astype("string").to_numpy(dtype=object)
    R, months, _ = history_matrix(book.history, ids)
    if R.shape[1] < h + MIN_FIT_MONTHS:
        raise ValueError(f"the backtest needs at least {h + MIN_FIT_MONTHS} months of history for a "
                         f"{h}-month holdout; the book has {R.shape[1]}")
    cutoff = months[-h - 1]
    a = as_assumptions(assumptions)
    owner = book.accounts["owner_id"].astype("string").to_numpy(dtype=object) if "owner_id" in book.accounts \
        else np.full(len(ids), None, dtype=object)
    # nobody moves and no hours change: the projection is the baseline
    keep = pd.DataFrame({"account_id": ids, "from_manager": owner, "to_manager": owner, "hours": 0.0})
    still = Assignment(owners=keep, moves=keep.iloc[:0].assign(reason=""), loads=pd.DataFrame())
    model = KpiModel(history_cutoff=cutoff).fit(book, segmentation, still)
    det, mc = model.segment_series(a, months=h, draws=draws, seed=seed)

    known = (R[:, :-h] != 0).any(axis=1)  # the book as it was at the cutoff
    seg = model.segment_of_account_
    n_seg = len(model.segment_names_)
    actual = np.zeros((n_seg, h))
    np.add.at(actual, seg[known], R[known, -h:])
    periods = months[-h:]
    names = list(model.segment_names_) + ["Total"]
    act_all = np.vstack([actual, actual.sum(axis=0)])
    det_all = np.vstack([det, det.sum(axis=0)])
    rows = {"segment": np.repeat(names, h), "month": np.tile(np.arange(1, h + 1), n_seg + 1),
            "period": np.tile(periods, n_seg + 1), "actual": act_all.ravel(), "projected": det_all.ravel()}
    inside = None
    if mc is not None:
        mc_all = np.concatenate([mc, mc.sum(axis=1, keepdims=True)], axis=1)  # (draws, segments+1, months)
        q = np.percentile(mc_all, [10, 50, 90], axis=0)
        rows.update(p10=q[0].ravel(), p50=q[1].ravel(), p90=q[2].ravel())
        inside = (act_all >= q[0]) & (act_all <= q[2])
    series = pd.DataFrame(rows)
    mape = np.array([_mape(act_all[i], det_all[i]) for i in range(n_seg + 1)])
    by_segment = pd.DataFrame({"segment": names, "actual": act_all.sum(axis=1), "projected": det_all.sum(axis=1),
                               "mape": mape,
                               "coverage": inside.mean(axis=1) if inside is not None else np.nan})
    w = act_all[:n_seg].sum(axis=1)
    ok = np.isfinite(mape[:n_seg]) & (w > 0)
    metrics = {
        "holdout_months": h, "fit_months": int(R.shape[1] - h), "cutoff": str(cutoff.date()),
        "mape_total": float(mape[-1]),
        "mape_segments": float(np.average(mape[:n_seg][ok], weights=w[ok])) if ok.any() else None,
        "coverage_total": float(inside[-1].mean()) if inside is not None else None,
        "coverage_segments": float(inside[:n_seg][ok].mean()) if inside is not None and ok.any() else None,
        "draws": int(draws), "accounts": int(known.sum()),
    }
    notes = []
    new = int((~known & (R[:, -h:] != 0).any(axis=1)).sum())
    if new:
        notes.append(f"{new:,} accounts started after the cutoff and are left out of the backtest")
    return Backtest(metrics=metrics, by_segment=by_segment, series=series, notes=notes)

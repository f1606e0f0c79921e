"""Baseline revenue process per segment, estimated from monthly revenue history: growth, seasonality, retention.

The model behind a baseline projection of account ``a`` in segment ``s``, ``t`` months after the last
observed month, is ``level_a · (1 + g_s)^(t/12) · season_s(calendar month) · r_s^(t/12)``:

- ``g_s`` — annual *same-account* growth: revenue of accounts alive at both ends of the history window, last
  12 months over the 12 before (24+ months of history); a log-linear trend of their monthly totals with
  13–23 months; the ``baseline_growth`` assumption otherwise. Using survivors keeps churn out of the growth
  rate, because churn enters separately through ``r_s``.
- ``season_s`` — calendar-month index of the survivors' detrended totals (mean 1), from 24+ months.
- ``r_s`` — annual revenue retention: of the revenue of accounts active 13–15 months before the end, the
  share belonging to accounts still active in the last 3 months (15+ months of history); the ``retention``
  assumption otherwise. An account is "active" in a window when it booked positive revenue in it.
- ``level_a`` — the account's deseasonalised mean monthly revenue over its active part of the last 12 months,
  moved forward to the last observed month with ``g_s``; 0 for an account that is no longer active; from
  ``revenue_12m`` for accounts without history.

Standard errors (``growth_se``, ``retention_se``) and the residual monthly noise of the segment totals
(``sigma``, log scale) feed the Monte Carlo bands. Everything is vectorised over accounts; loops run over
segments only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Baseline", "history_matrix", "fit_baseline"]

#: months of history needed for each estimate (see the module docstring)
MIN_MONTHS_GROWTH_YOY = 24
MIN_MONTHS_GROWTH_TREND = 13
MIN_MONTHS_RETENTION = 15
#: a segment needs this many surviving accounts before its own estimate replaces the default
MIN_ACCOUNTS_ESTIMATE = 5
#: "still active" means positive revenue in this many last months (sparse billing would otherwise look like churn)
ACTIVE_WINDOW_MONTHS = 3


@dataclass
class Baseline:
    """Fitted baseline process.

    segments : one row per segment code: ``growth``, ``growth_se``, ``retention``, ``retention_se`` (annual
        shares; NaN where history could not estimate them, so the assumption default applies), ``sigma``
        (monthly log-noise of segment totals), ``growth_source``, ``retention_source``.
    season : array (segments, 12) of calendar-month indices (January first), mean 1.
    level : monthly revenue level per account at the last observed month (currency/month).
    alive : per account, still active at the end of the history (True for accounts without history).
    last_period : the last observed month (first day), or None without history.
    n_months : months of history used.
    noise_correlation : mean correlation of the segments' residuals (0..1); Monte Carlo noise shares a common
        component of this weight so that the total's band is as wide as segments moving together make it.
    purchases : per account ``x``, ``t_x``, ``n`` (purchase months, see ``bgnbd.rfm_from_matrix``), ``buyer``
        and ``spend`` (mean revenue of a purchase month) for the purchase-history CLV model; None without history.
    """

    segments: pd.DataFrame
    season: np.ndarray
    level: np.ndarray
    alive: np.ndarray
    last_period: pd.Timestamp | None
    n_months: int
    noise_correlation: float = 0.0
    purchases: dict | None = None


def history_matrix(history: pd.DataFrame, account_ids: np.ndarray,
                   cutoff: pd.Timestamp | None = None) -> tuple[np.ndarray, pd.DatetimeIndex, np.ndarray]:
    """Monthly revenue as a dense (accounts × months) matrix in ``account_ids`` order.

    Parameters
    ----------
    history : long frame ``account_id, period, revenue`` (currency/month).
    account_ids : the accounts' ids (rows of the result).
    cutoff : ignore months after this one (used by the backtest).

    Returns
    -------
    matrix, months, has_history : revenue per account and month (0 where nothing was booked), the months
        (first day, consecutive), and per account whether it appears in the history at all.
    """
    # month numbers straight from datetime64 (much faster than pandas Periods on millions of rows)
    mnum_all = pd.to_datetime(history["period"]).to_numpy().astype("datetime64[M]").astype(np.int64)
    keep = np.ones(len(history), dtype=bool)
    if cutoff is not None:
        keep &= mnum_all <= np.datetime64(pd.Timestamp(cutoff), "M").astype(np.int64)
    mnum = mnum_all[keep]
    if not len(mnum):
        return np.zeros((len(account_ids), 0)), pd.DatetimeIndex([]), np.zeros(len(account_ids), dtype=bool)
    first, last = int(mnum.min()), int(mnum.max())
    n_t = last - first + 1
    rows = _rows_of(history["account_id"].to_numpy(dtype=object)[keep], account_ids)
    ok = rows >= 0
    cols = mnum[ok] - first
    rev = pd.to_numeric(history["revenue"], errors="coerce").to_numpy(dtype=float)[keep][ok]
    rev = np.nan_to_num(rev)
    flat = np.bincount(rows[ok].astype(np.int64) * n_t + cols, weights=rev, minlength=len(account_ids) * n_t)
    has = np.bincount(rows[ok], minlength=len(account_ids)) > 0
    months = pd.DatetimeIndex(np.arange(first, last + 1).astype("datetime64[M]").astype("datetime64[ns]"))
    return flat.reshape(len(account_ids), n_t), months, has


def _rows_of(ids: np.ndarray, account_ids: np.ndarray) -> np.ndarray:
    """Row of each history id in ``account_ids`` (-1 when absent). Histories usually come account by account,
    so only the first id of each run is looked up (a hash lookup per row would dominate at 1M accounts)."""
    index = pd.Index(account_ids)
    if len(ids) < 2:
        return index.get_indexer(ids)
    change = np.empty(len(ids), dtype=bool)
    change[0] = True
    np.not_equal(ids[1:], ids[:-1], out=change[1:])
    heads = np.flatnonzero(change)
    if len(heads) > len(ids) // 2:
        return index.get_indexer(ids)
    return np.repeat(index.get_indexer(ids[heads]), np.diff(np.append(heads, len(ids))))


def fit_baseline(account_ids: np.ndarray, revenue_12m: np.ndarray, segment_code: np.ndarray, n_segments: int,
                 history: pd.DataFrame | None, cutoff: pd.Timestamp | None = None,
                 unknown_from_revenue_12m: bool = True) -> Baseline:
    """Estimate the baseline process (see the module docstring) per segment code ``0..n_segments-1``.

    Parameters
    ----------
    account_ids : account ids, one per account.
    revenue_12m : last-12-month revenue per account (currency/year); used for accounts without history.
    segment_code : segment code per account (int, 0..n_segments-1).
    history : long revenue history or None.
    cutoff : fit only on months up to this one (backtest).
    unknown_from_revenue_12m : accounts absent from the history take ``revenue_12m / 12`` as their level; when
        False (backtest: the book as it was at the cutoff) they take 0.
    """
    n_acc = len(account_ids)
    seg = np.asarray(segment_code, dtype=np.int64)
    nan = np.full(n_segments, np.nan)
    segs = pd.DataFrame({"segment_code": np.arange(n_segments), "growth": nan, "growth_se": nan,
                         "retention": nan, "retention_se": nan, "sigma": np.zeros(n_segments),
                         "growth_source": "assumption", "retention_source": "assumption"})
    season = np.ones((n_segments, 12))
    level_default = np.nan_to_num(np.asarray(revenue_12m, dtype=float)) / 12.0
    if history is None or not len(history):
        return Baseline(segs, season, level_default, np.ones(n_acc, dtype=bool), None, 0)

    R, months, has = history_matrix(history, np.asarray(account_ids), cutoff)
    n_t = R.shape[1]
    if n_t == 0:
        return Baseline(segs, season, level_default, np.ones(n_acc, dtype=bool), None, 0)
    pos = R > 0
    alive = pos[:, -ACTIVE_WINDOW_MONTHS:].any(axis=1)
    cal = (months.month.to_numpy() - 1)

    # survivors: active at the start of the growth window and still active at the end
    if n_t >= MIN_MONTHS_GROWTH_YOY:
        start = n_t - MIN_MONTHS_GROWTH_YOY
    else:
        start = 0
    surv = has & alive & pos[:, start:start + ACTIVE_WINDOW_MONTHS].any(axis=1)

    growth = nan.copy()
    growth_se = nan.copy()
    totals = np.zeros((n_segments, n_t))
    n_surv = np.bincount(seg[surv], minlength=n_segments)
    for s in range(n_segments):
        m = surv & (seg == s)
        if n_surv[s] < MIN_ACCOUNTS_ESTIMATE:
            continue
        totals[s] = R[m].sum(axis=0)
        if n_t >= MIN_MONTHS_GROWTH_YOY:
            x = R[m, n_t - 24:n_t - 12].sum(axis=1)
            y = R[m, n_t - 12:].sum(axis=1)
            if x.sum() <= 0:
                continue
            ratio = y.sum() / x.sum()
            growth[s] = ratio - 1.0
            growth_se[s] = np.sqrt(np.sum((y - ratio * x) ** 2)) / x.sum()
        elif n_t >= MIN_MONTHS_GROWTH_TREND:
            tot = totals[s]
            ok = tot > 0
            if ok.sum() < 3:
                continue
            t = np.arange(n_t)[ok]
            b, a = np.polyfit(t, np.log(tot[ok]), 1)
            resid = np.log(tot[ok]) - (a + b * t)
            se_b = np.sqrt(resid.var(ddof=2) / np.sum((t - t.mean()) ** 2)) if ok.sum() > 2 else 0.0
            growth[s] = np.exp(12 * b) - 1.0
            growth_se[s] = 12 * se_b * np.exp(12 * b)
    est = ~np.isnan(growth)
    segs.loc[est, "growth_source"] = "history"

    # seasonality needs every calendar month twice; detrend with the segment's growth first
    g_use = np.where(est, growth, 0.0)
    if n_t >= MIN_MONTHS_GROWTH_YOY:
        trend = (1.0 + g_use[:, None]) ** (np.arange(n_t)[None, :] / 12.0)
        detr = totals / trend
        for s in np.flatnonzero(est):
            cm = np.bincount(cal, weights=detr[s], minlength=12) / np.maximum(np.bincount(cal, minlength=12), 1)
            if cm.mean() > 0 and (cm > 0).all():
                season[s] = cm / cm.mean()

    # residual noise of segment totals around trend × season (log scale), and how much segments move together
    sigma = np.zeros(n_segments)
    resid = np.full((n_segments, n_t), np.nan)
    for s in np.flatnonzero(est):
        tot = totals[s]
        fit = (1.0 + g_use[s]) ** (np.arange(n_t) / 12.0) * season[s, cal]
        ok = tot > 0
        if ok.sum() > 3:
            r = np.log(tot[ok] / fit[ok])
            sigma[s] = float(np.std(r - r.mean(), ddof=1))
            resid[s, ok] = r - r.mean()
    segs["sigma"] = sigma
    rows = resid[np.isfinite(resid).all(axis=1) & (sigma > 0)]
    rho = 0.0
    if len(rows) >= 2:
        c = np.corrcoef(rows)
        rho = float(np.clip(c[np.triu_indices(len(rows), 1)].mean(), 0.0, 1.0))
    segs["growth"] = growth
    segs["growth_se"] = growth_se

    # revenue retention over a year
    if n_t >= MIN_MONTHS_RETENTION:
        at_risk = has & pos[:, n_t - 15:n_t - 12].any(axis=1)
        w = R[:, max(0, n_t - 24):n_t - 12].sum(axis=1).clip(min=0)
        for s in range(n_segments):
            m = at_risk & (seg == s)
            if m.sum() < MIN_ACCOUNTS_ESTIMATE or w[m].sum() <= 0:
                continue
            ws = w[m]
            kept = alive[m].astype(float)
            r = float(np.sum(ws * kept) / ws.sum())
            segs.loc[s, "retention"] = r
            segs.loc[s, "retention_se"] = float(np.sqrt(np.sum(ws ** 2 * (kept - r) ** 2)) / ws.sum())
            segs.loc[s, "retention_source"] = "history"

    # account level at the last observed month: deseasonalised mean over the active part of the last year
    k = min(12, n_t)
    recent = R[:, -k:]
    idx = season[seg][:, cal[-k:]]
    first_pos = np.where(pos[:, -k:].any(axis=1), pos[:, -k:].argmax(axis=1), k)
    n_active = (k - first_pos).clip(min=1)
    mask = np.arange(k)[None, :] >= first_pos[:, None]
    mean = (recent / idx * mask).sum(axis=1) / n_active
    centre = (n_active - 1) / 2.0
    level_hist = mean * (1.0 + g_use[seg]) ** (centre / 12.0)
    level = np.where(has, np.where(alive, level_hist, 0.0), level_default if unknown_from_revenue_12m else 0.0)
    alive_all = np.where(has, alive, unknown_from_revenue_12m)
    from .bgnbd import rfm_from_matrix

    px, ptx, pn, buyer = rfm_from_matrix(R)
    with np.errstate(divide="ignore", invalid="ignore"):
        spend = np.where(buyer, np.where(pos, R, 0.0).sum(axis=1) / np.maximum(pos.sum(axis=1), 1), 0.0)
    purchases = {"x": px, "t_x": ptx, "n": pn, "buyer": buyer & has, "spend": spend}
    return Baseline(segs, season, level, alive_all, months[-1], n_t, rho, purchases)

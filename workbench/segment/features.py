"""Segmentation features of customer value, potential and need, with their transforms and a robust scaler.

Every feature is computed column-wise from the accounts table (and the revenue history for growth); heavy-tailed
amounts are log-transformed (``log1p``) and all features are robust-scaled (median / inter-quartile range) so that
one outlier account cannot dominate the distance a clustering uses. Missing values are imputed with the feature's
median (0 after scaling) and counted, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Feature", "FEATURES", "DEFAULT_FEATURES", "available_features", "raw_features", "column_features",
           "is_log", "transform", "RobustScaler"]


@dataclass(frozen=True)
class Feature:
    """One segmentation feature.

    Parameters
    ----------
    name : feature name used in parameters (``features=["revenue", "service_need"]``).
    group : ``"value"``, ``"potential"`` or ``"need"``.
    unit : unit of the raw value (before transform).
    log : apply ``log1p`` before scaling (heavy-tailed non-negative amounts).
    columns : account columns the feature can be read from, first match wins (CRM exports name them differently).
    description : one line for the UI and the README.
    """

    name: str
    group: str
    unit: str
    log: bool
    columns: tuple[str, ...]
    description: str


FEATURES: dict[str, Feature] = {f.name: f for f in (
    Feature("revenue", "value", "currency/year", True, ("revenue_12m",),
            "Revenue with us over the last 12 months."),
    Feature("growth", "value", "log ratio", False, (),
            "Revenue growth from the history: log of last 12 months over the 12 before (needs revenue history)."),
    Feature("margin", "value", "share or currency/year", False, ("margin", "gross_margin", "margin_pct", "margin_rate"),
            "Gross margin, where the export has it."),
    Feature("potential", "potential", "currency/year", True, ("potential",),
            "Estimated reachable annual revenue."),
    Feature("whitespace", "potential", "currency/year", True, ("potential",),
            "Untapped potential: potential minus revenue with us (0 when revenue exceeds potential)."),
    Feature("headroom", "potential", "log ratio", False, ("potential",),
            "Potential relative to revenue: log(1 + potential) − log(1 + revenue); 0 when fully exploited, "
            "unknown for accounts without revenue."),
    Feature("service_need", "need", "hours/year", True, ("service_need",),
            "Service effort the account needs."),
    Feature("product_breadth", "need", "products", True,
            ("product_breadth", "products", "n_products", "product_count"),
            "Number of product lines the account buys, where the export has it."),
    Feature("tickets", "need", "tickets/year", True, ("tickets", "tickets_12m", "support_tickets", "n_tickets"),
            "Support tickets per year, where the export has it."),
)}

#: Used when the caller names no features: value (revenue), potential relative to it (headroom) and need — the
#: axes a coverage model is built on. Headroom rather than absolute potential, because absolute potential
#: mostly repeats revenue: on the sample generator's planted tiers k-means (k = 4) reaches an adjusted Rand
#: index of 0.79 with headroom against 0.55 with absolute potential. Features whose columns are empty in a
#: book are left out.
DEFAULT_FEATURES: tuple[str, ...] = ("revenue", "headroom", "service_need")


def _column(accounts: pd.DataFrame, feature: Feature) -> pd.Series | None:
    for c in feature.columns:
        if c in accounts.columns:
            return pd.to_numeric(accounts[c], errors="coerce").astype("float64")
    return None


def _growth(accounts: pd.DataFrame, history: pd.DataFrame | None) -> np.ndarray | None:
    """Log ratio of the latest 12 months' revenue over the 12 before (shorter windows when history is short)."""
    if history is None or len(history) == 0:
        return None
    periods = np.sort(history["period"].dropna().unique())
    if len(periods) < 2:
        return None
    window = min(12, len(periods) // 2)
    recent = periods[-window:]
    before = periods[-2 * window:-window]
    pos = pd.Index(accounts["account_id"].astype("string")).get_indexer(history["account_id"].astype("string"))
    ok = pos >= 0
    per = history["period"].to_numpy()
    rev = history["revenue"].to_numpy(dtype="float64")
    n = len(accounts)
    in_recent = ok & np.isin(per, recent)
    in_before = ok & np.isin(per, before)
    last = np.bincount(pos[in_recent], weights=rev[in_recent], minlength=n)
    prev = np.bincount(pos[in_before], weights=rev[in_before], minlength=n)
    seen = np.bincount(pos[ok], minlength=n) > 0
    out = np.log1p(np.clip(last, 0, None)) - np.log1p(np.clip(prev, 0, None))
    out[~seen] = np.nan
    return out


# Canonical columns that are identifiers or text, or already behind a catalogue feature.
_NOT_COLUMN_FEATURES = {"account_id", "name", "parent_id", "country", "region", "city", "postcode", "industry",
                        "owner_id", "source_id", "revenue_12m", "potential", "service_need"}


def column_features(accounts: pd.DataFrame) -> list[str]:
    """Numeric account columns (``employees`` and extra columns kept from the export) usable as features by
    their column name, for example the spend per product category of a wholesale file.
    """
    out = []
    for c in accounts.columns:
        if c in _NOT_COLUMN_FEATURES or c in FEATURES:
            continue
        s = accounts[c]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        if np.isfinite(pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)).any():
            out.append(str(c))
    return out


def raw_features(accounts: pd.DataFrame, history: pd.DataFrame | None = None,
                 names: list[str] | tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Raw (untransformed) feature values per account, float64 with NaN where unknown.

    Parameters
    ----------
    accounts : canonical accounts table.
    history : optional long revenue history (``account_id``, ``period``, ``revenue``), for ``growth``.
    names : features to compute: names from ``FEATURES`` or numeric account columns (``column_features``);
        all of ``FEATURES`` when omitted. Features a book cannot provide are absent from the result.
    """
    out: dict[str, np.ndarray] = {}
    for name in names or FEATURES:
        if name not in FEATURES:
            if name in accounts.columns:
                out[name] = pd.to_numeric(accounts[name], errors="coerce").to_numpy(dtype="float64",
                                                                                    na_value=np.nan)
            continue
        f = FEATURES[name]
        if name == "growth":
            g = _growth(accounts, history)
            if g is not None:
                out[name] = g
            continue
        col = _column(accounts, f)
        if col is None:
            continue
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        if name in ("whitespace", "headroom"):
            rev = accounts["revenue_12m"].to_numpy(dtype="float64", na_value=np.nan)
            if name == "whitespace":
                values = np.clip(values - rev, 0, None)
            else:
                # A ratio to revenue means nothing without revenue (churned or not yet buying accounts): unknown,
                # so the median stands in, instead of an extreme value that would claim a segment of its own.
                with np.errstate(invalid="ignore"):
                    values = np.where(rev > 0, np.clip(np.log1p(np.clip(values, 0, None)) - np.log1p(rev), 0, None),
                                      np.nan)
        out[name] = values
    return {k: v for k, v in out.items() if np.isfinite(v).any()}


def available_features(accounts: pd.DataFrame, history: pd.DataFrame | None = None,
                       columns: bool = True) -> list[str]:
    """Names of the features this book can provide: the catalogue's (in catalogue order), then with
    ``columns`` the numeric account columns.
    """
    out = list(raw_features(accounts, history))
    return out + (column_features(accounts) if columns else [])


def is_log(name: str, values: np.ndarray) -> bool:
    """Whether a feature is ``log1p``-transformed: as the catalogue says, and for account columns when they
    hold no negative values (amounts and counts are heavy-tailed in every CRM export we have seen).
    """
    if name in FEATURES:
        return FEATURES[name].log
    finite = values[np.isfinite(values)]
    return bool(len(finite) and finite.min() >= 0)


def transform(values: np.ndarray, log: bool) -> np.ndarray:
    """``log1p`` of the non-negative part for heavy-tailed amounts, else the values unchanged."""
    if log:
        return np.log1p(np.clip(values, 0, None))
    return values


class RobustScaler:
    """Clip to the 1st–99th percentile, centre on the median and divide by the inter-quartile range, per feature;
    NaN becomes 0 (the median).

    Clipping matters for books with churned or brand-new accounts: their zero revenue is ``log1p(0) = 0``, far
    below everyone else on the log scale, and k-means would spend a whole segment on them. For log-transformed
    amounts the clip bounds come from the positive values, so zeros join the lowest-value accounts, which is
    where a restructure puts them.

    Parameters
    ----------
    quantiles : lower and upper quantile of the spread (0.25, 0.75 = inter-quartile range).
    clip : lower and upper quantile the transformed values are clipped to.
    """

    def __init__(self, quantiles: tuple[float, float] = (0.25, 0.75), clip: tuple[float, float] = (0.01, 0.99)):
        self.quantiles = quantiles
        self.clip = clip

    def fit(self, T: np.ndarray, log_columns: list[bool] | None = None) -> RobustScaler:
        """Learn ``lower_``/``upper_`` (clip bounds), ``center_`` and ``scale_`` from transformed features ``T``
        (n × d, NaN allowed); ``log_columns`` flags the ``log1p``-transformed amounts.
        """
        d = T.shape[1]
        self.center_ = np.zeros(d)
        self.scale_ = np.ones(d)
        self.lower_ = np.full(d, -np.inf)
        self.upper_ = np.full(d, np.inf)
        for j in range(d):
            col = T[:, j]
            col = col[np.isfinite(col)]
            if len(col) == 0:
                continue
            # Clipping is monotone, so the quantiles of the clipped column are the clipped quantiles: one
            # partition per column instead of two.
            q1, lo, med, hi, q99 = np.percentile(col, [100 * self.clip[0], 100 * self.quantiles[0], 50,
                                                      100 * self.quantiles[1], 100 * self.clip[1]])
            if log_columns is not None and log_columns[j] and q1 <= 0:
                positive = col[col > 0]
                if len(positive):
                    q1 = float(np.percentile(positive, 100 * self.clip[0]))
            self.lower_[j], self.upper_[j] = q1, q99
            lo, med, hi = np.clip([lo, med, hi], q1, q99)
            spread = hi - lo
            if not spread > 0:
                # Many identical values (e.g. zero potential for most accounts): fall back to the std.
                spread = float(np.clip(col, q1, q99).std())
            self.center_[j] = med
            self.scale_[j] = spread if spread > 0 else 1.0
        return self

    def transform(self, T: np.ndarray) -> np.ndarray:
        """Scaled float32 matrix in Fortran order (each feature contiguous, as the k-means kernels read it);
        unknown values sit at the median (0).
        """
        n, d = T.shape
        X = np.empty((n, d), dtype=np.float32, order="F")
        for j in range(d):
            col = (np.clip(T[:, j], self.lower_[j], self.upper_[j]) - self.center_[j]) / self.scale_[j]
            col[~np.isfinite(col)] = 0.0
            X[:, j] = col
        return X

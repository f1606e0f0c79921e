"""The account segmenter: an estimator-like object that learns segments from a book and re-applies them.

Methods: k-means (default), Gaussian mixture, hierarchical (Ward) clustering on a sample with every other account
assigned to the nearest cluster centre, and two rule-based tiers: ABC by cumulative revenue share and a
value × need matrix with cut points. Segment ids are ordered by value: segment 0 has the highest mean
(log) revenue. Everything the segmenter learned is plain numbers, so ``to_dict``/``from_dict`` persist it as
JSON (no pickle) and ``predict`` labels new accounts exactly as the fit would have.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .cluster import (
    cluster_scores,
    distinct_rows,
    gmm_log_prob,
    kmeans_fit,
    lloyd,
    nearest,
    silhouette_many,
    single_thread,
)
from .features import (
    DEFAULT_FEATURES,
    FEATURES,
    RobustScaler,
    column_features,
    is_log,
    raw_features,
    transform,
)

__all__ = ["AccountSegmenter", "METHODS", "CLUSTER_METHODS", "RULE_METHODS", "K_RANGE"]

CLUSTER_METHODS = ("kmeans", "gmm", "hierarchical")
RULE_METHODS = ("abc", "value-need")
METHODS = CLUSTER_METHODS + RULE_METHODS
#: Candidate numbers of segments for ``k="auto"``.
K_RANGE = (2, 10)
#: ``k="auto"`` chooses at most one segment per this many accounts (at least K_RANGE's lowest).
AUTO_MIN_SEGMENT = 20
_GMM_SAMPLE = 50_000      # a full-covariance mixture on more rows buys little and costs seconds
_WARD_SAMPLE = 4_000      # Ward linkage needs O(n²) memory: 4,000 rows ≈ 130 MB
# Silhouette needs all pairwise distances of its sample for every candidate k: 5,000 accounts (25M distances,
# one pass for all k) keeps k="auto" within seconds at 1M accounts; the ceiling is 10,000.
_SILHOUETTE_SAMPLE = 5_000


def _check_k(k, n: int) -> int | str:
    if isinstance(k, str):
        if k.strip().lower() == "auto":
            return "auto"
        try:
            k = int(k)
        except ValueError:
            raise ValueError(f"k must be a whole number of segments or 'auto', got {k!r}") from None
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a whole number of segments of at least 1 or 'auto', got {k!r}")
    if k > n:
        raise ValueError(f"k={k} segments asked for, but the book has only {n} accounts")
    return int(k)


def _as_list(features) -> list[str] | None:
    if features is None:
        return None
    if isinstance(features, str):
        features = [f for f in (p.strip() for p in features.split(",")) if f]
    return list(features)


class AccountSegmenter:
    """Learn segments of accounts from value, potential and need features; label new accounts the same way.

    Parameters
    ----------
    method : ``"kmeans"``, ``"gmm"``, ``"hierarchical"``, ``"abc"`` or ``"value-need"``.
    k : number of segments for the clustering methods, or ``"auto"`` to pick k in 2..10 by Calinski–Harabasz,
        Davies–Bouldin (all rows) and silhouette (sample of 5,000 rows): the k with the best rank sum wins,
        the smaller k on ties. Rule methods derive k from their cut points and ignore it.
    features : feature names (see ``workbench.segment.FEATURES``) or a comma-separated string; ``None`` uses
        ``DEFAULT_FEATURES`` restricted to what the book provides.
    seed : random seed (sampling, k-means++ and mixture initialisation).
    abc_cuts : cumulative revenue shares closing the A and B tiers (0.8, 0.95: A holds the accounts making the
        top 80 % of revenue).
    grid : 2 or 3 levels per axis of the value × need matrix (2 → 2×2 at the medians, 3 → 3×3 at the terciles).
    value_cuts, need_cuts : explicit cut points of the value × need matrix, ascending: revenue_12m in
        currency/year and service_need in hours/year (``grid - 1`` values each); default quantiles of the book.
    sample_size : rows the k-means restarts run on before the full-data Lloyd passes.

    Fewer segments than ``k`` come out when the features do not separate the accounts into ``k`` groups (for
    example revenue is zero for nearly every account and the book has no potential or need): the clustering is
    never asked for more clusters than there are distinct feature rows, and clusters left without accounts are
    dropped. ``k_requested_`` keeps what was asked for, ``constant_features_`` the features that take one value
    for every account after clipping and scaling, ``convergence_warnings_`` what scikit-learn warned about.
    """

    def __init__(self, method: str = "kmeans", k: int | str = 4, features=None, seed: int = 0,
                 abc_cuts: tuple[float, ...] = (0.8, 0.95), grid: int = 2,
                 value_cuts: list[float] | None = None, need_cuts: list[float] | None = None,
                 sample_size: int = 10_000):
        self.method = method
        self.k = k
        self.features = features
        self.seed = seed
        self.abc_cuts = abc_cuts
        self.grid = grid
        self.value_cuts = value_cuts
        self.need_cuts = need_cuts
        self.sample_size = sample_size

    def get_params(self) -> dict:
        """The constructor parameters, JSON-ready."""
        return {"method": self.method, "k": self.k, "features": _as_list(self.features), "seed": int(self.seed),
                "abc_cuts": [float(c) for c in self.abc_cuts], "grid": int(self.grid),
                "value_cuts": None if self.value_cuts is None else [float(c) for c in self.value_cuts],
                "need_cuts": None if self.need_cuts is None else [float(c) for c in self.need_cuts],
                "sample_size": int(self.sample_size)}

    # ------------------------------------------------------------------ fit
    def fit(self, accounts: pd.DataFrame, history: pd.DataFrame | None = None) -> AccountSegmenter:
        """Learn the segments of ``accounts`` (canonical table; ``history`` feeds the growth feature)."""
        self._fit_raw(*self._inputs(accounts, history))
        return self

    def _inputs(self, accounts: pd.DataFrame, history: pd.DataFrame | None
                ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
        """Checked raw features, revenue and service need of ``accounts`` (computed once per fit)."""
        if self.method not in METHODS:
            raise ValueError(f"unknown segmentation method {self.method!r}; expected one of {', '.join(METHODS)}")
        if len(accounts) == 0:
            raise ValueError("the book has no accounts to segment")
        wanted = _as_list(self.features)
        if wanted is not None:
            unknown = [f for f in wanted if f not in FEATURES and f not in column_features(accounts)]
            if unknown:
                raise ValueError(f"unknown feature(s) {', '.join(unknown)}; expected some of {', '.join(FEATURES)} "
                                 "or a numeric account column")
            if not wanted:
                raise ValueError("choose at least one feature to segment on")
        raw = raw_features(accounts, history, wanted or list(DEFAULT_FEATURES) + ["service_need"])
        if wanted is not None:
            missing = [f for f in wanted if f not in raw]
            if missing:
                raise ValueError(f"this book has no data for feature(s) {', '.join(missing)}")
            names = wanted
        else:
            names = [f for f in DEFAULT_FEATURES if f in raw]
        return ({f: raw[f] for f in names}, accounts["revenue_12m"].to_numpy(dtype="float64", na_value=0.0),
                _service_need(accounts))

    def _fit_raw(self, raw: dict[str, np.ndarray], revenue: np.ndarray, need: np.ndarray | None) -> None:
        n = len(revenue)
        self.feature_names_ = list(raw)
        self.method_ = self.method
        self.n_fit_ = n
        self.k_scores_ = None
        self.scores_ = {}
        self.log_features_ = [is_log(f, raw[f]) for f in self.feature_names_]
        T = (np.column_stack([transform(raw[f], lg) for f, lg in zip(self.feature_names_, self.log_features_)])
             if raw else np.zeros((n, 0)))
        self.missing_share_ = {f: float(np.mean(~np.isfinite(T[:, j]))) for j, f in enumerate(self.feature_names_)}
        self.scaler_ = RobustScaler().fit(T, self.log_features_)
        X = self.scaler_.transform(T)
        self.constant_features_ = [f for j, f in enumerate(self.feature_names_)
                                   if n and float(X[:, j].min()) == float(X[:, j].max())]
        self.k_requested_ = None
        self.convergence_warnings_ = []
        if self.method in RULE_METHODS:
            self._fit_rules(revenue, need)
            labels = self._predict_rules(revenue, need)
            self.cluster_centers_ = None
        else:
            k = _check_k(self.k, n)
            self.k_requested_ = k
            # scikit-learn's ConvergenceWarnings would reach the terminal raw; they are kept for the result's
            # notes instead. Other warnings pass through unchanged.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if k == "auto":
                    k, labels = self._fit_auto(X)
                else:
                    labels = self._fit_clusters(X, k)
            from sklearn.exceptions import ConvergenceWarning

            for w in caught:
                if issubclass(w.category, ConvergenceWarning):
                    if str(w.message) not in self.convergence_warnings_:
                        self.convergence_warnings_.append(str(w.message))
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            self.k_ = len(self.cluster_centers_)
            labels = self._drop_empty(labels)
            labels = self._order_by_value(X, labels, revenue)
        self.labels_ = labels
        if self.method in CLUSTER_METHODS and self.k_ > 1:
            self.scores_ = cluster_scores(X, labels, self.k_)

    def _fit_clusters(self, X: np.ndarray, k: int) -> np.ndarray:
        """Labels of ``X`` in at most ``k`` clusters (fewer when the rows the method fits on have fewer distinct
        values); sets ``cluster_centers_`` with one row per cluster."""
        rng = np.random.default_rng(self.seed)
        n = len(X)
        if self.method == "kmeans":
            C, labels, _ = kmeans_fit(X, k, seed=self.seed, sample_size=self.sample_size)
            self.cluster_centers_ = C
            return labels
        if self.method == "gmm":
            from sklearn.mixture import GaussianMixture

            S = X if n <= _GMM_SAMPLE else X[np.sort(rng.choice(n, _GMM_SAMPLE, replace=False))]
            k = min(k, distinct_rows(S))
            # reg_covar in scaled units (IQR = 1): imputed medians and clipped zeros form spikes on which a
            # component collapses with the default 1e-6; 1e-2 keeps the planted tiers (ARI 0.86 vs 0.77).
            with single_thread():
                gm = GaussianMixture(n_components=k, covariance_type="full", random_state=self.seed,
                                     reg_covar=1e-2).fit(S.astype(np.float64))
            self.gmm_ = {"weights": gm.weights_, "means": gm.means_, "covariances": gm.covariances_}
            self.cluster_centers_ = gm.means_
            return gmm_log_prob(X, gm.weights_, gm.means_, gm.covariances_).argmax(1)
        from sklearn.cluster import AgglomerativeClustering

        idx = np.arange(n) if n <= _WARD_SAMPLE else np.sort(rng.choice(n, _WARD_SAMPLE, replace=False))
        S = X[idx].astype(np.float64)
        k = min(k, distinct_rows(S))
        with single_thread():
            lab = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(S)
        counts = np.bincount(lab, minlength=k)
        C = np.stack([np.bincount(lab, weights=S[:, j], minlength=k) for j in range(S.shape[1])], 1)
        self.cluster_centers_ = C / np.maximum(counts, 1)[:, None]
        return nearest(X, self.cluster_centers_)[0]

    def _fit_auto(self, X: np.ndarray) -> tuple[int, np.ndarray]:
        """Score k = 2..10 and keep the best; k-means scans reuse the restarts' basin and refine afterwards."""
        n = len(X)
        lo, hi = K_RANGE
        # a segment is planned for (a coverage role, hours per account): with fewer than about AUTO_MIN_SEGMENT
        # accounts each on average it is noise (the Maven CRM book's 85 accounts got 9 segments)
        hi = min(hi, n - 1, max(lo, n // AUTO_MIN_SEGMENT))
        if hi < lo:
            raise ValueError(f"k='auto' needs at least {lo + 1} accounts")
        scan = X if n <= self.sample_size else X[np.sort(np.random.default_rng(self.seed).choice(
            n, self.sample_size, replace=False))]
        hi = min(hi, distinct_rows(scan))
        if hi < lo:  # the features do not separate the accounts into two groups: nothing to choose between
            return 1, self._fit_clusters(X, 1)
        rng = np.random.default_rng(self.seed + 7919)
        sil_idx = np.arange(n) if n <= _SILHOUETTE_SAMPLE else np.sort(rng.choice(n, _SILHOUETTE_SAMPLE,
                                                                                  replace=False))
        fits, rows = {}, []
        for k in range(lo, hi + 1):
            if self.method == "kmeans":
                # A scan-quality fit: sample restarts + a few full passes; the winner is refined below.
                from sklearn.cluster import KMeans

                with single_thread():
                    km = KMeans(n_clusters=k, n_init=3, random_state=self.seed).fit(scan)
                # One labelling pass over all rows; the scores below are exact for these labels, and only
                # the winning k pays for Lloyd iterations to convergence.
                labels = nearest(X, km.cluster_centers_)[0]
                fits[k] = km.cluster_centers_
            else:
                labels = self._fit_clusters(X, k)
                fits[k] = (self.cluster_centers_, getattr(self, "gmm_", None))
            sc = cluster_scores(X, labels, k)
            rows.append({"k": k, **sc, "_labels": labels[sil_idx]})
        sils = silhouette_many(X[sil_idx], [r.pop("_labels") for r in rows])
        for r, s in zip(rows, sils):
            r["silhouette"] = s
        table = pd.DataFrame(rows)
        rank = (table["calinski_harabasz"].rank(ascending=False, method="min")
                + table["davies_bouldin"].rank(ascending=True, method="min")
                + table["silhouette"].rank(ascending=False, method="min"))
        table["rank_sum"] = rank
        best = int(table.sort_values(["rank_sum", "k"]).iloc[0]["k"])
        table["chosen"] = table["k"] == best
        self.k_scores_ = [{k: (bool(v) if k == "chosen" else float(v) if k != "k" else int(v))
                           for k, v in r.items()} for r in table.to_dict("records")]
        if self.method == "kmeans":
            C, labels, _, _ = lloyd(X, fits[best])
            self.cluster_centers_ = C
        else:
            self.cluster_centers_, gmm = fits[best]
            if gmm is not None:
                self.gmm_ = gmm
            labels = self._predict_clusters(X)
        return best, labels

    def _drop_empty(self, labels: np.ndarray) -> np.ndarray:
        """Drop clusters without accounts (their centre won no row) and renumber the rest, order kept.

        A segment of nobody is no segment: it would be listed, named and given a coverage role.
        """
        k = self.k_
        used = np.bincount(labels, minlength=k) > 0
        if used.all():
            return labels
        new_id = np.cumsum(used) - 1
        self.cluster_centers_ = np.asarray(self.cluster_centers_)[used]
        if getattr(self, "gmm_", None) is not None:
            self.gmm_ = {key: np.asarray(v)[used] for key, v in self.gmm_.items()}
        self.k_ = int(used.sum())
        return new_id[labels].astype(np.int64)

    def _order_by_value(self, X: np.ndarray, labels: np.ndarray, revenue: np.ndarray) -> np.ndarray:
        """Renumber clusters so that segment 0 has the highest mean log revenue (stable, deterministic)."""
        k = self.k_
        lr = np.log1p(np.clip(np.nan_to_num(revenue), 0, None))
        counts = np.bincount(labels, minlength=k)
        means = np.bincount(labels, weights=lr, minlength=k) / np.maximum(counts, 1)
        means[counts == 0] = -np.inf
        order = np.argsort(-means, kind="stable")
        inv = np.empty(k, dtype=np.int64)
        inv[order] = np.arange(k)
        self.cluster_centers_ = np.asarray(self.cluster_centers_)[order]
        if getattr(self, "gmm_", None) is not None:
            self.gmm_ = {key: np.asarray(v)[order] for key, v in self.gmm_.items()}
        return inv[labels]

    def _fit_rules(self, revenue: np.ndarray, need: np.ndarray | None) -> None:
        rev = np.nan_to_num(revenue)
        if self.method == "abc":
            cuts = [float(c) for c in self.abc_cuts]
            if not cuts or any(not 0 < c < 1 for c in cuts) or sorted(cuts) != cuts:
                raise ValueError(f"ABC cut points must be increasing revenue shares between 0 and 1, got {cuts}")
            order = np.sort(rev)[::-1]
            total = order.sum()
            cum = np.cumsum(order) / (total if total > 0 else 1.0)
            # The account that crosses a cut still belongs to the tier above it; thresholds are revenue amounts
            # so that predict on new accounts applies the same rule.
            self.thresholds_ = [float(order[min(int(np.searchsorted(cum, c, side="left")), len(order) - 1)])
                                for c in cuts]
            self.k_ = len(cuts) + 1
            return
        if self.grid not in (2, 3):
            raise ValueError(f"the value × need matrix has 2 or 3 levels per axis, got grid={self.grid}")
        if need is None or not np.isfinite(need).any():
            raise ValueError("value × need tiers need the service_need column, and this book has none")
        g = int(self.grid)
        qs = [i / g for i in range(1, g)]
        need_f = np.where(np.isfinite(need), need, np.nanmedian(need))
        self.value_cuts_ = self._cuts(self.value_cuts, rev, qs, "value_cuts")
        self.need_cuts_ = self._cuts(self.need_cuts, need_f, qs, "need_cuts")
        self.need_fill_ = float(np.nanmedian(need))
        self.k_ = g * g

    def _cuts(self, given, values: np.ndarray, qs: list[float], label: str) -> list[float]:
        if given is None:
            return [float(v) for v in np.quantile(values, qs)]
        cuts = [float(c) for c in given]
        if len(cuts) != len(qs) or sorted(cuts) != cuts:
            raise ValueError(f"{label} must be {len(qs)} increasing number(s) for a {self.grid}×{self.grid} "
                             f"matrix, got {cuts}")
        return cuts

    # ------------------------------------------------------------------ predict
    def _predict_rules(self, revenue: np.ndarray, need: np.ndarray | None) -> np.ndarray:
        rev = np.nan_to_num(revenue)
        if self.method_ == "abc":
            return sum((rev < t).astype(np.int64) for t in self.thresholds_)
        g = len(self.value_cuts_) + 1
        nd = np.full(len(rev), self.need_fill_) if need is None else np.where(np.isfinite(need), need,
                                                                               self.need_fill_)
        v_level = np.searchsorted(np.asarray(self.value_cuts_), rev, side="right")
        n_level = np.searchsorted(np.asarray(self.need_cuts_), nd, side="right")
        # Highest value first, and within a value level the highest need first.
        return ((g - 1 - v_level) * g + (g - 1 - n_level)).astype(np.int64)

    def _predict_clusters(self, X: np.ndarray) -> np.ndarray:
        if self.method_ == "gmm":
            g = self.gmm_
            return gmm_log_prob(X, np.asarray(g["weights"]), np.asarray(g["means"]),
                                np.asarray(g["covariances"])).argmax(1)
        return nearest(X, np.asarray(self.cluster_centers_))[0]

    def predict(self, accounts: pd.DataFrame, history: pd.DataFrame | None = None) -> np.ndarray:
        """Segment id per row of ``accounts`` (a canonical accounts table), by the rules learned in ``fit``."""
        if not hasattr(self, "method_"):
            raise ValueError("the segmenter is not fitted yet")
        revenue = accounts["revenue_12m"].to_numpy(dtype="float64", na_value=0.0)
        if self.method_ in RULE_METHODS:
            return self._predict_rules(revenue, _service_need(accounts))
        raw = raw_features(accounts, history, self.feature_names_)
        n = len(accounts)
        T = np.column_stack([transform(raw[f], lg) if f in raw else np.full(n, np.nan)
                             for f, lg in zip(self.feature_names_, self.log_features_)])
        return self._predict_clusters(self.scaler_.transform(T))

    def _predict_raw(self, raw: dict[str, np.ndarray], revenue: np.ndarray, need: np.ndarray | None) -> np.ndarray:
        if self.method_ in RULE_METHODS:
            return self._predict_rules(revenue, need)
        T = np.column_stack([transform(raw[f], lg) for f, lg in zip(self.feature_names_, self.log_features_)])
        return self._predict_clusters(self.scaler_.transform(T))

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Everything needed to ``predict`` again, as JSON-ready numbers (no pickle)."""
        d = {"params": self.get_params(), "method": self.method_, "k": int(self.k_),
             "features": self.feature_names_, "log": [bool(v) for v in self.log_features_]}
        if self.method_ in RULE_METHODS:
            if self.method_ == "abc":
                d["thresholds"] = self.thresholds_
            else:
                d.update(value_cuts=self.value_cuts_, need_cuts=self.need_cuts_, need_fill=self.need_fill_)
            return d
        d["scaler"] = {"center": self.scaler_.center_.tolist(), "scale": self.scaler_.scale_.tolist(),
                       "lower": self.scaler_.lower_.tolist(), "upper": self.scaler_.upper_.tolist()}
        d["centers"] = np.asarray(self.cluster_centers_).tolist()
        if self.method_ == "gmm":
            d["gmm"] = {key: np.asarray(v).tolist() for key, v in self.gmm_.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AccountSegmenter:
        """Rebuild a fitted segmenter from ``to_dict`` output."""
        p = dict(d["params"])
        seg = cls(**p)
        seg.method_ = d["method"]
        seg.k_ = int(d["k"])
        seg.feature_names_ = list(d["features"])
        seg.log_features_ = [bool(v) for v in d.get("log", [FEATURES[f].log if f in FEATURES else True
                                                           for f in seg.feature_names_])]
        if seg.method_ == "abc":
            seg.thresholds_ = [float(t) for t in d["thresholds"]]
        elif seg.method_ == "value-need":
            seg.value_cuts_, seg.need_cuts_ = list(d["value_cuts"]), list(d["need_cuts"])
            seg.need_fill_ = float(d["need_fill"])
        else:
            seg.scaler_ = RobustScaler()
            seg.scaler_.center_ = np.asarray(d["scaler"]["center"], dtype=float)
            seg.scaler_.scale_ = np.asarray(d["scaler"]["scale"], dtype=float)
            seg.scaler_.lower_ = np.asarray(d["scaler"]["lower"], dtype=float)
            seg.scaler_.upper_ = np.asarray(d["scaler"]["upper"], dtype=float)
            seg.cluster_centers_ = np.asarray(d["centers"], dtype=float)
            if seg.method_ == "gmm":
                seg.gmm_ = {key: np.asarray(v, dtype=float) for key, v in d["gmm"].items()}
        return seg


def _service_need(accounts: pd.DataFrame) -> np.ndarray | None:
    if "service_need" not in accounts.columns:
        return None
    return pd.to_numeric(accounts["service_need"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

"""Segment accounts by value and need: clusters or tier rules → named profiles → coverage model and capacity gap.

``segment(book, method="kmeans", k=4, seed=0)`` is what the pipeline calls; it returns a
``workbench.results.Segmentation`` whose ``params`` reproduce it and whose ``quality["model"]`` lets
``reapply`` label new accounts the same way. ``rename`` and ``set_coverage`` return an edited copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..results import Segmentation
from .features import DEFAULT_FEATURES, FEATURES, available_features, raw_features
from .profiles import (
    COVERAGE_PRACTICE,
    ROLES,
    TIERS,
    apply_coverage,
    apply_names,
    auto_names,
    build_profiles,
    capacity_gap,
    default_coverage,
)
from .segmenter import CLUSTER_METHODS, K_RANGE, METHODS, RULE_METHODS, AccountSegmenter

__all__ = [
    "segment", "reapply", "rename", "set_coverage", "stability", "capacity_gap", "accounts_in_region",
    "AccountSegmenter", "FEATURES", "DEFAULT_FEATURES", "available_features", "METHODS", "CLUSTER_METHODS",
    "RULE_METHODS", "K_RANGE", "ROLES", "TIERS", "COVERAGE_PRACTICE", "STABLE_ARI", "MODERATE_ARI",
]

#: Adjusted Rand index across refits at or above which segments count as stable / moderately stable.
STABLE_ARI = 0.8
MODERATE_ARI = 0.6
_STABILITY_SAMPLE = 5_000

_TEXT = {
    "unstable": ("Segments are not stable: refitting on resampled accounts agrees only {ari:.0%} with this result "
                 "(adjusted Rand index {ari:.2f}). Try fewer segments or other features before acting on them."),
    "moderate": ("Segments are only moderately stable (adjusted Rand index {ari:.2f} across refits): accounts near "
                 "segment borders may switch segment; check them before moving owners."),
    "imputed": "{feature} is missing for {share:.0%} of accounts; they were placed at the median.",
    "one_segment": ("1 segment: the features do not separate these accounts ({why}). Segments need accounts that "
                    "differ: fill revenue, potential or service need in the export, choose other features, or tier "
                    "the accounts by revenue share (method 'abc')."),
    "fewer": "{asked} segments were asked for, but the features separate these accounts into only {k} ({why}).",
    "fewer_why": "many accounts share the same feature values",
    "flat": "{feature} is {value} for {count:,} of {n:,} accounts",
    "flat_all": "{feature} is {value} for every account",
    "flat_clipped": "; the other {rest:,} lie beyond the 1st–99th percentile the features are clipped to",
    "absent": "the book has no {columns} values",
    "constant": "{desc}, so {feature} does not separate the accounts.",
    "empty_tier": "{name} has no accounts in this book.",
    "convergence": ("The clustering did not fully converge ({message}); another seed may give somewhat different "
                    "segments."),
}

#: Account columns behind the default features, for messages that tell the user what to fill in.
_DEFAULT_COLUMNS = {"revenue": "revenue_12m", "headroom": "potential", "service_need": "service_need"}


def stability(segmenter: AccountSegmenter, raw: dict[str, np.ndarray], revenue: np.ndarray,
              need: np.ndarray | None, runs: int = 5, sample: int = _STABILITY_SAMPLE) -> dict:
    """Adjusted Rand index between the fitted labels and refits on bootstrap samples with other seeds.

    Each run draws a bootstrap sample of (at most ``sample``) accounts, fits the same method and k with seed
    ``seed + run + 1`` and labels the base sample; the ARI against the fitted labels is recorded.

    Returns
    -------
    ``{"ari": mean, "ari_min": min, "runs": [...], "level": "stable" | "moderate" | "unstable"}``.
    """
    from sklearn.metrics import adjusted_rand_score

    if segmenter.k_ < 2:
        # Every refit agrees with one segment (ARI 1): that says nothing about stability.
        return {"ari": None, "ari_min": None, "runs": [], "level": "one segment"}
    n = len(revenue)
    rng = np.random.default_rng(int(segmenter.seed) + 104729)
    base = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    params = segmenter.get_params()
    params["k"] = segmenter.k_
    params["features"] = segmenter.feature_names_
    scores = []
    for r in range(runs):
        boot = base[rng.integers(0, len(base), len(base))]
        p = dict(params, seed=int(segmenter.seed) + r + 1)
        if segmenter.method_ in CLUSTER_METHODS and len(np.unique(boot)) <= segmenter.k_:
            continue
        refit = AccountSegmenter(**p)
        refit._fit_raw({f: v[boot] for f, v in raw.items()}, revenue[boot], None if need is None else need[boot])
        pred = refit._predict_raw({f: v[base] for f, v in raw.items()}, revenue[base],
                                  None if need is None else need[base])
        scores.append(float(adjusted_rand_score(segmenter.labels_[base], pred)))
    if not scores:
        return {"ari": None, "ari_min": None, "runs": [], "level": "unknown"}
    ari = float(np.mean(scores))
    level = "stable" if ari >= STABLE_ARI else "moderate" if ari >= MODERATE_ARI else "unstable"
    return {"ari": ari, "ari_min": float(np.min(scores)), "runs": scores, "level": level}


def _stability_warning(stab: dict) -> str:
    if stab.get("level") == "unstable":
        return _TEXT["unstable"].format(ari=stab["ari"])
    if stab.get("level") == "moderate":
        return _TEXT["moderate"].format(ari=stab["ari"])
    return ""


def _flat(name: str, values: np.ndarray) -> str:
    """'revenue (revenue_12m) is 0 for 421 of 423 accounts; the other 2 …' for a feature that does not vary."""
    col = FEATURES[name].columns[0] if name in FEATURES and FEATURES[name].columns else None
    label = f"{name} ({col})" if col and col != name else name
    finite = values[np.isfinite(values)]
    vals, counts = np.unique(finite, return_counts=True)
    top = int(np.argmax(counts))
    value, count = f"{vals[top]:,.6g}", int(counts[top])
    if count == len(values):
        return _TEXT["flat_all"].format(feature=label, value=value)
    text = _TEXT["flat"].format(feature=label, value=value, count=count, n=len(values))
    rest = len(finite) - count
    return text + (_TEXT["flat_clipped"].format(rest=rest) if rest else "")


def _fit_messages(seg: AccountSegmenter, raw: dict[str, np.ndarray], chosen: bool) -> tuple[list[str], list[str]]:
    """Warnings and notes about what the fit could not do as asked: fewer segments than asked for (and why),
    features that do not vary, empty rule tiers, convergence. ``chosen``: the caller named the features.
    """
    warn, notes = [], []
    flat = {f: _flat(f, raw[f]) for f in seg.constant_features_}
    why = list(flat.values())
    if not chosen:
        absent = [c for f, c in _DEFAULT_COLUMNS.items() if f not in seg.feature_names_]
        if absent:
            why.append(_TEXT["absent"].format(columns=" or ".join(dict.fromkeys(absent))))
    asked = seg.k_requested_
    if seg.method_ in CLUSTER_METHODS and seg.k_ == 1 and asked != 1:
        warn.append(_TEXT["one_segment"].format(why="; ".join(why) or _TEXT["fewer_why"]))
    elif seg.method_ in CLUSTER_METHODS and isinstance(asked, int) and seg.k_ < asked:
        warn.append(_TEXT["fewer"].format(asked=asked, k=seg.k_, why="; ".join(flat.values()) or _TEXT["fewer_why"]))
        notes += [_TEXT["constant"].format(desc=d, feature=f) for f, d in flat.items()]
    else:
        notes += [_TEXT["constant"].format(desc=d, feature=f) for f, d in flat.items()]
    notes += [_TEXT["convergence"].format(message=m.rstrip(".")) for m in seg.convergence_warnings_]
    return warn, notes


def _need(accounts: pd.DataFrame) -> np.ndarray | None:
    if "service_need" not in accounts.columns:
        return None
    return pd.to_numeric(accounts["service_need"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _assemble(book, seg: AccountSegmenter, labels: np.ndarray, raw: dict[str, np.ndarray], params: dict,
              quality: dict, names: dict | None, coverage: dict | None) -> Segmentation:
    accounts = book.accounts
    model = seg.to_dict()
    profiles = build_profiles(accounts, labels, seg.k_, raw)
    auto = auto_names(profiles, seg.method_, model)
    final = apply_names(auto, names)
    profiles.insert(1, "segment", final)
    profiles.insert(2, "auto_name", auto)
    cov = default_coverage(profiles, final, book.managers)
    cov = apply_coverage(cov, profiles, book.managers, coverage)
    label_frame = pd.DataFrame({"account_id": accounts["account_id"].to_numpy(),
                                "segment_id": labels.astype("int64"),
                                "segment": np.asarray(final, dtype=object)[labels]})
    quality = dict(quality, model=model,
                   capacity_gap=capacity_gap(cov, book.managers).to_dict("records"))
    return Segmentation(labels=label_frame, profiles=profiles, coverage=cov, params=params, quality=quality)


def segment(book, method: str = "kmeans", k: int | str = 5, features=None, seed: int = 0,
            names: dict | None = None, coverage: dict | None = None, abc_cuts: tuple[float, ...] = (0.8, 0.95),
            grid: int = 2, value_cuts: list[float] | None = None, need_cuts: list[float] | None = None,
            stability_runs: int = 5, progress: Callable[[str, float], None] | None = None) -> Segmentation:
    """Segment the accounts of ``book`` and attach profiles, names and the coverage model.

    Parameters
    ----------
    book : ``AccountBook`` (accounts, managers, optional history).
    method : ``"kmeans"`` (default), ``"gmm"``, ``"hierarchical"``, ``"abc"`` or ``"value-need"``.
    k : number of segments, or ``"auto"`` (k = 2..10 scored by Calinski–Harabasz, Davies–Bouldin and a
        silhouette on a sample of 5,000 accounts; the scores are in ``quality["k_scores"]``). Ignored by rule methods.
    features : feature names or a comma-separated string (``workbench.segment.FEATURES``); default
        revenue, headroom (potential relative to revenue) and service_need (those the book has), amounts
        log-transformed, all robust-scaled.
    seed : random seed; same book + parameters + seed → identical segments.
    names : ``{segment_id: name}`` replacing the automatic business names.
    coverage : ``{segment_id: {"role", "accounts_per_manager" | "hours_per_account"}}`` edits of the coverage
        model (accounts per manager, hours per account per year).
    abc_cuts : cumulative revenue shares closing the ABC tiers.
    grid, value_cuts, need_cuts : the value × need matrix: 2 or 3 levels per axis, cut points in revenue
        (currency/year) and service need (hours/year); default the book's quantiles.
    stability_runs : bootstrap refits for the stability score (0 skips it).
    progress : optional ``progress(stage, fraction)`` callback for long books.

    Returns
    -------
    Segmentation : ``labels``, ``profiles``, ``coverage`` (see ``workbench.results``); ``quality`` holds
        ``stability`` (ARI), ``warning`` (plain text, empty when stable), the cluster scores, ``k_scores``
        for ``k="auto"``, ``capacity_gap`` and ``model`` (fitted numbers for ``reapply``).
    """
    say = progress or (lambda stage, frac: None)
    t0 = time.perf_counter()
    seg = AccountSegmenter(method=method, k=k, features=features, seed=seed, abc_cuts=tuple(abc_cuts),
                           grid=grid, value_cuts=value_cuts, need_cuts=need_cuts)
    say("fit", 0.0)
    raw, rev, need = seg._inputs(book.accounts, book.history)
    seg._fit_raw(raw, rev, need)
    fit_seconds = time.perf_counter() - t0
    labels = seg.labels_
    say("stability", 0.6)
    stab = {"ari": None, "ari_min": None, "runs": [], "level": "not computed"}
    if stability_runs > 0:
        stab = stability(seg, raw, rev, need, runs=stability_runs)
    say("profiles", 0.85)
    fit_warnings, fit_notes = _fit_messages(seg, raw, features is not None)
    notes = [_TEXT["imputed"].format(feature=f, share=s) for f, s in seg.missing_share_.items() if s > 0]
    notes += fit_notes
    warning = " ".join(t for t in [*fit_warnings, _stability_warning(stab)] if t)
    quality = {"method": seg.method_, "k": int(seg.k_), "k_requested": seg.k_requested_,
               "features": seg.feature_names_,
               "stability": stab["ari"], "stability_min": stab["ari_min"], "stability_runs": stab["runs"],
               "stability_level": stab["level"], "warning": warning, "notes": notes,
               **{key: float(v) for key, v in seg.scores_.items()},
               "k_scores": seg.k_scores_, "fit_seconds": fit_seconds}
    params = {**seg.get_params(), "names": {str(i): v for i, v in (names or {}).items()},
              "coverage": {str(i): dict(v) for i, v in (coverage or {}).items()},
              "stability_runs": int(stability_runs)}
    out = _assemble(book, seg, labels, raw, params, quality, names, coverage)
    empty = [_TEXT["empty_tier"].format(name=r.segment) for r in out.profiles.itertuples() if r.n_accounts == 0]
    if empty:  # a rule's tier can be empty in a book (a cluster cannot: empty clusters are dropped in the fit)
        out.quality["warning"] = " ".join(t for t in [*empty, out.quality["warning"]] if t)
    out.quality["seconds"] = time.perf_counter() - t0
    say("done", 1.0)
    return out


def reapply(segmentation: Segmentation, book) -> Segmentation:
    """Label ``book``'s accounts with a saved segmentation's fitted model (no refit), keeping its names and
    coverage edits. Profiles, coverage counts and capacity gap are those of the new book.
    """
    model = segmentation.quality.get("model") if segmentation.quality else None
    if not model:
        raise ValueError("this segmentation carries no fitted model to re-apply (was it saved by segment()?)")
    seg = AccountSegmenter.from_dict(model)
    labels = seg.predict(book.accounts, book.history).astype("int64")
    raw = raw_features(book.accounts, book.history, seg.feature_names_)
    params = dict(segmentation.params, reapplied=True)
    names = params.get("names") or {}
    cov = params.get("coverage") or {}
    quality = {"method": seg.method_, "k": int(seg.k_), "features": seg.feature_names_, "stability": None,
               "stability_level": "not computed", "warning": "", "k_scores": None,
               "notes": ["Segments re-applied from a saved model; not refitted on this book."]}
    return _assemble(book, seg, labels, raw, params, quality, names, cov)


def rename(segmentation: Segmentation, names: dict, merge: bool = True) -> Segmentation:
    """A copy of ``segmentation`` with segments renamed (``{segment_id: name}``).

    With ``merge`` the names are laid over earlier renames; without, they replace them (segments not named
    go back to their automatic name).
    """
    merged = {**(segmentation.params.get("names") or {})} if merge else {}
    merged.update({str(k): v for k, v in names.items()})
    final = apply_names(list(segmentation.profiles["auto_name"]), merged)
    profiles = segmentation.profiles.copy()
    profiles["segment"] = final
    labels = segmentation.labels.copy()
    labels["segment"] = np.asarray(final, dtype=object)[labels["segment_id"].to_numpy()]
    cov = segmentation.coverage.copy()
    cov["segment"] = np.asarray(final, dtype=object)[cov["segment_id"].to_numpy()]
    return Segmentation(labels=labels, profiles=profiles, coverage=cov,
                        params=dict(segmentation.params, names=merged), quality=dict(segmentation.quality))


def set_coverage(segmentation: Segmentation, edits: dict, managers: pd.DataFrame | None) -> Segmentation:
    """A copy with the coverage model edited (see ``apply_coverage``) and the capacity gap recomputed against
    ``managers`` (the current team).
    """
    merged = {**(segmentation.params.get("coverage") or {})}
    for key, v in edits.items():
        merged[str(key)] = {**merged.get(str(key), {}), **dict(v)}
    cov = apply_coverage(segmentation.coverage, segmentation.profiles, managers, edits)
    quality = dict(segmentation.quality, capacity_gap=capacity_gap(cov, managers).to_dict("records"))
    return Segmentation(labels=segmentation.labels, profiles=segmentation.profiles, coverage=cov,
                        params=dict(segmentation.params, coverage=merged), quality=quality)


def accounts_in_region(accounts: pd.DataFrame, segmentation: Segmentation,
                       revenue: tuple[float, float] | None = None, need: tuple[float, float] | None = None,
                       segments: list[int] | None = None, limit: int = 200) -> pd.DataFrame:
    """Accounts whose revenue (currency/year) and service need (hours/year) fall in the given closed ranges,
    with their segment, largest revenue first (at most ``limit`` rows) — the list behind a scatter selection.
    ``result.attrs["matches"]`` holds how many accounts matched in all.
    """
    mask = np.ones(len(accounts), dtype=bool)
    rev = pd.to_numeric(accounts["revenue_12m"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if revenue is not None:
        mask &= (rev >= revenue[0]) & (rev <= revenue[1])
    if need is not None:
        nd = _need(accounts)
        if nd is not None:
            mask &= (nd >= need[0]) & (nd <= need[1])
    seg_ids = segmentation.labels["segment_id"].to_numpy()
    if segments is not None:
        mask &= np.isin(seg_ids, list(segments))
    cols = [c for c in ("account_id", "name", "industry", "region", "revenue_12m", "potential", "service_need",
                        "owner_id") if c in accounts.columns]
    idx = np.flatnonzero(mask)
    if len(idx) > limit:
        # Top `limit` by revenue without sorting every match (a brush over a 1M book can cover most of it).
        part = np.argpartition(-np.nan_to_num(rev[idx], nan=-np.inf), limit - 1)[:limit]
        idx = idx[part]
    out = accounts.iloc[idx][cols].copy()
    out.insert(1, "segment", segmentation.labels["segment"].to_numpy()[idx])
    out = out.sort_values("revenue_12m", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["matches"] = int(mask.sum())
    return out

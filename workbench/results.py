"""Result types passed between the steps of the flow: Segmentation → Assignment → Projection.

Each is a plain dataclass of pandas frames and dicts so that a batch job, a widget and the scenario store
handle them alike. Stage modules fill them; nothing here computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Segmentation", "Assignment", "Projection", "RunResult", "save_result", "load_result", "split_timing",
           "join_timing"]


@dataclass
class Segmentation:
    """Segment per account, segment profiles and the coverage model.

    labels : one row per account: ``account_id``, ``segment_id`` (int, 0..k-1), ``segment`` (business name).
    profiles : one row per segment: ``segment_id``, ``segment``, ``n_accounts``, ``revenue_share`` and feature
        statistics.
    coverage : one row per segment: ``segment_id``, ``segment``, ``role`` (serving role),
        ``hours_per_account`` (hours per account per year), ``accounts_per_manager``.
    params : every parameter that produced it (enough to reproduce it).
    quality : fit diagnostics (for example stability, silhouette).
    """

    labels: pd.DataFrame
    profiles: pd.DataFrame
    coverage: pd.DataFrame
    params: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)


@dataclass
class Assignment:
    """Owner per account after reallocation, the moves with reasons, and per-manager loads before/after.

    owners : one row per account: ``account_id``, ``from_manager``, ``to_manager``, ``hours`` (annual hours the
        account needs under the coverage model).
    moves : the accounts whose owner changes: ``account_id``, ``from_manager``, ``to_manager``, ``reason``.
    loads : one row per manager: ``manager_id``, ``name``, ``role``, ``capacity_hours``, ``target_hours``,
        ``band_low``, ``band_high``, ``accounts_before``, ``accounts_after``, ``hours_before``, ``hours_after``,
        ``revenue_before``, ``revenue_after``.
    params : every parameter that produced it.
    stats : solver figures (objective, lower bound, gap, seconds, status).
    """

    owners: pd.DataFrame
    moves: pd.DataFrame
    loads: pd.DataFrame
    params: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)


@dataclass
class Projection:
    """Projected KPIs, baseline vs scenario.

    kpis : ``{key: {"label", "unit", "baseline", "scenario", "delta", "p10", "p50", "p90"}}``; p-values are
        ``None`` when no Monte Carlo ran.
    series : monthly totals over the horizon: ``month`` (1..H), ``baseline``, ``scenario`` and, with draws,
        ``scenario_p10``, ``scenario_p50``, ``scenario_p90``.
    by_segment, by_manager : KPI tables per segment and per manager.
    assumptions : the assumption values used (name → value).
    params : every parameter that produced it.
    """

    kpis: dict
    series: pd.DataFrame
    by_segment: pd.DataFrame
    by_manager: pd.DataFrame
    assumptions: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


@dataclass
class RunResult:
    """The whole flow's results for one book and one parameter set."""

    segmentation: Segmentation
    assignment: Assignment
    projection: Projection
    params: dict
    fingerprint: str


def _is_timing(key) -> bool:
    return isinstance(key, str) and (key == "seconds" or key.endswith("_seconds"))


def split_timing(obj):
    """``(obj without clock times, the clock times)``: every dict key ``seconds`` or ``*_seconds``, at any depth,
    moves into a second dict of the same shape. Result files keep the first (identical between identical runs)
    and write the second apart (``timing.json``)."""
    if not isinstance(obj, dict):
        return obj, {}
    clean, timing = {}, {}
    for key, value in obj.items():
        if _is_timing(key):
            timing[key] = value
            continue
        clean[key], sub = split_timing(value)
        if sub:
            timing[key] = sub
    return clean, timing


def join_timing(obj, timing: dict):
    """The inverse of ``split_timing``: the clock times put back where they were."""
    if not isinstance(obj, dict) or not timing:
        return obj
    out = dict(obj)
    for key, value in timing.items():
        out[key] = join_timing(out.get(key), value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


def save_result(obj, folder) -> None:
    """Write a result dataclass to ``folder``: each frame as ``<field>.parquet``, the dicts in ``meta.json``.

    Clock times (``seconds``, ``solver_seconds`` …) go to ``timing.json`` beside it, so ``meta.json`` is the same
    for the same result; ``load_result`` puts them back.
    """
    import dataclasses
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"type": type(obj).__name__}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, pd.DataFrame):
            value.to_parquet(folder / f"{f.name}.parquet", index=False)
        else:
            meta[f.name] = value
    meta, timing = split_timing(meta)
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=_json_default), encoding="utf-8")
    if timing:
        (folder / "timing.json").write_text(json.dumps(timing, indent=2, default=_json_default), encoding="utf-8")
    else:
        (folder / "timing.json").unlink(missing_ok=True)


def load_result(cls, folder):
    """Read back what ``save_result`` wrote for result class ``cls``."""
    import dataclasses
    import json
    from pathlib import Path

    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{folder} holds no saved {cls.__name__} (meta.json is missing)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("type") != cls.__name__:
        found, want = str(meta.get("type")), cls.__name__
        raise ValueError(f"{folder} holds {_article(found)} {found}, not {_article(want)} {want}")
    if (folder / "timing.json").exists():
        meta = join_timing(meta, json.loads((folder / "timing.json").read_text(encoding="utf-8")))
    kwargs = {}
    for f in dataclasses.fields(cls):
        path = folder / f"{f.name}.parquet"
        if path.exists():
            kwargs[f.name] = pd.read_parquet(path)
        elif f.name in meta:
            kwargs[f.name] = meta[f.name]
    return cls(**kwargs)


def _json_default(v):
    import numpy as np

    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


def _article(word: str) -> str:
    """'a' or 'an' before a type name ("an Assignment", "a Segmentation")."""
    return "an" if word[:1].lower() in "aeiou" else "a"

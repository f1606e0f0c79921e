"""The whole flow for one book and one parameter set: segment → reallocate → project.

Parameters are a nested dict ``{"segment": {...}, "allocate": {...}, "kpi": {...}}``; each stage receives its
own section as keyword arguments. ``set_param`` turns CLI ``key=value`` strings into that dict.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path

from .allocate import reallocate
from .book import AccountBook
from .kpi import project
from .results import RunResult
from .segment import segment

__all__ = ["DEFAULT_PARAMS", "run", "set_param", "merge_params", "write_results"]

DEFAULT_PARAMS: dict = {
    "segment": {"method": "kmeans", "k": 5, "seed": 0},
    "allocate": {"band": 0.15},
    "kpi": {"horizon_months": 12, "draws": 0, "seed": 0},
}


def merge_params(params: dict | None) -> dict:
    """Defaults overlaid with ``params`` (section by section); unknown sections are an error."""
    out = copy.deepcopy(DEFAULT_PARAMS)
    for section, values in (params or {}).items():
        if section not in out:
            raise ValueError(f"unknown parameter section {section!r}; expected one of {sorted(out)}")
        out[section].update(values or {})
    return out


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def set_param(params: dict, assignment: str) -> dict:
    """Apply one ``section.key=value`` string (value parsed as JSON when it can be) to ``params`` in place."""
    key, sep, value = assignment.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not name:
        raise ValueError(f"--set expects section.key=value (for example segment.k=5), got {assignment!r}")
    if section not in DEFAULT_PARAMS:
        raise ValueError(f"unknown parameter section {section!r} in {assignment!r}; expected one of {sorted(DEFAULT_PARAMS)}")
    params.setdefault(section, {})[name] = _parse_value(value.strip())
    return params


def run(book: AccountBook, params: dict | None = None,
        progress: Callable[[str, float], None] | None = None) -> RunResult:
    """Run segment → reallocate → project on ``book``. ``progress(stage, fraction)`` is called between stages."""
    p = merge_params(params)
    timings = {}
    say = progress or (lambda stage, frac: None)
    say("segment", 0.0)
    t = time.perf_counter()
    seg = segment(book, **p["segment"])
    timings["segment"] = time.perf_counter() - t
    say("reallocate", 1 / 3)
    t = time.perf_counter()
    asg = reallocate(book, seg, **p["allocate"],
                     progress=lambda stage, frac: say(f"reallocate: {stage}", (1 + min(frac, 0.99)) / 3))
    timings["reallocate"] = time.perf_counter() - t
    say("project", 2 / 3)
    t = time.perf_counter()
    proj = project(book, seg, asg, **p["kpi"])
    timings["project"] = time.perf_counter() - t
    say("done", 1.0)
    res = RunResult(segmentation=seg, assignment=asg, projection=proj, params=p, fingerprint=book.fingerprint())
    res.timings = timings  # type: ignore[attr-defined]
    return res


def write_results(result: RunResult, out: str | Path) -> Path:
    """Write ``segments.csv``, ``moves.csv``, ``managers.csv`` (loads before/after), ``series.csv`` (monthly
    baseline vs scenario) and ``kpis.json`` to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result.segmentation.labels.to_csv(out / "segments.csv", index=False)
    result.assignment.moves[["account_id", "from_manager", "to_manager", "reason"]].to_csv(out / "moves.csv", index=False)
    result.assignment.loads.to_csv(out / "managers.csv", index=False)
    result.projection.series.to_csv(out / "series.csv", index=False)
    payload = {"fingerprint": result.fingerprint, "params": result.params, "kpis": result.projection.kpis,
               "allocation": result.assignment.stats, "segmentation": result.segmentation.quality}
    (out / "kpis.json").write_text(json.dumps(payload, indent=2, default=float), encoding="utf-8")
    return out

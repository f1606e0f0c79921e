"""The whole flow for one book and one parameter set: segment → reallocate → project.

Parameters are a nested dict ``{"segment": {...}, "allocate": {...}, "kpi": {...}}``; each stage receives its
own section as keyword arguments (``PARAM_KEYS`` lists what each accepts; anything else is refused before any
work). ``set_param`` turns CLI ``key=value`` strings into that dict.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path

from .allocate import reallocate
from .book import AccountBook
from .kpi import project
from .results import RunResult, split_timing
from .segment import segment

__all__ = ["DEFAULT_PARAMS", "PARAM_KEYS", "RESULT_FILES", "run", "set_param", "merge_params", "check_params",
           "write_results"]

DEFAULT_PARAMS: dict = {
    "segment": {"method": "kmeans", "k": 5, "seed": 0},
    "allocate": {"band": 0.15},
    "kpi": {"horizon_months": 12, "draws": 0, "seed": 0},
}


#: the stage function's arguments that are data or callbacks, not parameters a run can set
_NOT_PARAMS = {"book", "segmentation", "assignment", "base", "progress"}
#: the keys each section accepts: the keyword arguments of segment(), reallocate() and project()
PARAM_KEYS: dict[str, tuple[str, ...]] = {
    section: tuple(sorted(k for k in inspect.signature(fn).parameters if k not in _NOT_PARAMS))
    for section, fn in (("segment", segment), ("allocate", reallocate), ("kpi", project))}


def check_params(params: dict | None) -> None:
    """Refuse unknown sections and keys before any work, in one sentence that lists the valid keys (and the
    closest one, for a typo). Values are checked by the stages themselves."""
    for section, values in (params or {}).items():
        if section not in PARAM_KEYS:
            raise ValueError(f"unknown parameter section {section!r}; expected one of {sorted(PARAM_KEYS)}")
        if values is not None and not isinstance(values, dict):
            raise ValueError(f"parameter section {section!r} must be a mapping of key: value, got {values!r}")
        for key in values or {}:
            if key not in PARAM_KEYS[section]:
                close = difflib.get_close_matches(str(key), PARAM_KEYS[section], n=1)
                hint = f" (did you mean {section}.{close[0]}?)" if close else ""
                raise ValueError(f"unknown parameter {section}.{key}{hint}; {section} takes "
                                 f"{', '.join(PARAM_KEYS[section])}")


def merge_params(params: dict | None) -> dict:
    """Defaults overlaid with ``params`` (section by section); unknown sections and keys are an error."""
    check_params(params)
    out = copy.deepcopy(DEFAULT_PARAMS)
    for section, values in (params or {}).items():
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
    check_params({section: {name: None}})
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


#: what ``write_results`` writes, in its order (the CRM move files come from ``workbench.crm``)
RESULT_FILES = ("segments.csv", "moves.csv", "managers.csv", "series.csv", "kpis.json", "timing.json")


def write_results(result: RunResult, out: str | Path) -> Path:
    """Write ``segments.csv``, ``moves.csv`` (every move with its reason code, segment, hours and revenue, as
    ``workbench reallocate`` writes it), ``managers.csv`` (loads before/after), ``series.csv`` (monthly baseline
    vs scenario), ``kpis.json`` and ``timing.json`` to ``out``.

    ``kpis.json`` holds no clock time, so two runs of the same book and parameters give byte-identical files; the
    seconds each stage took (and the solver's and the segmentation's own timings) are in ``timing.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result.segmentation.labels.to_csv(out / "segments.csv", index=False)
    result.assignment.moves.to_csv(out / "moves.csv", index=False)
    result.assignment.loads.to_csv(out / "managers.csv", index=False)
    result.projection.series.to_csv(out / "series.csv", index=False)
    payload, timing = split_timing({"fingerprint": result.fingerprint, "params": result.params,
                                    "kpis": result.projection.kpis, "allocation": result.assignment.stats,
                                    "segmentation": result.segmentation.quality})
    timing["stages"] = getattr(result, "timings", {})
    (out / "kpis.json").write_text(json.dumps(payload, indent=2, default=float), encoding="utf-8")
    (out / "timing.json").write_text(json.dumps(timing, indent=2, default=float), encoding="utf-8")
    return out

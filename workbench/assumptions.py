"""The KPI projection's assumptions: every number it uses, with default, range, unit and source; YAML in and out.

An ``Assumptions`` object is immutable in use: ``with_values(name=value)`` returns a changed copy, so a
scenario can keep the exact set it was projected with. Values outside their stated range are refused with
a message naming the assumption, the value and the range.

Monte Carlo draws each uncertain assumption around the value in use, not from the fixed range: triangular
with mode = value over ``Assumption.draw_range()``, which keeps the range's relative width (half its width over
its midpoint: 10–20 % is ± 1/3) around the value (15 % → 10–20 %, 10 % → 6.7–13.3 %), or its absolute half-width
when the range holds negative values (growth −5 … +10 % → ± 7.5 points), cut at what the quantity can physically
be (a share stays within 0–1). Drawing from the fixed range put a value at its end at the end of the draws too:
with the handover loss at 10 % every draw lost more, and the revenue card's P10–P90 band lay wholly below its
own value. Now the value is the mode and, unless a physical bound cuts the range, the median of its draws, so a
KPI's value sits inside its band; only an assumption set at a physical bound (``Assumptions.one_sided()``) can
push a band to one side of the value, and the app says so.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from math import inf
from pathlib import Path

import pandas as pd

__all__ = ["Assumption", "Assumptions", "DEFAULT_ASSUMPTIONS", "AssumptionError"]


class AssumptionError(ValueError):
    """An assumption value or file cannot be used; the message is one plain sentence."""


@dataclass(frozen=True)
class Assumption:
    """One number of the projection.

    Parameters
    ----------
    name : key used in code, YAML and ``Projection.assumptions``.
    label : short human label for the UI.
    value : the value used (in ``unit``).
    low, high : the plausible range (inclusive); editing is limited to it, and its relative width is how far
        Monte Carlo draws vary around the value (``draw_range``).
    unit : ``"share"`` (0..1), ``"share/year"``, ``"elasticity"``, ``"months"``, ``"ratio"`` or a currency per hour.
    source : where the default and range come from.
    uncertain : drawn in Monte Carlo (triangular over ``draw_range()``, mode = value) when True.
    bounds : what the quantity can physically be (a share 0..1, a cap on a ratio at least 1); the model's, not a
        company's: draws are cut there and a stated range must lie inside it.
    """

    name: str
    label: str
    value: float
    low: float
    high: float
    unit: str
    source: str
    uncertain: bool = True
    bounds: tuple[float, float] = (-inf, inf)

    def draw_range(self) -> tuple[float, float]:
        """Where Monte Carlo draws this assumption (triangular, mode = ``value``): the range's relative width
        around the value, ``value × (1 ± (high − low) / (high + low))``, or for a range that holds negative
        values its absolute half-width, ``value ± (high − low) / 2``; cut at ``bounds``. ``(value, value)`` when
        the assumption is not uncertain or its range is a single point."""
        v = float(self.value)
        if not self.uncertain or not self.high > self.low:
            return v, v
        if self.low >= 0:
            w = (self.high - self.low) / (self.high + self.low) * abs(v)
        else:
            w = (self.high - self.low) / 2.0
        return max(v - w, self.bounds[0]), min(v + w, self.bounds[1])

    def one_sided(self) -> bool:
        """True when a physical bound cuts the draw range so far on one side that fewer than 10 % of the draws
        fall on that side of the value: KPI bands can then lie wholly to one side of the KPI's value."""
        lo, hi = self.draw_range()
        if not hi > lo:
            return False
        below = (self.value - lo) / (hi - lo)  # triangular with mode = value: P(draw < value)
        return below < 0.1 or below > 0.9


_DEFAULTS: tuple[Assumption, ...] = (
    Assumption("handover_loss", "Revenue lost on a moved account (first year)", 0.15, 0.10, 0.20, "share",
               "Shi, Sridhar, Grewal & Lilien 2017, Journal of Marketing 81(2): 13.2-17.6 % of the account's "
               "annual sales are lost when the account changes owner", bounds=(0.0, 1.0)),
    Assumption("handover_match_relief", "Share of the handover loss avoided by a matching new owner", 0.40, 0.20,
               0.60, "share",
               "Shi et al. 2017: about 40 % of the loss is avoidable when the new owner has similar industry "
               "experience; half is credited for an industry match, half for a region match", bounds=(0.0, 1.0)),
    Assumption("handover_recovery_months", "Months after the first year until the handover loss has faded", 12,
               6, 24, "months",
               "Workshop assumption: the first-year loss (Shi et al. 2017) fades linearly in the second year",
               bounds=(1.0, inf)),
    Assumption("handover_churn_uplift", "Extra annual churn of a moved account", 0.03, 0.0, 0.06, "share/year",
               "Workshop assumption; Shi et al. 2017 attribute part of the handover loss to defection", bounds=(0.0, 1.0)),
    Assumption("elasticity", "Selling-effort elasticity of revenue", 0.30, 0.20, 0.40, "elasticity",
               "Albers, Mantrala & Sridhar 2010, Journal of Marketing Research 47(5): mean elasticity 0.34; "
               "response (served hours new / old) ^ elasticity has diminishing returns (ADBUDG, Little 1970)",
               bounds=(0.0, 1.0)),
    Assumption("effort_ratio_cap", "Largest change of served hours that still moves revenue", 2.0, 1.5, 3.0,
               "ratio",
               "Workshop assumption: selling-effort response saturates (ADBUDG, Little 1970; CALLPLAN, "
               "Lodish 1971), so the served-hours ratio is capped at this factor either way", bounds=(1.0, inf)),
    Assumption("response_lag_months", "Months until a coverage change fully shows in revenue", 3, 1, 6, "months",
               "Workshop assumption: the effect of new selling effort ramps in linearly", uncertain=False,
               bounds=(1.0, inf)),
    Assumption("retention", "Annual revenue retention (when history cannot estimate it)", 0.90, 0.80, 0.97,
               "share/year",
               "Default for B2B account books; replaced by the per-segment estimate from revenue history",
               bounds=(0.0, 1.0)),
    Assumption("baseline_growth", "Annual revenue growth of retained accounts (without history)", 0.0, -0.05,
               0.10, "share/year",
               "Default; replaced by the per-segment same-account growth estimated from revenue history",
               bounds=(-1.0, inf)),
    Assumption("gross_margin", "Gross margin on revenue", 0.35, 0.20, 0.50, "share",
               "Workshop input (company figure); default typical of B2B distribution and services", bounds=(0.0, 1.0)),
    Assumption("discount_rate", "Annual discount rate for customer lifetime value", 0.08, 0.05, 0.12,
               "share/year", "Typical weighted average cost of capital; CLV = m r / (1 + d - r) (Gupta & "
               "Lehmann 2003)", uncertain=False, bounds=(0.0, inf)),
    Assumption("cost_per_hour", "Cost per manager hour where a manager's cost is missing", 75.0, 40.0, 120.0,
               "currency/hour",
               "Time-driven activity-based costing (Kaplan & Anderson 2004): a manager's rate is cost / "
               "capacity in hours; this fallback is used only where cost is missing", uncertain=False, bounds=(0.0, inf)),
)

DEFAULT_ASSUMPTIONS: dict[str, Assumption] = {a.name: a for a in _DEFAULTS}

# Assumptions that are counts of months are kept whole so YAML round-trips and the UI show integers.
_WHOLE = {"handover_recovery_months", "response_lag_months"}


@dataclass(frozen=True)
class Assumptions:
    """Every number the KPI projection uses (see ``DEFAULT_ASSUMPTIONS`` for defaults, ranges and sources).

    Parameters
    ----------
    items : name → ``Assumption``; missing names take their default.
    segment_retention : optional annual retention per segment name (share/year) that overrides the estimate
        from history and the ``retention`` default for that segment.
    """

    items: Mapping[str, Assumption] = field(default_factory=lambda: dict(DEFAULT_ASSUMPTIONS))
    segment_retention: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_ASSUMPTIONS)
        for name, a in dict(self.items).items():
            if name not in DEFAULT_ASSUMPTIONS:
                raise AssumptionError(f"unknown assumption {name!r}; known: {', '.join(DEFAULT_ASSUMPTIONS)}")
            # the physical bounds are the model's: a scenario file cannot restate them
            a = replace(a, bounds=DEFAULT_ASSUMPTIONS[name].bounds)
            _check_range(a.name, a.value, a.low, a.high, a.bounds)
            merged[name] = a
        object.__setattr__(self, "items", merged)
        seg = {}
        for name, v in dict(self.segment_retention).items():
            v = _as_float(f"segment_retention.{name}", v)
            if not 0.0 <= v <= 1.0:
                raise AssumptionError(f"segment_retention for {name!r} is {v}; it must be a share between 0 and 1")
            seg[str(name)] = v
        object.__setattr__(self, "segment_retention", seg)

    def __getitem__(self, name: str) -> float:
        return self.items[name].value

    def __iter__(self):
        return iter(self.items)

    def values(self) -> dict[str, float]:
        """Name → value (JSON-serialisable), plus ``segment_retention`` when set."""
        out: dict = {n: float(a.value) for n, a in self.items.items()}
        if self.segment_retention:
            out["segment_retention"] = dict(self.segment_retention)
        return out

    def with_values(self, segment_retention: Mapping[str, float] | None = None, **values: float) -> Assumptions:
        """A copy with some values changed (each checked against its range)."""
        items = dict(self.items)
        for name, v in values.items():
            if name not in items:
                raise AssumptionError(f"unknown assumption {name!r}; known: {', '.join(items)}")
            v = _as_float(name, v)
            if name in _WHOLE:
                v = float(round(v))
            items[name] = replace(items[name], value=v)
        seg = dict(self.segment_retention) if segment_retention is None else dict(segment_retention)
        return Assumptions(items=items, segment_retention=seg)

    def draw_ranges(self) -> dict[str, list[float]]:
        """Name → ``[low, high]`` that Monte Carlo draws from (mode = value), for the uncertain assumptions."""
        return {n: [float(x) for x in a.draw_range()] for n, a in self.items.items() if a.uncertain}

    def one_sided(self) -> list[str]:
        """Names of the assumptions whose draws fall nearly all on one side of their value (set at or next to a
        physical bound, see ``Assumption.one_sided``): the only way a KPI band can leave out the KPI's value."""
        return [n for n, a in self.items.items() if a.one_sided()]

    def to_frame(self) -> pd.DataFrame:
        """One row per assumption: name, label, value, low, high, unit, uncertain, source, and the range the
        draws come from (``draw_low``, ``draw_high``; the value for one that is not uncertain)."""
        return pd.DataFrame([{"name": a.name, "label": a.label, "value": a.value, "low": a.low, "high": a.high,
                              "unit": a.unit, "uncertain": a.uncertain, "source": a.source,
                              "draw_low": a.draw_range()[0], "draw_high": a.draw_range()[1]}
                             for a in self.items.values()])

    def to_dict(self) -> dict:
        """The scenario-file form: ``{name: {value, low, high, unit, source, ...}}`` + ``segment_retention``."""
        out: dict = {"assumptions": {a.name: {"value": a.value, "low": a.low, "high": a.high, "unit": a.unit,
                                              "label": a.label, "uncertain": a.uncertain, "source": a.source}
                                     for a in self.items.values()}}
        if self.segment_retention:
            out["segment_retention"] = dict(self.segment_retention)
        return out

    @classmethod
    def from_dict(cls, data: Mapping, where: str = "assumptions") -> Assumptions:
        """Read the scenario-file form. An entry may be a plain number (the value) or a mapping; a mapping may
        also restate ``low``/``high``/``source`` (a company's own range and source)."""
        if not isinstance(data, Mapping):
            raise AssumptionError(f"{where}: expected a mapping with an 'assumptions' section")
        section = data.get("assumptions", {}) or {}
        if not isinstance(section, Mapping):
            raise AssumptionError(f"{where}: 'assumptions' must be a mapping of name to value")
        items = dict(DEFAULT_ASSUMPTIONS)
        for name, entry in section.items():
            if name not in items:
                raise AssumptionError(f"{where}: unknown assumption {name!r}; known: {', '.join(items)}")
            base = items[name]
            if isinstance(entry, Mapping):
                unknown = set(entry) - {"value", "low", "high", "unit", "label", "uncertain", "source"}
                if unknown:
                    raise AssumptionError(f"{where}: {name} has unknown field(s) {sorted(unknown)}")
                a = replace(base,
                            value=_as_float(f"{name}.value", entry.get("value", base.value)),
                            low=_as_float(f"{name}.low", entry.get("low", base.low)),
                            high=_as_float(f"{name}.high", entry.get("high", base.high)),
                            source=str(entry.get("source", base.source)),
                            uncertain=bool(entry.get("uncertain", base.uncertain)))
            else:
                a = replace(base, value=_as_float(name, entry))
            if name in _WHOLE:
                a = replace(a, value=float(round(a.value)))
            items[name] = a
        seg = data.get("segment_retention", {}) or {}
        if not isinstance(seg, Mapping):
            raise AssumptionError(f"{where}: 'segment_retention' must be a mapping of segment name to share")
        try:
            return cls(items=items, segment_retention=seg)
        except AssumptionError as exc:
            raise AssumptionError(f"{where}: {exc}") from None

    def to_yaml(self, path: str | Path) -> Path:
        """Write the scenario-file form to ``path`` (YAML)."""
        import yaml

        path = Path(path)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=110),
                        encoding="utf-8")
        return path

    @classmethod
    def from_yaml(cls, path: str | Path) -> Assumptions:
        """Read a scenario YAML file (only plain YAML data; nothing in it is executed)."""
        import yaml

        path = Path(path)
        if not path.exists():
            raise AssumptionError(f"assumptions file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise AssumptionError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
        return cls.from_dict(data, where=path.name)

    def copy(self) -> Assumptions:
        return copy.deepcopy(self)


def _as_float(name: str, v) -> float:
    if isinstance(v, bool):
        raise AssumptionError(f"assumption {name} must be a number, got {v!r}")
    try:
        out = float(v)
    except (TypeError, ValueError):
        raise AssumptionError(f"assumption {name} must be a number, got {v!r}") from None
    if out != out or out in (float("inf"), float("-inf")):
        raise AssumptionError(f"assumption {name} must be a finite number, got {v!r}")
    return out


def _check_range(name: str, value: float, low: float, high: float,
                 bounds: tuple[float, float] = (-inf, inf)) -> None:
    if low > high:
        raise AssumptionError(f"assumption {name}: range low {low} is above high {high}")
    if low < bounds[0]:
        raise AssumptionError(f"assumption {name}: range low {low:g} is below the lowest it can be, {bounds[0]:g}")
    if high > bounds[1]:
        raise AssumptionError(f"assumption {name}: range high {high:g} is above the highest it can be, {bounds[1]:g}")
    if not low <= value <= high:
        raise AssumptionError(f"assumption {name} = {value} is outside its range {low} to {high}")

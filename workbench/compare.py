"""Compare two or more scenarios: KPIs with deltas and P10–P90 bands, move-list overlap, loads, parameter diff.

``compare(scenarios)`` takes ``Scenario`` objects with results (the first is the reference) and returns a
``Comparison`` of plain frames that a table, a chart builder, an Excel sheet or a test can use alike.
``PARAM_LABELS`` is the one place that names a scenario parameter for people ("Band ± (share of target)", not
``allocate.band``); ``param_label`` / ``param_text`` read it.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .scenario import Scenario

__all__ = ["Comparison", "OWN_YARDSTICK_KPIS", "PARAM_LABELS", "baselines_differ", "compare", "event_text",
           "flatten_params", "lock_text", "names_by_id", "param_label", "param_text", "scenario_labels"]

#: KPIs whose baseline is measured against a parameter of the scenario itself (KPI key → that parameter's
#: dotted path): "managers inside the workload band" before the plan counts the managers inside *this scenario's*
#: band, so two scenarios on one book with other bands have other baselines, by design and not because their
#: books or assumptions differ.
OWN_YARDSTICK_KPIS: dict[str, str] = {"managers_in_band": "allocate.band"}

#: scenario parameters (dotted paths of ``Scenario.params``) for people: label and how to show a value.
#: Kinds: ``pm`` (±15 %), ``percent`` (15 %), ``int``, ``number``, ``text``, ``list`` (comma-separated),
#: ``count`` (how many: locks, events). ``kpi.assumptions.<name>`` take the assumption's own label.
PARAM_LABELS: dict[str, tuple[str, str]] = {
    "allocate.band": ("Band ± (share of target)", "pm"),
    "allocate.max_move_share": ("Most that may move (share)", "percent"),
    "allocate.move_share_of": ("Move limit counts", "text"),
    "allocate.balance_on": ("Balance also on", "text"),
    "allocate.balance_band": ("Second balance band ± (share of target)", "pm"),
    "allocate.candidates": ("Managers considered per account", "int"),
    "allocate.mode": ("Plan search", "text"),
    "allocate.seed": ("Random seed of the plan search", "int"),
    "allocate.locks": ("Locked accounts", "count"),
    "allocate.events": ("What-if events (leavers, hires, overrides)", "count"),
    "allocate.weights.continuity": ("Weight of continuity", "number"),
    "allocate.weights.fit": ("Weight of fit", "number"),
    "allocate.weights.balance": ("Weight of balance", "number"),
    "segment.method": ("Segmentation method", "text"),
    "segment.k": ("Number of segments", "text"),
    "segment.features": ("Segmentation features", "list"),
    "segment.seed": ("Random seed of the segmentation", "int"),
    "segment.names": ("Segment names", "text"),
    "segment.coverage": ("Coverage model edits", "text"),
    "segment.abc_cuts": ("ABC tier cuts (cumulative revenue share)", "list"),
    "segment.grid": ("Value × need levels per axis", "int"),
    "segment.value_cuts": ("Value cut points (revenue per year)", "list"),
    "segment.need_cuts": ("Need cut points (hours per year)", "list"),
    "segment.stability_runs": ("Stability refits", "int"),
    "kpi.draws": ("Monte Carlo draws", "int"),
    "kpi.horizon_months": ("Horizon (months)", "int"),
    "kpi.seed": ("Random seed of the Monte Carlo draws", "int"),
}
_NONE_TEXT = {"allocate.max_move_share": "no limit", "allocate.balance_on": "workload only"}


@dataclass
class Comparison:
    """Side-by-side view of scenarios; the first scenario is the reference for ``delta_vs_reference``.

    names : display label per scenario (its name, or ``"name v3"`` when one name appears in several versions).
    kpis : long form, one row per KPI and scenario: ``kpi, label, unit, scenario, baseline, value, delta``
        (value − baseline), ``delta_vs_reference`` (value − reference scenario's value), ``p10``, ``p50``,
        ``p90`` (the value's band) and ``delta_p10``, ``delta_p90`` (the change's own band, as on the KPI cards);
        NaN when no Monte Carlo ran.
    kpi_table : wide form for people: ``kpi, label, unit, baseline`` (the reference's) then per scenario
        ``<label>``, ``<label> Δ ref``, ``<label> change P10–P90`` and ``<label> value P10–P90`` (text); when the
        baselines differ between scenarios (other assumptions, another book) also ``<label> baseline`` before each
        ``<label>``.
    moves : one row per account moved in at least one scenario: ``account_id``, ``from_manager`` and per
        scenario the new owner (``<label>``; empty when that scenario does not move it).
    overlap : one row per pair of scenarios: ``a, b, moves_a, moves_b, both_moved, same_target,
        only_a, only_b, jaccard`` (both_moved / moved in either).
    loads : one row per manager: ``manager_id, name, role, band_low, band_high, hours_before, accounts_before``
        and per scenario ``hours_after · <label>``, ``accounts_after · <label>``.
    loads_long : ``manager_id, name, scenario, hours_after, accounts_after, band_low, band_high, hours_before``.
    params : one row per parameter (dotted path): ``parameter`` then one column per scenario (values as text)
        and ``differs``.
    warnings : plain sentences (for example: the scenarios were computed on different books).
    notes : plain sentences that explain a difference which is no cause for alarm (a KPI measured against each
        scenario's own band, say).
    people : id → name of the managers and accounts the scenarios know (``names_by_id``), so that events and
        locks read in words.
    """

    names: list[str]
    kpis: pd.DataFrame
    kpi_table: pd.DataFrame
    moves: pd.DataFrame
    overlap: pd.DataFrame
    loads: pd.DataFrame
    loads_long: pd.DataFrame
    params: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    people: dict[str, str] = field(default_factory=dict)

    @property
    def param_diff(self) -> pd.DataFrame:
        """Only the parameters whose values differ between scenarios."""
        return self.params[self.params["differs"]].reset_index(drop=True)

    def param_diff_table(self) -> pd.DataFrame:
        """The parameters that differ, for people: ``Parameter`` (its label) then per scenario its value as text;
        what-if events and locks in words ("Lena Peters leaves; hire Nina Neu (Account Manager, 50 % ramp-up)")."""
        diff = self.param_diff
        out = pd.DataFrame({"Parameter": [param_label(p) for p in diff["parameter"]]})
        for name in self.names:
            out[name] = [param_text(p, v, self.people) for p, v in zip(diff["parameter"], diff[name])]
        return out


def _assumption_labels() -> dict:
    try:
        from .assumptions import DEFAULT_ASSUMPTIONS
    except ImportError:  # pragma: no cover - the KPI package is optional for comparing stored scenarios
        return {}
    return DEFAULT_ASSUMPTIONS


def param_label(path: str) -> str:
    """A parameter's dotted path as people read it: ``allocate.band`` → "Band ± (share of target)"."""
    if path in PARAM_LABELS:
        return PARAM_LABELS[path][0]
    parts = path.split(".")
    if parts[:2] == ["kpi", "assumptions"] and parts[-1] in _assumption_labels():
        return _assumption_labels()[parts[-1]].label
    for n in range(len(parts) - 1, 0, -1):  # "segment.coverage.2.role" → "Coverage model edits › 2 › role"
        head = ".".join(parts[:n])
        if head in PARAM_LABELS:
            return " › ".join([PARAM_LABELS[head][0], *(x.replace("_", " ") for x in parts[n:])])
    words = [x.replace("_", " ") for x in parts]
    return " › ".join([words[0].capitalize(), *words[1:]])


def _kind(path: str) -> str:
    if path in PARAM_LABELS:
        return PARAM_LABELS[path][1]
    name = path.split(".")[-1]
    if path.startswith("kpi.assumptions.") and name in _assumption_labels():
        return "percent" if _assumption_labels()[name].unit.startswith("share") else "number"
    return "text"


def _share_text(x) -> str:
    try:
        return f"{float(x) * 100:.4g} %"
    except (TypeError, ValueError):
        return str(x)


def event_text(event: dict, names: dict[str, str] | None = None) -> str:
    """A what-if event in words, managers and accounts by name where ``names`` (id → name) knows them: "Lena
    Peters leaves", "hire Nina Neu (Account Manager, 50 % ramp-up)", "Acme GmbH goes to Thomas Meier (the rest
    kept as it is)"."""
    names = names or {}
    if not isinstance(event, dict):
        return str(event)

    def who(key: str) -> str:
        v = event.get(key)
        return str(names.get(str(v), v)) if v not in (None, "") else "?"

    kind = event.get("type")
    if kind == "leave":
        return f"{who('manager_id')} leaves"
    if kind == "hire":
        role = event.get("role")
        detail = [str(role)] if role not in (None, "") and not (isinstance(role, float) and np.isnan(role)) else []
        if event.get("ramp") not in (None, "") and float(event.get("ramp")) < 1:
            detail.append(f"{_share_text(event['ramp'])} ramp-up")
        name = event.get("name") or names.get(str(event.get("manager_id")), "a new manager")
        return f"hire {name}" + (f" ({', '.join(detail)})" if detail else "")
    if kind == "override":
        rest = " (the rest kept as it is)" if event.get("rest") == "freeze" else ""
        return f"{who('account_id')} goes to {who('manager_id')}{rest}"
    return json.dumps(event, ensure_ascii=False, default=str)


def lock_text(lock, names: dict[str, str] | None = None) -> str:
    """A lock in words: "Acme GmbH stays with Thomas Meier", or "… stays with its owner"."""
    names = names or {}
    if not isinstance(lock, dict):
        return f"{names.get(str(lock), lock)} stays with its owner"
    acc, mgr = lock.get("account_id"), lock.get("manager_id")
    to = f"with {names.get(str(mgr), mgr)}" if mgr not in (None, "") else "with its owner"
    return f"{names.get(str(acc), acc)} stays {to}"


#: parameters whose list items are said in words, at most this many (then "and N more")
_IN_WORDS = {"allocate.events": event_text, "allocate.locks": lock_text}
_WORDS_SHOWN = 6


def names_by_id(scenarios: list[Scenario]) -> dict[str, str]:
    """Manager id → name (the plans' manager loads) and account id → company name (their move lists, where the
    scenario carries names): what events and locks name."""
    out: dict[str, str] = {}
    for sc in scenarios:
        if sc.assignment is None:
            continue
        for frame, key, name in ((sc.assignment.loads, "manager_id", "name"),
                                 (sc.assignment.moves, "account_id", "account_name")):
            if {key, name} <= set(frame.columns):
                pairs = frame[[key, name]].dropna().astype(str)
                out.update(zip(pairs[key], pairs[name]))
    return out


def param_text(path: str, value: str, names: dict[str, str] | None = None) -> str:
    """A parameter value (the JSON text of ``Comparison.params``) as people read it: ``0.15`` of
    ``allocate.band`` → "±15 %", ``null`` → "none" (or "no limit" where that is what it means), lists joined;
    what-if events and locks in words, with the managers' and accounts' names from ``names`` (id → name)."""
    try:
        v = json.loads(value)
    except (TypeError, ValueError):
        return str(value)  # "—": the scenario does not set it
    kind = _kind(path)
    if v is None or v == {}:
        return _NONE_TEXT.get(path, "none")
    if path in _IN_WORDS and isinstance(v, list):
        if not v:
            return "none"
        said = [_IN_WORDS[path](x, names) for x in v[:_WORDS_SHOWN]]
        more = f" and {len(v) - _WORDS_SHOWN:,} more" if len(v) > _WORDS_SHOWN else ""
        return "; ".join(said) + more
    if kind == "count" and isinstance(v, list):
        return f"{len(v):,}" if v else "none"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, list):
            return ", ".join(str(x) for x in v) if v else "none"
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    if kind == "pm":
        return f"±{v * 100:.4g} %"
    if kind == "percent":
        return f"{v * 100:.4g} %"
    if kind == "int":
        return f"{v:,.0f}"
    return f"{v:,.4g}"


def scenario_labels(scenarios: list[Scenario]) -> list[str]:
    """Unique display labels: the name, with ``v<version>`` added where a name repeats."""
    names = [s.name for s in scenarios]
    labels = [f"{s.name} v{s.version}" if names.count(s.name) > 1 else s.name for s in scenarios]
    if len(set(labels)) != len(labels):
        raise ValueError("Each scenario may appear only once in a comparison.")
    return labels


def flatten_params(params: dict, prefix: str = "") -> dict[str, str]:
    """``{"segment": {"k": 4}}`` → ``{"segment.k": "4"}``; lists and scalars as compact JSON text."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten_params(value, path + "."))
        else:
            out[path] = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return out


def _kpis_long(scenarios: list[Scenario], labels: list[str]) -> pd.DataFrame:
    rows = []
    for sc, label in zip(scenarios, labels):
        for key, k in sc.projection.kpis.items():
            rows.append({"kpi": key, "label": k.get("label", key), "unit": k.get("unit", ""), "scenario": label,
                         "baseline": k.get("baseline"), "value": k.get("scenario"), "delta": k.get("delta"),
                         "p10": k.get("p10"), "p50": k.get("p50"), "p90": k.get("p90"),
                         "delta_p10": k.get("delta_p10"), "delta_p90": k.get("delta_p90")})
    df = pd.DataFrame(rows, columns=["kpi", "label", "unit", "scenario", "baseline", "value", "delta",
                                     "p10", "p50", "p90", "delta_p10", "delta_p90"])
    for c in ("baseline", "value", "delta", "p10", "p50", "p90", "delta_p10", "delta_p90"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    ref = df[df["scenario"] == labels[0]].set_index("kpi")["value"]
    df["delta_vs_reference"] = df["value"] - df["kpi"].map(ref)
    order = {k: i for i, k in enumerate(dict.fromkeys(df["kpi"]))}
    df["_o"] = df["kpi"].map(order)
    df["_s"] = df["scenario"].map({lab: i for i, lab in enumerate(labels)})
    return df.sort_values(["_o", "_s"]).drop(columns=["_o", "_s"]).reset_index(drop=True)


def _band_text(p10: float, p90: float) -> str:
    if np.isnan(p10) or np.isnan(p90):
        return ""
    return f"{p10:,.4g} – {p90:,.4g}"


def baselines_differ(kpis: pd.DataFrame, own_yardstick: bool = False) -> list[str]:
    """The KPIs (keys, in order) whose baseline is not the same in every scenario of a long ``kpis`` frame.

    own_yardstick : also those of ``OWN_YARDSTICK_KPIS``, whose baseline each scenario measures against its own
        parameters (its band): they differ whenever those parameters do, which says nothing about the books or
        the assumptions, so by default they are left out.
    """
    if not own_yardstick:
        kpis = kpis[~kpis["kpi"].isin(list(OWN_YARDSTICK_KPIS))]
    g = kpis["baseline"].groupby(kpis["kpi"], sort=False)
    lo, hi = g.min(), g.max()
    scale = np.maximum(np.maximum(lo.abs(), hi.abs()).fillna(0.0), 1.0)
    known = g.count()
    differ = ((hi - lo).fillna(0.0) > 1e-9 * scale) | ((known > 0) & (known < g.size()))  # or known in some only
    return list(differ.index[differ])


def _kpi_table(kpis: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    first = kpis.drop_duplicates("kpi")[["kpi", "label", "unit", "baseline"]].set_index("kpi")
    out = first.copy()
    own = bool(baselines_differ(kpis, own_yardstick=True))  # raw numbers: every scenario's own, where they differ
    for label in labels:
        part = kpis[kpis["scenario"] == label].set_index("kpi")
        if own:
            out[f"{label} baseline"] = part["baseline"]
        out[label] = part["value"]
        out[f"{label} Δ ref"] = part["delta_vs_reference"]
        out[f"{label} change P10–P90"] = [_band_text(a, b) for a, b in zip(part["delta_p10"].reindex(out.index),
                                                                            part["delta_p90"].reindex(out.index))]
        out[f"{label} value P10–P90"] = [_band_text(a, b) for a, b in zip(part["p10"].reindex(out.index),
                                                                           part["p90"].reindex(out.index))]
    return out.reset_index()


def _moves(scenarios: list[Scenario], labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = [sc.assignment.moves[["account_id", "from_manager", "to_manager"]].astype({"account_id": "string"})
              for sc in scenarios]
    all_ids = pd.concat([f[["account_id", "from_manager"]] for f in frames]).drop_duplicates("account_id")
    wide = all_ids.sort_values("account_id").reset_index(drop=True)
    for f, label in zip(frames, labels):
        wide[label] = wide["account_id"].map(f.set_index("account_id")["to_manager"])
    rows = []
    for (i, a), (j, b) in itertools.combinations(enumerate(labels), 2):
        fa, fb = frames[i], frames[j]
        both = fa.merge(fb, on="account_id", suffixes=("_a", "_b"))
        n_both = len(both)
        union = len(fa) + len(fb) - n_both
        rows.append({"a": a, "b": b, "moves_a": len(fa), "moves_b": len(fb), "both_moved": n_both,
                     "same_target": int((both["to_manager_a"] == both["to_manager_b"]).sum()),
                     "only_a": len(fa) - n_both, "only_b": len(fb) - n_both,
                     "jaccard": n_both / union if union else 1.0})
    return wide, pd.DataFrame(rows)


def _loads(scenarios: list[Scenario], labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    base_cols = ["manager_id", "name", "role", "band_low", "band_high", "hours_before", "accounts_before"]
    parts = []
    for sc, label in zip(scenarios, labels):
        ld = sc.assignment.loads
        cols = [c for c in base_cols if c in ld.columns] + ["hours_after", "accounts_after"]
        part = ld[cols].copy()
        part["scenario"] = label
        parts.append(part)
    long = pd.concat(parts, ignore_index=True)
    info = long.drop_duplicates("manager_id")[[c for c in base_cols if c in long.columns]]
    wide = info.reset_index(drop=True)
    for label in labels:
        part = long[long["scenario"] == label].set_index("manager_id")
        wide[f"hours_after · {label}"] = wide["manager_id"].map(part["hours_after"])
        wide[f"accounts_after · {label}"] = wide["manager_id"].map(part["accounts_after"])
    long_cols = ["manager_id", "name", "scenario", "hours_after", "accounts_after", "band_low", "band_high",
                 "hours_before"]
    return wide, long[[c for c in long_cols if c in long.columns]].reset_index(drop=True)


def _params(scenarios: list[Scenario], labels: list[str]) -> pd.DataFrame:
    flat = [flatten_params(sc.params) for sc in scenarios]
    keys = sorted(set().union(*flat))
    df = pd.DataFrame({"parameter": keys})
    for f, label in zip(flat, labels):
        df[label] = [f.get(k, "—") for k in keys]
    vals = df[labels].to_numpy()
    df["differs"] = (vals != vals[:, :1]).any(axis=1) if len(df) else pd.Series(dtype=bool)
    return df


def compare(scenarios: list[Scenario]) -> Comparison:
    """Put two or more scenarios side by side; the first one is the reference.

    Raises
    ------
    ValueError : fewer than two scenarios, one appears twice, or one holds parameters only.
    """
    if len(scenarios) < 2:
        raise ValueError("Choose at least two scenarios to compare.")
    for sc in scenarios:
        if not sc.has_results:
            raise ValueError(f"Scenario {sc.name!r} holds parameters only; run it before comparing.")
    labels = scenario_labels(scenarios)
    warnings = []
    prints = {sc.fingerprint for sc in scenarios}
    if len(prints) > 1:
        warnings.append("These scenarios were computed on different books (fingerprints "
                        f"{', '.join(sorted(prints))}); compare their numbers with care.")
    kpis = _kpis_long(scenarios, labels)
    params = _params(scenarios, labels)
    names = kpis.drop_duplicates("kpi").set_index("kpi")["label"]
    differ = baselines_differ(kpis)
    if differ:
        warnings.append(f"The baselines differ between these scenarios ({', '.join(names[differ])}): "
                        f"{_baseline_cause(params, len(prints) > 1)}, so each scenario's value stands beside its "
                        f"own baseline and its change against {labels[0]} mixes both.")
    notes = _own_yardstick_notes(kpis, params, labels, shared_baseline=not differ)
    moves, overlap = _moves(scenarios, labels)
    loads, loads_long = _loads(scenarios, labels)
    return Comparison(names=labels, kpis=kpis, kpi_table=_kpi_table(kpis, labels), moves=moves, overlap=overlap,
                      loads=loads, loads_long=loads_long, params=params, warnings=warnings, notes=notes,
                      people=names_by_id(scenarios))


def _baseline_cause(params: pd.DataFrame, other_books: bool) -> str:
    """Why baselines that do not depend on the plan can differ: the book, the KPI assumptions, the segmentation
    (its coverage model sets the hours each account needs) or the what-if events (a leaver or a hire changes the
    team the before-plan figures are counted on); each cause the parameters show is named."""
    if other_books:
        return "they were computed on different books"
    differs = list(params.loc[params["differs"], "parameter"])
    causes = []
    kpi = [param_label(p) for p in differs if p.startswith("kpi.")]
    if kpi:
        causes.append(f"their KPI assumptions differ ({', '.join(kpi)})")
    if any(p.startswith("segment.") for p in differs):
        causes.append("their segmentations (and so the hours each account needs) differ")
    if any(p.startswith("allocate.events") for p in differs):
        causes.append("their what-if events differ (a leaver or a hire changes the team the figures before the "
                      "plan are counted on)")
    if not causes:
        return "their parameters do not say why (they may have been saved by different versions of the workbench)"
    return " and ".join(causes)


def _own_yardstick_notes(kpis: pd.DataFrame, params: pd.DataFrame, labels: list[str],
                         shared_baseline: bool) -> list[str]:
    """One sentence per ``OWN_YARDSTICK_KPIS`` KPI whose baselines differ: each scenario measures it against its
    own parameter, so its before-plan figure differs by design. ``shared_baseline``: the people's table shows one
    Baseline column (the reference's), so the sentence says whose figure it holds."""
    from .report.format import fmt_kpi

    notes = []
    values = params.set_index("parameter")
    for key in baselines_differ(kpis[kpis["kpi"].isin(list(OWN_YARDSTICK_KPIS))], own_yardstick=True):
        part = kpis[kpis["kpi"] == key].set_index("scenario")
        path = OWN_YARDSTICK_KPIS[key]
        each = "; ".join(
            f"{lab}: {fmt_kpi(part.loc[lab, 'baseline'], part.loc[lab, 'unit'])}"
            + (f" inside {param_text(path, values.loc[path, lab])}" if path in values.index else "")
            for lab in labels if lab in part.index)
        whose = f"; the Baseline column shows {labels[0]}'s" if shared_baseline else ""
        notes.append(f"{part['label'].iloc[0]}: each scenario counts against its own band, so the share before the "
                     f"plan differs by design ({each}){whose}.")
    return notes

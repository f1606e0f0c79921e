"""Chart builders for scenarios and their comparison: KPI bands, loads side by side, move overlap, KPI series.

Pure functions: frames of a ``Comparison`` (or of one scenario's results) in, ``alt.Chart`` out; each caps
its marks well below ``MAX_MARKS`` by aggregating or choosing the most telling managers in pandas.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ...compare import OWN_YARDSTICK_KPIS
from . import MAX_MARKS

__all__ = ["HEADLINE_KPIS", "kpi_bands", "loads_side_by_side", "move_overlap", "kpi_series", "loads_before_after"]

#: the KPIs charted by default (the app's KPI strip); a projection has about twenty, tables show them all
HEADLINE_KPIS = ("revenue_12m", "accounts_moved", "workload_imbalance", "managers_in_band")

_PALETTE = ["#1f4e79", "#c0504d", "#4f8f3a", "#8064a2", "#d08a1e", "#2c8c99"]
_SERIES_NAMES = {"baseline": "without the plan (baseline)", "scenario": "with the plan"}


# axis number formats per KPI unit (d3-format); shares are charted in percentage points
_AXIS_FORMAT = {"share": "+.0f", "index": "+.2f", "accounts": "+,.0f"}


def _axis_format(unit: str, values: pd.Series) -> str:
    if unit in _AXIS_FORMAT:
        whole = unit != "accounts" or np.allclose(values.dropna(), np.round(values.dropna()))
        return _AXIS_FORMAT[unit] if whole else "+,.1f"
    return "+,.3~s"  # money and the rest: "+2.55M", "−300k"


def kpi_bands(kpis: pd.DataFrame, keys: list[str] | None = None, width: int = 360) -> alt.VConcatChart:
    """One small chart per KPI: each scenario's change against its baseline as a bar from zero, labelled with
    the figure as people read it ("+2.55 M EUR", "+75.0 pp"), the P10–P90 band of that change as a whisker.

    Levels such as 160.06 M vs 159.78 M EUR look identical on a bar from zero and mislead on an axis that does
    not start at zero; the change against the baseline is what the plan does, and zero is honest for it. The
    whisker is the change's own band (``delta_p10`` … ``delta_p90``, as on the KPI cards); for a projection
    saved without one, the value's band less the baseline. The figure stands past the whisker's end, never
    under it.

    Parameters
    ----------
    kpis : ``Comparison.kpis`` (long form: ``kpi, label, unit, scenario, baseline, value, p10, p90`` and, where
        drawn, ``delta_p10, delta_p90``).
    keys : KPI keys to show (default: those of ``HEADLINE_KPIS`` present, else the first four).
    width : width of each panel's plot in pixels (scenario names take up to 200 more).
    """
    from ..format import fmt_kpi

    present = list(dict.fromkeys(kpis["kpi"]))
    keys = keys or [k for k in HEADLINE_KPIS if k in present] or present[:4]
    panels = []
    for key in keys:
        d = kpis[kpis["kpi"] == key].copy()
        if d.empty:
            continue
        unit = str(d["unit"].iloc[0] or "")
        scale = 100.0 if unit == "share" else 1.0  # shares as percentage points
        change = (d["value"] - d["baseline"]) * scale
        d["change"] = change
        own = [c in d.columns for c in ("delta_p10", "delta_p90")]
        lo = d["delta_p10"] if all(own) else pd.Series(np.nan, index=d.index)
        hi = d["delta_p90"] if all(own) else pd.Series(np.nan, index=d.index)
        # the change's own band; for a projection saved without one, the value's band less the baseline
        d["p10_change"] = lo.where(lo.notna(), d["p10"] - d["baseline"]) * scale
        d["p90_change"] = hi.where(hi.notna(), d["p90"] - d["baseline"]) * scale
        flat = (d["p10_change"] - d["p90_change"]).abs() <= 1e-12 * np.maximum(d["change"].abs(), 1.0)
        d.loc[flat, ["p10_change", "p90_change"]] = np.nan  # a fixed KPI (moves, say) has no band to draw
        d["shown"] = [fmt_kpi(v, unit, sign=True) for v in d["value"] - d["baseline"]]
        d["level"] = [f"{fmt_kpi(b, unit)} → {fmt_kpi(v, unit)}" for b, v in zip(d["baseline"], d["value"])]
        # the figure stands past the bar and past the whisker, on the side the change goes
        pos = d["change"] >= 0
        d["label_at"] = np.where(pos, d[["change", "p90_change"]].max(axis=1), d[["change", "p10_change"]].min(axis=1))
        what = "percentage points" if unit == "share" else unit
        if key in OWN_YARDSTICK_KPIS and d["baseline"].nunique() > 1:
            what += ", each against its own band"
        band = d.dropna(subset=["p10_change", "p90_change"])
        sub = [f"change against the baseline{f' ({what})' if what else ''}"]
        if len(band):
            sub.append("bar: the change · black line: its P10–P90 band")
        title = alt.TitleParams(text=str(d["label"].iloc[0]), subtitle=sub if len(sub) > 1 else sub[0],
                                anchor="start", fontSize=13, subtitleFontSize=11, subtitleColor="#5b6776")
        extent = pd.concat([change, d["p10_change"], d["p90_change"], pd.Series([0.0])]).dropna()
        lo_x, hi_x = float(extent.min()), float(extent.max())
        pad = 0.45 * (hi_x - lo_x) or 1.0  # room for the figure past the bar and the whisker
        x_scale = alt.Scale(domain=[lo_x - (pad if (~pos).any() else 0.0), hi_x + (pad if pos.any() else 0.0)],
                            nice=False)
        x = alt.X("change:Q", title=None, scale=x_scale,
                  axis=alt.Axis(format=_axis_format(unit, change), tickCount=4, labelOverlap=True,
                                labelFlush=True, grid=True, labelFontSize=11))
        y = alt.Y("scenario:N", title=None, sort=list(d["scenario"]),
                  axis=alt.Axis(labelLimit=200, labelFontSize=11))
        base = alt.Chart(d)
        bars = base.mark_bar(opacity=0.85, height=16).encode(
            x=x, y=y, color=alt.Color("scenario:N", legend=None, scale=alt.Scale(range=_PALETTE)),
            tooltip=[alt.Tooltip("scenario:N", title="scenario"), alt.Tooltip("level:N", title="before → after"),
                     alt.Tooltip("shown:N", title="change")])
        layers = [bars, base.mark_rule(color="#444").encode(x=alt.datum(0))]
        if len(band):
            layers.append(alt.Chart(band).mark_rule(color="#222", strokeWidth=1.5).encode(
                x="p10_change:Q", x2="p90_change:Q", y=y))
            for end in ("p10_change", "p90_change"):  # caps make the whisker read as a range, not a stroke
                layers.append(alt.Chart(band).mark_tick(color="#222", thickness=1.5, size=10).encode(
                    x=f"{end}:Q", y=y))
        for side, keep in (("left", pos), ("right", ~pos)):
            if keep.any():
                layers.append(alt.Chart(d[keep]).mark_text(align=side, dx=6 if side == "left" else -6,
                                                           fontSize=12, color="#1d2633").encode(
                    x="label_at:Q", y=y, text="shown:N"))
        panels.append(alt.layer(*layers).properties(title=title, width=width, height=28 * len(d)))
    return alt.vconcat(*panels, spacing=22).resolve_scale(x="independent")


def loads_side_by_side(loads_long: pd.DataFrame, max_managers: int = 25) -> alt.LayerChart:
    """Hours after reallocation per manager (one row each) and scenario, with each manager's balance band as a
    grey range; the legend names the scenarios and the band.

    Parameters
    ----------
    loads_long : ``Comparison.loads_long`` (``manager_id, name, scenario, hours_after, band_low, band_high``);
        hours per year.
    max_managers : show at most this many managers: those whose load differs most between scenarios (41 names
        side by side, turned on end, overlapped and could not be read).
    """
    d = loads_long.copy()
    spread = d.groupby("manager_id")["hours_after"].agg(lambda s: s.max() - s.min())
    keep = spread.sort_values(ascending=False, kind="stable").index[:max_managers]
    d = d[d["manager_id"].isin(keep)]
    if len(d) + len(keep) > MAX_MARKS:  # cannot happen with the cap above unless scenarios are many
        d = d.head(MAX_MARKS - len(keep))
    shown = "" if len(keep) == len(spread) else f" ({len(keep)} of {len(spread)} managers that differ most)"
    d["who"] = d["name"].astype("string").fillna(d["manager_id"].astype("string"))
    order = list(d.drop_duplicates("manager_id").sort_values("hours_before" if "hours_before" in d else "who",
                                                             ascending=False, kind="stable")["who"])
    y = alt.Y("who:N", title=None, sort=order, axis=alt.Axis(labelLimit=180, labelFontSize=11))
    scenarios = list(dict.fromkeys(d["scenario"]))
    band_key = "workload band"
    if "band_low" in d and (d.groupby("manager_id")["band_low"].nunique() > 1).any():
        band_key = f"workload band of {scenarios[0]}"  # the scenarios' bands differ: the grey is the first one's
    colours = alt.Scale(domain=[*scenarios, band_key], range=[*_PALETTE[:len(scenarios)], "#d9d9d9"])
    layers = []
    if {"band_low", "band_high"} <= set(d.columns):
        band = d.drop_duplicates("manager_id")
        layers.append(alt.Chart(band).mark_bar(opacity=0.7, height=12).encode(
            y=y, x=alt.X("band_low:Q", title="hours per year"), x2="band_high:Q", color=alt.ColorDatum(band_key)))
    layers.append(alt.Chart(d).mark_point(filled=True, size=60, opacity=0.9).encode(
        y=y, x=alt.X("hours_after:Q", title="hours per year"),
        color=alt.Color("scenario:N", title=None, scale=colours, legend=alt.Legend(orient="top", labelLimit=260)),
        shape=alt.Shape("scenario:N", title=None, legend=None),
        tooltip=[alt.Tooltip("who:N", title="manager"), alt.Tooltip("scenario:N", title="scenario"),
                 alt.Tooltip("hours_after:Q", title="hours per year", format=",.0f"),
                 alt.Tooltip("accounts_after:Q", title="accounts")]))
    return alt.layer(*layers).properties(title=f"Workload after reallocation{shown}", width=420,
                                         height=max(120, 18 * len(keep)))


def move_overlap(overlap: pd.DataFrame) -> alt.LayerChart:
    """Heat map of move-list overlap (Jaccard: accounts moved in both / moved in either) for each pair.

    Parameters
    ----------
    overlap : ``Comparison.overlap`` (``a, b, both_moved, same_target, jaccard``).
    """
    d = pd.concat([overlap, overlap.rename(columns={"a": "b", "b": "a", "moves_a": "moves_b",
                                                    "moves_b": "moves_a", "only_a": "only_b", "only_b": "only_a"})],
                  ignore_index=True)
    base = alt.Chart(d).encode(x=alt.X("a:N", title=None), y=alt.Y("b:N", title=None))
    rect = base.mark_rect().encode(
        color=alt.Color("jaccard:Q", title="in common", legend=alt.Legend(format=".0%"), scale=alt.Scale(domain=[0, 1], scheme="blues")),
        tooltip=[alt.Tooltip("a:N", title="scenario"), alt.Tooltip("b:N", title="and"),
                 alt.Tooltip("both_moved:Q", title="moved in both"),
                 alt.Tooltip("same_target:Q", title="to the same manager"),
                 alt.Tooltip("jaccard:Q", title="in common", format=".0%")])
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("jaccard:Q", format=".0%"),
        color=alt.condition(alt.datum.jaccard > 0.5, alt.value("white"), alt.value("#222")))
    side = 60 * max(2, d["a"].nunique())
    return (rect + text).properties(title="Move lists: share of moved accounts in common", width=side, height=side)


def kpi_series(series: pd.DataFrame, title: str = "Monthly revenue: baseline vs scenario") -> alt.LayerChart:
    """Monthly totals over the horizon: baseline and scenario lines, P10–P90 band when Monte Carlo ran.

    Parameters
    ----------
    series : ``Projection.series`` (``month``, ``baseline``, ``scenario`` [, ``scenario_p10``, ``scenario_p90``]);
        amounts in the book's currency per month.
    """
    long = series.melt(id_vars="month", value_vars=["baseline", "scenario"], var_name="line", value_name="amount")
    long["line"] = long["line"].map(_SERIES_NAMES)
    x = alt.X("month:O", title="month", axis=alt.Axis(labelAngle=0))
    layers = []
    if {"scenario_p10", "scenario_p90"} <= set(series.columns):
        layers.append(alt.Chart(series).mark_area(opacity=0.25, color=_PALETTE[0]).encode(
            x=x, y="scenario_p10:Q", y2="scenario_p90:Q"))
    layers.append(alt.Chart(long).mark_line(point=True).encode(
        x=x, y=alt.Y("amount:Q", title="per month", scale=alt.Scale(zero=False), axis=alt.Axis(format=",.3~s")),
        color=alt.Color("line:N", title=None, scale=alt.Scale(domain=list(_SERIES_NAMES.values()),
                                                              range=["#888", _PALETTE[0]])),
        tooltip=[alt.Tooltip("month:O", title="month"), alt.Tooltip("line:N", title=" "),
                 alt.Tooltip("amount:Q", title="per month", format=",.0f")]))
    return alt.layer(*layers).properties(title=title, width=360, height=220)


def loads_before_after(loads: pd.DataFrame, max_managers: int = 30) -> alt.LayerChart:
    """Per manager (one row each): hours before (grey) and after (blue) reallocation, joined by a line, against
    the manager's balance band (a grey range); the legend names all three.

    Parameters
    ----------
    loads : ``Assignment.loads`` (``manager_id, name, hours_before, hours_after, band_low, band_high``);
        hours per year.
    max_managers : show at most this many managers, those with the largest change (forty names side by side,
        turned on end, overlapped).
    """
    d = loads.copy()
    d["change"] = (d["hours_after"] - d["hours_before"]).abs()
    n = len(d)
    if n > max_managers:
        d = d.nlargest(max_managers, "change")
    d["who"] = d["name"].astype("string").fillna(d["manager_id"].astype("string"))
    d = d.sort_values("hours_after", ascending=False, kind="stable")
    y = alt.Y("who:N", title=None, sort=list(d["who"]), axis=alt.Axis(labelLimit=180, labelFontSize=11))
    keys = ["before", "after", "workload band"]
    colours = alt.Scale(domain=keys, range=["#999", _PALETTE[0], "#e0e0e0"])
    band = alt.Chart(d).mark_bar(height=12).encode(y=y, x=alt.X("band_low:Q", title="hours per year"),
                                                   x2="band_high:Q", color=alt.ColorDatum("workload band"))
    link = alt.Chart(d).mark_rule(color="#b5b5b5").encode(y=y, x="hours_before:Q", x2="hours_after:Q")
    long = d.melt(id_vars=["who"], value_vars=["hours_before", "hours_after"], var_name="when", value_name="hours")
    long["when"] = np.where(long["when"] == "hours_before", "before", "after")
    pts = alt.Chart(long).mark_point(filled=True, size=55, opacity=1).encode(
        y=y, x="hours:Q", color=alt.Color("when:N", title=None, scale=colours, legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("who:N", title="manager"), alt.Tooltip("when:N", title=" "),
                 alt.Tooltip("hours:Q", title="hours per year", format=",.0f")])
    shown = "" if len(d) == n else f" ({len(d)} of {n} managers, those whose load changes most)"
    return alt.layer(band, link, pts).properties(title=f"Workload per manager before and after{shown}",
                                                 width=420, height=max(120, 18 * len(d)))

"""KPI projection charts: fan chart over the horizon, waterfall of the revenue delta, per-manager change.

Pure builders: a ``Projection``'s frames and dicts in, ``alt.Chart`` out. Every chart has at most a few
hundred marks (months, waterfall steps, or the managers with the largest change).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["fan_chart", "revenue_waterfall", "manager_change_chart", "backtest_chart", "WATERFALL_STEPS"]

#: waterfall steps: (KPI key, label); the bars between the baseline and scenario totals
WATERFALL_STEPS: tuple[tuple[str, str], ...] = (
    ("delta_coverage", "Coverage gain"),
    ("delta_handover", "Handover loss"),
    ("delta_churn", "Handover churn"),
)

_BLUE, _GREY, _GREEN, _RED = "#1f4e79", "#8c8c8c", "#2e7d32", "#c62828"


def fan_chart(series: pd.DataFrame, currency: str = "EUR", title: str = "Monthly revenue: baseline vs scenario"
              ) -> alt.LayerChart:
    """Fan chart: scenario P10–P90 band (when present) with the P50, scenario and baseline lines per month.

    Parameters
    ----------
    series : ``Projection.series``: ``month``, ``baseline``, ``scenario`` and optionally ``scenario_p10``,
        ``scenario_p50``, ``scenario_p90`` (currency per month).
    currency : unit shown on the axis.
    """
    df = series.copy()
    x = alt.X("month:Q", title="Month after the last observed month", axis=alt.Axis(tickMinStep=1))
    lines = df.melt(id_vars=["month"], value_vars=["baseline", "scenario"], var_name="line", value_name="revenue")
    key = alt.Legend(symbolType="stroke", symbolStrokeWidth=2, symbolSize=300)  # a line with its dash, not a dot
    color = alt.Color("line:N", title=None, scale=alt.Scale(domain=["baseline", "scenario"], range=[_GREY, _BLUE]),
                      legend=key)
    layer = [alt.Chart(lines).mark_line(point=True).encode(
        x=x, y=alt.Y("revenue:Q", title=f"Revenue per month ({currency})", scale=alt.Scale(zero=False)),
        # one legend for colour and dash (a legend=None on the dash hid both: nobody could tell the lines apart)
        color=color, strokeDash=alt.StrokeDash("line:N", title=None, legend=key,
                                               scale=alt.Scale(domain=["baseline", "scenario"],
                                                               range=[[4, 3], [1, 0]])),
        tooltip=["month:Q", "line:N", alt.Tooltip("revenue:Q", format=",.0f")])]
    if {"scenario_p10", "scenario_p90"} <= set(df.columns):
        band = alt.Chart(df).mark_area(opacity=0.25, color=_BLUE).encode(
            x=x, y=alt.Y("scenario_p10:Q"), y2="scenario_p90:Q",
            tooltip=["month:Q", alt.Tooltip("scenario_p10:Q", title="P10", format=",.0f"),
                     alt.Tooltip("scenario_p90:Q", title="P90", format=",.0f")])
        layer.insert(0, band)
    return alt.layer(*layer).properties(title=title, width=420, height=240)


def revenue_waterfall(kpis: dict, currency: str = "EUR", horizon_label: str = "next 12 months") -> alt.LayerChart:
    """Waterfall from baseline to scenario revenue: coverage gain, handover loss, handover churn.

    Parameters
    ----------
    kpis : ``Projection.kpis`` with ``revenue_12m`` and the ``delta_*`` keys of ``WATERFALL_STEPS``.
    currency : unit shown on the axis.
    """
    base = kpis["revenue_12m"]["baseline"]
    rows = [{"step": "Baseline", "start": 0.0, "end": base, "amount": base, "kind": "total"}]
    level = base
    for key, label in WATERFALL_STEPS:
        v = kpis.get(key, {}).get("scenario", 0.0) or 0.0
        rows.append({"step": label, "start": level, "end": level + v, "amount": v,
                     "kind": "gain" if v >= 0 else "loss"})
        level += v
    scen = kpis["revenue_12m"]["scenario"]
    rows.append({"step": "Scenario", "start": 0.0, "end": scen, "amount": scen, "kind": "total"})
    df = pd.DataFrame(rows)
    df["order"] = range(len(df))
    lo = min(df[["start", "end"]].where(df["kind"] != "total").min().min(), base, scen)
    span = max(abs(base - lo), abs(scen - lo), 1.0)
    # the totals would dwarf the steps: start the axis just below the smallest level shown
    floor = max(0.0, lo - 0.5 * max(abs(df.loc[df.kind != "total", "amount"]).max(), span * 0.02))
    df["start"] = df["start"].where(df["kind"] != "total", floor)
    order = df["step"].tolist()
    bars = alt.Chart(df).mark_bar(size=38).encode(
        x=alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("start:Q", title=f"Revenue, {horizon_label} ({currency})", scale=alt.Scale(zero=False)),
        y2="end:Q",
        color=alt.Color("kind:N", legend=None, scale=alt.Scale(domain=["total", "gain", "loss"],
                                                               range=[_BLUE, _GREEN, _RED])),
        tooltip=["step:N", alt.Tooltip("amount:Q", format=",.0f")])
    # each label above its bar's top (a loss ends at its bottom: a label there sat on the bar)
    df["top"] = df[["start", "end"]].max(axis=1)
    text = alt.Chart(df).mark_text(dy=-8).encode(
        x=alt.X("step:N", sort=order), y=alt.Y("top:Q"), text=alt.Text("amount:Q", format=",.3s"))
    return alt.layer(bars, text).properties(title="Revenue delta: baseline → scenario", width=420, height=240)


def manager_change_chart(by_manager: pd.DataFrame, top: int = 30) -> alt.LayerChart:
    """Utilisation before → after per manager (the ``top`` managers with the largest change), with the 100 % line.

    Parameters
    ----------
    by_manager : ``Projection.by_manager`` with ``manager_id``, ``name``, ``utilisation_before``,
        ``utilisation_after`` (hours / capacity).
    top : at most this many managers are shown.
    """
    df = by_manager.copy()
    df["label"] = df["name"].astype("string").fillna(df["manager_id"].astype("string"))
    df["change"] = (df["utilisation_after"] - df["utilisation_before"]).abs()
    df = df.dropna(subset=["utilisation_before", "utilisation_after"])
    title = "Manager utilisation before → after"
    if len(df) > top:
        title += f" ({top} of {len(df)}: the largest changes)"
    df = df.nlargest(top, "change")
    order = df.sort_values("utilisation_after", ascending=False)["label"].tolist()
    long = df.melt(id_vars=["label"], value_vars=["utilisation_before", "utilisation_after"], var_name="when",
                   value_name="utilisation")
    long["when"] = long["when"].str.replace("utilisation_", "", regex=False)
    y = alt.Y("label:N", sort=order, title=None)
    rule = alt.Chart(df).mark_rule(color=_GREY).encode(y=y, x="utilisation_before:Q", x2="utilisation_after:Q")
    pts = alt.Chart(long).mark_point(filled=True, size=60).encode(
        y=y, x=alt.X("utilisation:Q", title="Hours / capacity", axis=alt.Axis(format="%")),
        color=alt.Color("when:N", title=None, scale=alt.Scale(domain=["before", "after"], range=[_GREY, _BLUE])),
        tooltip=["label:N", "when:N", alt.Tooltip("utilisation:Q", format=".0%")])
    full = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3], color=_RED).encode(x="x:Q")
    return alt.layer(rule, pts, full).properties(title=title, width=360, height=max(120, 14 * len(df)))


def backtest_chart(series: pd.DataFrame, segment: str = "Total", currency: str = "EUR") -> alt.LayerChart:
    """Held-out months: actual vs projected revenue of one segment (or "Total"), with the P10–P90 band.

    Parameters
    ----------
    series : ``Backtest.series``: ``segment``, ``month``, ``actual``, ``projected`` and optionally ``p10``/``p90``
        (currency per month).
    segment : which rows to show.
    currency : unit shown on the axis.
    """
    df = series[series["segment"] == segment].copy()
    x = alt.X("month:Q", title="Held-out month", axis=alt.Axis(tickMinStep=1))
    lines = df.melt(id_vars=["month"], value_vars=["actual", "projected"], var_name="line", value_name="revenue")
    layer = [alt.Chart(lines).mark_line(point=True).encode(
        x=x, y=alt.Y("revenue:Q", title=f"Revenue per month ({currency})", scale=alt.Scale(zero=False)),
        color=alt.Color("line:N", title=None, scale=alt.Scale(domain=["actual", "projected"],
                                                              range=["#333333", _BLUE])),
        tooltip=["month:Q", "line:N", alt.Tooltip("revenue:Q", format=",.0f")])]
    if {"p10", "p90"} <= set(df.columns):
        layer.insert(0, alt.Chart(df).mark_area(opacity=0.25, color=_BLUE).encode(x=x, y="p10:Q", y2="p90:Q"))
    return alt.layer(*layer).properties(title=f"Backtest: {segment}", width=360, height=200)

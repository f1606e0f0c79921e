"""Chart builders for the Segment step: accounts by segment, k selection, segment sizes, capacity gap.

Pure functions: frames in, ``alt.Chart`` out. Per-account charts sample at most ``MAX_MARKS`` accounts
(deterministically, every segment kept) so a 1M-account book draws as fast as a small one.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from . import MAX_MARKS

__all__ = ["BRUSH", "segment_scatter", "scatter_sample", "k_selection", "segment_sizes", "capacity_gap_chart"]

_SCHEME = "tableau10"
#: Axis floors of the log-scaled scatter: revenue in currency/year, service need in hours/year.
REVENUE_FLOOR = 100.0
NEED_FLOOR = 0.5

#: Axis labels of the scatter: SI prefixes only from a thousand up ("2k", "1.5M"), plain numbers below. d3's "~s"
#: alone writes 0.5 hours as "500m", which reads as 500 million.
PLAIN_AXIS_LABELS = "abs(datum.value) >= 1000 ? format(datum.value, '~s') : format(datum.value, ',.2~f')"


def scatter_sample(accounts: pd.DataFrame, labels: pd.DataFrame, max_points: int = MAX_MARKS,
                   seed: int = 0) -> pd.DataFrame:
    """At most ``max_points`` accounts for a scatter: ``account_id``, ``segment``, ``revenue_12m``,
    ``service_need``; each segment keeps its share of points but at least a few, drawn with ``seed``.
    """
    need = (pd.to_numeric(accounts["service_need"], errors="coerce") if "service_need" in accounts
            else pd.Series(np.nan, index=accounts.index))
    df = pd.DataFrame({"account_id": accounts["account_id"].to_numpy(),
                       "segment": labels["segment"].to_numpy(), "segment_id": labels["segment_id"].to_numpy(),
                       "revenue_12m": accounts["revenue_12m"].to_numpy(dtype="float64", na_value=np.nan),
                       "service_need": need.to_numpy(dtype="float64", na_value=np.nan)})
    # Log axes cannot show zero: churned accounts (no revenue) and unknown need sit on the axis floor.
    df["revenue_12m"] = df["revenue_12m"].fillna(0).clip(lower=REVENUE_FLOOR)
    df["service_need"] = df["service_need"].fillna(0).clip(lower=NEED_FLOOR)
    if len(df) <= max_points:
        return df
    rng = np.random.default_rng(seed)
    key = rng.random(len(df))
    counts = df["segment_id"].value_counts()
    quota = np.maximum(np.floor(counts / len(df) * (max_points - 10 * len(counts))), np.minimum(counts, 10))
    rank = pd.Series(key).groupby(df["segment_id"].to_numpy()).rank(method="first").to_numpy()
    keep = rank <= quota.reindex(df["segment_id"]).to_numpy()
    return df.loc[keep].reset_index(drop=True)


#: Name of the scatter's interval selection (its value is ``{"revenue_12m": [lo, hi], "service_need": [lo, hi]}``).
BRUSH = "brush"


def segment_scatter(points: pd.DataFrame, total_accounts: int | None = None, brush: bool = False) -> alt.Chart:
    """Accounts by revenue (x) and service need (y), coloured by segment, log axes (zeros on the floor).

    Parameters
    ----------
    points : output of ``scatter_sample`` (≤ ``MAX_MARKS`` rows; more are cut to keep the chart light).
    total_accounts : accounts in the book, for the subtitle when ``points`` is a sample.
    brush : add an interval selection named ``BRUSH`` over both axes (for a live chart that lists the
        accounts in the brushed region); points outside it fade.
    """
    pts = points.head(MAX_MARKS)
    sub = (f"sample of {len(pts):,} of {total_accounts:,} accounts" if total_accounts and total_accounts > len(pts)
           else f"{len(pts):,} accounts")
    if len(pts) > 1 and pts["service_need"].nunique() == 1:  # a book without service need: all on the floor
        sub += "; the book gives no service need (every account on the floor), so only revenue separates them"
    color = alt.Color("segment:N", title="Segment", scale=alt.Scale(scheme=_SCHEME), sort=alt.SortField("segment_id"),
                      legend=alt.Legend(labelLimit=320, orient="bottom", columns=1))
    chart = alt.Chart(pts).mark_circle(size=14).encode(
        x=alt.X("revenue_12m:Q", title="Revenue last 12 months (log)", scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr=PLAIN_AXIS_LABELS, tickCount=6)),
        y=alt.Y("service_need:Q", title="Service need, hours/year (log)", scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr=PLAIN_AXIS_LABELS, tickCount=6)),
        color=color, opacity=alt.value(0.6),
        tooltip=["account_id:N", "segment:N", alt.Tooltip("revenue_12m:Q", format=",.0f"),
                 alt.Tooltip("service_need:Q", format=",.1f")],
    ).properties(title=alt.TitleParams("Accounts by value and need", subtitle=sub), width=380, height=260)
    if brush:
        sel = alt.selection_interval(name=BRUSH, encodings=["x", "y"])
        chart = chart.add_params(sel).encode(opacity=alt.condition(sel, alt.value(0.7), alt.value(0.1)))
    return chart


def k_selection(k_scores: list[dict] | pd.DataFrame) -> alt.Chart:
    """Calinski–Harabasz (higher is better), Davies–Bouldin (lower is better) and silhouette (higher is better)
    per candidate k, one panel each, the chosen k marked.
    """
    df = pd.DataFrame(k_scores)
    long = df.melt(id_vars=["k", "chosen"], value_vars=["calinski_harabasz", "davies_bouldin", "silhouette"],
                   var_name="score", value_name="value")
    long["score"] = long["score"].map({"calinski_harabasz": "Calinski–Harabasz ↑", "davies_bouldin":
                                       "Davies–Bouldin ↓", "silhouette": "Silhouette (sample) ↑"})
    base = alt.Chart(long).encode(x=alt.X("k:O", title="Number of segments"),
                                  y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)))
    layered = alt.layer(
        base.mark_line(color="#1f4e79"),
        base.mark_point(filled=True, size=60).encode(
            color=alt.Color("chosen:N", scale=alt.Scale(domain=[True, False], range=["#c0392b", "#1f4e79"]),
                            legend=alt.Legend(title="Chosen k"))),
    ).properties(width=170, height=150)
    return layered.facet(column=alt.Column("score:N", title=None)).resolve_scale(y="independent").properties(
        title="Choosing the number of segments")


def segment_sizes(profiles: pd.DataFrame) -> alt.Chart:
    """Share of accounts and share of revenue per segment, side by side."""
    long = profiles.melt(id_vars=["segment_id", "segment"], value_vars=["account_share", "revenue_share"],
                         var_name="share_of", value_name="share")
    long["share_of"] = long["share_of"].map({"account_share": "accounts", "revenue_share": "revenue"})
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("segment:N", title=None, sort=alt.SortField("segment_id"), axis=alt.Axis(labelLimit=320)),
        x=alt.X("share:Q", title="Share", axis=alt.Axis(format="%")),
        yOffset="share_of:N",
        color=alt.Color("share_of:N", title="Share of", scale=alt.Scale(range=["#9ecae1", "#1f4e79"])),
        tooltip=["segment:N", "share_of:N", alt.Tooltip("share:Q", format=".1%")],
    ).properties(title="Segment size and revenue", width=300, height=alt.Step(12))


def capacity_gap_chart(gap: pd.DataFrame) -> alt.Chart:
    """Headcount (FTE) each role needs under the coverage model vs the current team, per role."""
    long = gap.melt(id_vars=["role"], value_vars=["headcount_needed", "headcount_current"],
                    var_name="what", value_name="headcount")
    long["what"] = long["what"].map({"headcount_needed": "needed", "headcount_current": "current team"})
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("role:N", title=None, sort=list(gap["role"])),
        x=alt.X("headcount:Q", title="Managers (FTE)"),
        yOffset=alt.YOffset("what:N", sort=["needed", "current team"]),
        color=alt.Color("what:N", title=None, sort=["needed", "current team"],
                        scale=alt.Scale(range=["#c0392b", "#1f4e79"])),
        tooltip=["role:N", "what:N", alt.Tooltip("headcount:Q", format=",.1f")],
    ).properties(title="Capacity gap: managers needed vs current team", width=300, height=alt.Step(14))

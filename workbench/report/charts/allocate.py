"""Chart builders for the reallocation: workload (and revenue or potential) per manager before/after with the band,
hours by region, moves by reason. Pure functions: an Assignment's frames in, an ``alt.Chart`` out (aggregated to
≤ 5,000 marks)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ...allocate.engine import reason_label

__all__ = ["workload_chart", "balance_chart", "region_chart", "moves_by_reason_chart", "tradeoff_chart",
           "manager_labels"]

_BEFORE, _AFTER, _BAND, _TARGET, _EDGE = "#9db4cc", "#1f4e79", "#d9ead3", "#2e7d32", "#a40000"
#: the share-of-target axis ends here at the most: one manager at 1,150 % must not squash the band into a sliver
_AXIS_CUT = 3.0


def workload_chart(loads: pd.DataFrame, band: float, max_managers: int = 40) -> alt.LayerChart:
    """Dumbbell chart: each manager's hours as a share of target, before (light) and after (dark), with the band.

    Parameters
    ----------
    loads : ``Assignment.loads`` (``name``, ``target_hours``, ``hours_before``, ``hours_after``,
        ``band_low``, ``band_high``).
    band : the balance band as a share (0.15 = ±15 %), drawn as a shaded strip around 100 % of target.
    max_managers : show at most this many managers: the ones furthest from target before reallocation
        (4 marks per manager, so the chart stays far below 5,000 marks). The chart is drawn as static SVG, so
    it carries no tooltips.
    """
    df = _shares(loads, "target_hours", "hours_before", "hours_after", "band_high")
    title = f"Workload per manager before → after (band ±{band:.0%})"
    if len(df) > max_managers:
        title += f", {max_managers} furthest from target"
    return _dumbbell(df, band, max_managers, "Hours as share of target (band shaded)", title)


def balance_chart(loads: pd.DataFrame, quantity: str, band: float, max_managers: int = 40) -> alt.LayerChart:
    """Dumbbell chart of the second balanced quantity (revenue or potential) per manager, as a share of each
    manager's fair-share target, before (light) and after (dark), with its band.

    Parameters
    ----------
    loads : ``Assignment.loads`` of a plan made with ``balance_on`` (``aux_target``, ``aux_before``,
        ``aux_after``, ``aux_upper``; amounts in the book's currency).
    quantity : what was balanced (``"revenue"`` or ``"potential"``), for the titles.
    band : that quantity's band as a share (0.2 = ±20 %).
    max_managers : at most this many managers, the ones furthest from target before (4 marks each).
    """
    df = _shares(loads, "aux_target", "aux_before", "aux_after", "aux_upper")
    title = f"{quantity.capitalize()} per manager before → after (band ±{band:.0%})"
    if len(df) > max_managers:
        title += f", {max_managers} furthest from target"
    return _dumbbell(df, band, max_managers, f"{quantity.capitalize()} as share of target (band shaded)", title)


def _shares(loads: pd.DataFrame, target: str, before: str, after: str, upper: str) -> pd.DataFrame:
    """Managers with a positive target: ``before``, ``after`` and ``cap`` (the upper edge) as shares of it."""
    df = loads.loc[loads[target] > 0, ["manager_id", "name"]].copy()
    t = loads.loc[df.index, target]
    df["before"] = loads.loc[df.index, before] / t
    df["after"] = loads.loc[df.index, after] / t
    df["cap"] = loads.loc[df.index, upper] / t
    return df


def _dumbbell(df: pd.DataFrame, band: float, max_managers: int, x_title: str, title: str) -> alt.LayerChart:
    """Before/after per manager (columns ``before``, ``after``, ``cap`` as shares of target) with the band strip.

    A manager beyond ``_AXIS_CUT`` (300 %) is drawn at the axis end, with the true share in the label."""
    dev = (df["before"] - 1).abs()
    df = df.loc[dev.sort_values(ascending=False, kind="stable").index[:max_managers]]
    df = df.sort_values("before", ascending=False, kind="stable")
    df["label"] = manager_labels(df["manager_id"], df["name"])
    top = df[["before", "after", "cap"]].max(axis=1)
    cut = bool((top > _AXIS_CUT).any())
    if cut:
        beyond = df["before"].where(df["before"] >= df["after"], df["after"])
        df["label"] = df["label"].where(top <= _AXIS_CUT, df["label"] + ": " + (100 * beyond).map("{:,.0f} %".format))
        title += f"; axis cut at {_AXIS_CUT:.0%}"
    order = df["label"].tolist()
    height = max(120, 14 * len(df))
    y = alt.Y("label:N", sort=order, title=None)
    scale = alt.Scale(domain=[0, _AXIS_CUT], clamp=True) if cut else alt.Undefined
    # one legend for every mark: the shaded strip, the target line and the red ticks were left unexplained
    keys = ["before", "after", f"band ±{band:.0%}", "target", "own upper edge (band or capacity)"]
    legend = alt.Scale(domain=keys, range=[_BEFORE, _AFTER, _BAND, _TARGET, _EDGE])

    def key(i: int) -> alt.ColorDatum:  # coloured through the points' scale, which all layers share
        return alt.ColorDatum(keys[i])

    strip = alt.Chart(pd.DataFrame({"lo": [1 - band], "hi": [1 + band]})).mark_rect(opacity=0.8).encode(
        x=alt.X("lo:Q", scale=scale), x2="hi:Q", color=key(2))
    target = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3]).encode(
        x=alt.X("x:Q", scale=scale), color=key(3))
    link = alt.Chart(df).mark_rule(color="#999").encode(y=y, x=alt.X("before:Q", scale=scale), x2="after:Q")
    long = df.melt(id_vars=["label"], value_vars=["before", "after"], var_name="when", value_name="load")
    pts = alt.Chart(long).mark_circle(size=70, opacity=1).encode(
        y=y,
        x=alt.X("load:Q", title=x_title, axis=alt.Axis(format="%"), scale=scale),
        color=alt.Color("when:N", scale=legend, title=None,
                        legend=alt.Legend(orient="bottom", direction="horizontal", columns=3, symbolType="square")))
    # the red tick is each manager's own upper edge: band high, or capacity where that is lower
    caps = alt.Chart(df).mark_tick(thickness=2, size=10).encode(y=y, x=alt.X("cap:Q", scale=scale), color=key(4))
    return alt.layer(strip, target, link, caps, pts).properties(title=title, width=420, height=height)


def manager_labels(manager_id: pd.Series, name: pd.Series) -> pd.Series:
    """``name (id)``, or the name alone where the id says nothing more (a book whose owners are only names)."""
    mid, nm = manager_id.astype(str), name.astype(str)
    same = mid.str.strip().str.casefold() == nm.str.strip().str.casefold()
    return nm.where(same, nm + " (" + mid + ")")


def region_chart(owners: pd.DataFrame, accounts: pd.DataFrame, loads: pd.DataFrame,
                 max_regions: int = 40) -> alt.Chart:
    """Hours by account region: served by managers of the same region before vs after (grouped bars).

    Regions where no manager sits cannot be served locally by any plan; they are left out of the bars and named
    in the subtitle (how many, their share of the hours, the largest ones), so the bars show what the plan decides.

    Parameters
    ----------
    owners : ``Assignment.owners`` (``account_id``, ``from_manager``, ``to_manager``, ``hours``).
    accounts : the book's accounts (``account_id``, ``region``).
    loads : ``Assignment.loads`` (``manager_id``, ``region``).
    max_regions : regions with most hours shown (2 bars each).
    """
    reg = accounts.set_index(accounts["account_id"].astype(str))["region"].astype("string") if "region" in accounts \
        else pd.Series(dtype="string")
    mreg = loads.set_index(loads["manager_id"].astype(str))["region"].astype("string").str.strip().str.lower()
    a_reg = reg.reindex(owners["account_id"].astype(str).to_numpy()).fillna("(none)").to_numpy()
    a_key = pd.Series(a_reg, dtype="string").str.strip().str.lower().to_numpy()
    h = owners["hours"].to_numpy(dtype=float)
    rows = []
    for when, col in (("before", "from_manager"), ("after", "to_manager")):
        mr = mreg.reindex(owners[col].astype("string").fillna("").to_numpy()).to_numpy()
        local = pd.Series(mr, dtype="string").eq(pd.Series(a_key, dtype="string")).fillna(False).to_numpy()
        rows.append(pd.DataFrame({"region": a_reg, "when": when, "local": np.where(local, h, 0.0), "hours": h}))
    df = pd.concat(rows).groupby(["region", "when"], as_index=False)[["local", "hours"]].sum()
    df["local_share"] = df["local"] / df["hours"].where(df["hours"] > 0)
    served = set(mreg.dropna())
    has_mgr = df["region"].astype("string").str.strip().str.lower().isin(served)
    hours = df[df["when"] == "after"].set_index("region")["hours"]
    orphan = hours[~hours.index.to_series().astype("string").str.strip().str.lower().isin(served)]
    orphan = orphan.sort_values(ascending=False)
    df = df[has_mgr]
    top = df.groupby("region")["hours"].sum().sort_values(ascending=False).index[:max_regions]
    df = df[df["region"].isin(top)]
    subtitle = []
    if len(orphan):
        names = ", ".join(map(str, orphan.index[:4])) + (", …" if len(orphan) > 4 else "")
        subtitle = [f"Not shown: {len(orphan)} region{'s' if len(orphan) > 1 else ''} without a manager of their "
                    f"own ({orphan.sum() / max(hours.sum(), 1e-9):.0%} of the hours): {names}"]
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("region:N", sort=list(top), title=None),
        yOffset=alt.YOffset("when:N", sort=["before", "after"]),
        x=alt.X("local_share:Q", title="Hours served by a manager of the same region", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("when:N", scale=alt.Scale(domain=["before", "after"], range=[_BEFORE, _AFTER]), title=None),
        tooltip=["region:N", "when:N", alt.Tooltip("local_share:Q", format=".0%"),
                 alt.Tooltip("hours:Q", format=",.0f")],
    ).properties(title=alt.TitleParams("Local coverage by region", subtitle=subtitle, anchor="start"), width=320,
                 height=max(120, 22 * len(top)))


def moves_by_reason_chart(moves: pd.DataFrame) -> alt.Chart:
    """Number of moved accounts per reason (one bar per reason code, named by ``reason_label``)."""
    df = moves.groupby("reason_code", as_index=False).agg(accounts=("account_id", "size"),
                                                          revenue=("revenue_12m", "sum")) if len(moves) else \
        pd.DataFrame({"reason_code": pd.Series(dtype="string"), "accounts": pd.Series(dtype="int64"),
                      "revenue": pd.Series(dtype="float64")})
    df["reason"] = df["reason_code"].map(reason_label).astype("string")
    return alt.Chart(df).mark_bar(color=_AFTER).encode(
        y=alt.Y("reason:N", sort="-x", title=None), x=alt.X("accounts:Q", title="Accounts moved"),
        tooltip=["reason:N", "accounts:Q", alt.Tooltip("revenue:Q", format=",.0f")],
    ).properties(title="Moves by reason", width=300, height=max(80, 24 * len(df)))


def tradeoff_chart(table: pd.DataFrame, band: float | None = None) -> alt.HConcatChart:
    """What each workload band costs and buys: accounts that change owner (left) and the workload imbalance left
    after the plan (right, Gini of hours / capacity) against the band, the current band marked.

    Parameters
    ----------
    table : ``workbench.allocate.band_tradeoff`` output (``band``, ``feasible``, ``accounts_moved``,
        ``moved_share_revenue``, ``gini_after``).
    band : the band the plan uses now (a dashed rule), ``None`` for none.
    """
    df = table[["band", "feasible", "accounts_moved", "moved_share_revenue", "gini_after"]].copy()
    df["plan"] = np.where(df["feasible"], "meets the band", "cannot meet the band")
    x = alt.X("band:Q", title="Workload band ± (share of target)", axis=alt.Axis(format="%"),
              scale=alt.Scale(zero=False))
    shape = alt.Shape("plan:N", scale=alt.Scale(domain=["meets the band", "cannot meet the band"],
                                                range=["circle", "cross"]), title=None)
    colour = alt.Color("plan:N", scale=alt.Scale(domain=["meets the band", "cannot meet the band"],
                                                 range=[_AFTER, "#a40000"]), title=None)
    tips = [alt.Tooltip("band:Q", format=".1%"), alt.Tooltip("accounts_moved:Q", format=",.0f"),
            alt.Tooltip("moved_share_revenue:Q", format=".1%", title="revenue moved"),
            alt.Tooltip("gini_after:Q", format=".3f", title="imbalance after")]

    def panel(field: str, title: str, fmt: str) -> alt.LayerChart:
        base = alt.Chart(df).encode(x=x, y=alt.Y(f"{field}:Q", title=title, axis=alt.Axis(format=fmt),
                                                  scale=alt.Scale(zero=True)))
        layers = [base.mark_line(color=_BEFORE), base.mark_point(size=70, filled=True).encode(
            shape=shape, color=colour, tooltip=tips)]
        if band is not None:
            layers.insert(0, alt.Chart(pd.DataFrame({"band": [float(band)]})).mark_rule(
                color="#2e7d32", strokeDash=[4, 3]).encode(x="band:Q"))
        return alt.layer(*layers).properties(width=300, height=200)

    title = alt.TitleParams("What each band costs: accounts moved vs imbalance left", anchor="start",
                            subtitle=["A narrower band evens out workload but moves more relationships"
                                      + (f"; dashed: the band now (±{band:.0%})" if band is not None else "")])
    return alt.hconcat(panel("accounts_moved", "Accounts that change owner", ",.0f"),
                       panel("gini_after", "Workload imbalance after (Gini)", ".2f")).properties(title=title)

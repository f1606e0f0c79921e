"""The projection's tables as people read them: short headers in words, shares in %, amounts in k / M.

The KPI step shows these (and a report can show the same figures): amounts from 1,000 carry no decimals, shares
read "98.7 %", a utilisation "152 % → 98 %", a growth estimate "4.8 % (1.2 pp)" with its standard error. Each
table fits a 1,280 px screen: before → after sit in one column, and the currency is said once, in the header.
Raw numbers stay in ``Projection.by_segment`` / ``by_manager`` and in the CSV and Excel files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report.format import fmt_kpi

__all__ = ["segment_table", "manager_table", "estimates_table", "backtest_table"]


def _money(v) -> str:
    """"59.59 M", "458 k", "7,122", "312": the column's header names the currency."""
    return "–" if v is None or pd.isna(v) else fmt_kpi(float(v), "", decimals=0)


def _pct(v, decimals: int = 1) -> str:
    return "–" if v is None or pd.isna(v) else f"{100 * float(v):,.{decimals}f} %"


def _count(v) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):,.0f}"


def _before_after(before, after, fmt) -> list[str]:
    return [f"{fmt(b)} → {fmt(a)}" for b, a in zip(before, after, strict=True)]


def segment_table(by_segment: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """``Projection.by_segment`` for people: accounts, revenue last 12 months, the next 12 keeping the owners and
    with the new ones, the change, revenue retention, the purchase model's share still buying, moves."""
    s = by_segment
    cur = f" ({currency})" if currency else ""
    out = {"Segment": s["segment"].astype(str), "Accounts": s["accounts"].map(_count),
           f"Revenue, last 12 months{cur}": s["revenue_last_12m"].map(_money),
           f"Next 12 months, owners kept{cur}": s["baseline_revenue_12m"].map(_money),
           f"Next 12 months, new owners{cur}": s["scenario_revenue_12m"].map(_money),
           f"Change{cur}": [fmt_kpi(v, "", sign=True, decimals=0) for v in s["delta_revenue_12m"]],
           "Revenue retained a year": s["retention_baseline"].map(_pct)}
    if "p_alive" in s:
        out["Still buying (BG/BB)"] = s["p_alive"].map(_pct)
    out["Accounts moved"] = s["accounts_moved"].map(_count)
    out[f"Revenue at risk{cur}"] = s["revenue_at_risk"].map(_money)
    return pd.DataFrame(out)


def manager_table(by_manager: pd.DataFrame, currency: str = "", rows: int | None = None) -> pd.DataFrame:
    """``Projection.by_manager`` for people, largest revenue change first (``rows`` of them): the manager's name
    (the id where there is none), role (when the team has roles), accounts and utilisation before → after, moves
    in / out, and the projected next 12 months keeping the owners and with the new ones (not the last 12 of the
    Reallocate step's table)."""
    m = by_manager.reindex(by_manager["revenue_delta_12m"].abs().sort_values(ascending=False, kind="stable").index)
    if rows is not None:
        m = m.head(rows)
    cur = f" ({currency})" if currency else ""
    name = m["name"].astype("string") if "name" in m else pd.Series(pd.NA, index=m.index, dtype="string")
    out = {"Manager": name.fillna(m["manager_id"].astype("string")).astype(str)}
    if "role" in m and m["role"].notna().any():
        out["Role"] = m["role"].astype("string").fillna("").astype(str)
    out["Accounts"] = _before_after(m["accounts_before"], m["accounts_after"], _count)
    out["Moved in / out"] = [f"{f'+{i:,.0f}' if i else '0'} / {f'-{o:,.0f}' if o else '0'}" if i or o else "–"
                             for i, o in zip(m["moved_in"], m["moved_out"], strict=True)]
    out["Utilisation"] = _before_after(m["utilisation_before"], m["utilisation_after"], lambda v: _pct(v, 0))
    out[f"Next 12 months, owners kept{cur}"] = m["revenue_before_12m"].map(_money)
    out[f"Next 12 months, new owners{cur}"] = m["revenue_after_12m"].map(_money)
    out[f"Change{cur}"] = [fmt_kpi(v, "", sign=True, decimals=0) for v in m["revenue_delta_12m"]]
    return pd.DataFrame(out).reset_index(drop=True)


def estimates_table(segments: pd.DataFrame) -> pd.DataFrame:
    """The per-segment estimates from revenue history (``Baseline.segments`` with a ``segment`` name column):
    growth and revenue retention per year, each with its standard error in percentage points, "–" where the
    history could not estimate it (the assumption's default is used there)."""
    def with_se(v, se, source) -> list[str]:
        return ["–" if src != "history" or pd.isna(x) else
                f"{100 * x:.1f} %" + ("" if pd.isna(e) else f" ({100 * e:.1f} pp)")
                for x, e, src in zip(v, se, source, strict=True)]

    s = segments
    return pd.DataFrame({
        "Segment": s["segment"].astype(str),
        "Growth per year (standard error)": with_se(s["growth"], s["growth_se"], s["growth_source"]),
        "Revenue retained a year (standard error)": with_se(s["retention"], s["retention_se"],
                                                            s["retention_source"])})


def backtest_table(by_segment: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """``Backtest.by_segment`` for people: held-out actual and projected revenue, the error (MAPE) and the share of
    held-out months whose actual fell inside the P10–P90 band."""
    b = by_segment
    cur = f" ({currency})" if currency else ""
    cov = b["coverage"] if "coverage" in b else pd.Series(np.nan, index=b.index)
    return pd.DataFrame({"Segment": b["segment"].astype(str), f"Actual{cur}": b["actual"].map(_money),
                         f"Projected{cur}": b["projected"].map(_money), "Error (MAPE)": b["mape"].map(_pct),
                         "Months inside P10–P90": cov.map(lambda v: _pct(v, 0))})

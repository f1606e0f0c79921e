"""Pure Altair chart builders: data in, ``alt.Chart`` out; they never display themselves.

Every builder aggregates or samples so that no chart carries more than ``MAX_MARKS`` marks.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

__all__ = ["MAX_MARKS", "revenue_concentration"]

MAX_MARKS = 5000


def revenue_concentration(accounts: pd.DataFrame, points: int = 100) -> alt.Chart:
    """Lorenz-style curve: share of revenue held by the top x % of accounts (``points`` marks at most).

    Parameters
    ----------
    accounts : frame with ``revenue_12m`` (currency per year).
    points : number of points on the curve.
    """
    rev = np.sort(accounts["revenue_12m"].fillna(0).clip(lower=0).to_numpy())[::-1]
    total = rev.sum() or 1.0
    cum = np.cumsum(rev) / total
    idx = np.unique(np.linspace(0, len(rev) - 1, min(points, len(rev))).astype(int))
    df = pd.DataFrame({"account_share": (idx + 1) / len(rev), "revenue_share": cum[idx]})
    line = alt.Chart(df).mark_line(point=False, color="#1f4e79").encode(
        x=alt.X("account_share:Q", title="Top share of accounts", axis=alt.Axis(format="%")),
        y=alt.Y("revenue_share:Q", title="Share of revenue", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("account_share:Q", format=".0%"), alt.Tooltip("revenue_share:Q", format=".0%")],
    )
    return line.properties(title="Revenue concentration", width=320, height=220)

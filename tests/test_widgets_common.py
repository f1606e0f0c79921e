"""Shared view helpers: how tables read."""

from __future__ import annotations

import pandas as pd

from widgets.common import table_html


def test_tables_read_like_the_cards_amounts_without_decimals_counts_with_separators():
    df = pd.DataFrame({"revenue_12m": [2_800_747.0, 341_455.25], "rows": [47_129, 12], "hours": [1600.0, 800.0],
                       "share": [0.152, 0.5], "gap": [None, 0.25], "ok": [True, False]})
    out = table_html(df)
    assert "2,800,747" in out and "2,800,747.0" not in out and "341,455" in out  # amounts from 1,000
    assert "47,129" in out and "47129" not in out                                 # counts
    assert ">1,600<" in out and ">800<" in out                                   # whole numbers
    assert ">0.2<" in out and ">0.5<" in out                                     # fractions: float_format
    assert "nan" not in out.lower().replace("wb-", "")
    assert table_html(df[["share"]], float_format="{:,.3f}").count("0.152") == 1

"""Monthly revenue history in long form (account, month, revenue) or wide form (one column per month)."""

from __future__ import annotations

import re

import pandas as pd

from .errors import ImportFileError
from .presets import suggest_mapping
from .readers import RawTable, parse_dates, parse_numbers

__all__ = ["history_frame", "month_columns"]

_HIST_SYNONYMS = {
    "account_id": ("account_id", "accountid", "account id", "account", "customer id", "kundennummer", "id",
                   "account name", "name"),
    "period": ("period", "month", "monat", "date", "datum", "periode", "year_month"),
    "revenue": ("revenue", "umsatz", "amount", "value", "betrag", "sales", "net revenue"),
}
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"))}
_MONTHS.update({"mrz": 3, "mär": 3, "maer": 3, "mai": 5, "okt": 10, "dez": 12})


def _month_of(header: str) -> pd.Timestamp | None:
    h = str(header).strip().lower()
    for rx in (r"^(\d{4})[-/.](\d{1,2})(?:[-/.]\d{1,2})?$", r"^(\d{1,2})[-/.](\d{4})$"):
        m = re.match(rx, h)
        if m:
            a, b = m.groups()
            year, month = (int(a), int(b)) if len(a) == 4 else (int(b), int(a))
            if 1 <= month <= 12:
                return pd.Timestamp(year=year, month=month, day=1)
    m = re.match(r"^([a-zä]{3})[a-zä]*[ ._-]*'?(\d{2}|\d{4})$", h)
    if m and m.group(1) in _MONTHS:
        year = int(m.group(2))
        return pd.Timestamp(year=year + 2000 if year < 100 else year, month=_MONTHS[m.group(1)], day=1)
    return None


def month_columns(headers: list[str]) -> dict[str, pd.Timestamp]:
    """Headers that name a month (``2024-01``, ``01.2024``, ``Jan 2024``, ``Mär 24``) → first day of that month."""
    out = {}
    for h in headers:
        ts = _month_of(h)
        if ts is not None:
            out[h] = ts
    return out


def history_frame(raw: RawTable) -> tuple[pd.DataFrame, dict]:
    """Long history columns ``account_id, period, revenue`` (+ ``_row``: source row) from long or wide input.

    Wide form is recognised when at least two headers name months; every other column but the account is
    ignored. Revenue text is parsed in the file's detected locale.

    Raises
    ------
    ImportFileError : neither a long (account, period, revenue) nor a wide layout is recognisable.
    """
    df = raw.frame
    headers = list(df.columns)
    dec = "," if raw.detected.get("decimal") == "comma" else "."
    thou = {"dot": ".", "comma": ","}.get(raw.detected.get("thousands", "none"))
    months = month_columns(headers)
    sugg = suggest_mapping([h for h in headers if h not in months], targets=_HIST_SYNONYMS)
    m = {r.target: r.source for r in sugg.itertuples() if r.source}
    if "account_id" not in m:
        raise ImportFileError(f"{raw.file} has no account column for revenue history; found: {', '.join(headers)}.")
    if len(months) >= 2:
        # wide: melt the month columns; row numbers repeat per month so rejections still name the source row
        wide = pd.DataFrame({"account_id": df[m["account_id"]], "_row": raw.row_numbers})
        for h in months:
            wide[h] = parse_numbers(df[h], dec, thou)
        long = wide.melt(id_vars=["account_id", "_row"], value_vars=list(months), var_name="_col",
                         value_name="revenue")
        long = long[long["revenue"].notna()]
        long["period"] = long["_col"].map(months)
        long = long.drop(columns="_col")
        detected = {"history_layout": f"wide ({len(months)} month columns)"}
    else:
        if "period" not in m or "revenue" not in m:
            raise ImportFileError(f"{raw.file}: revenue history needs an account, a month and a revenue column "
                                  f"(long form) or one column per month (wide form); found: {', '.join(headers)}.")
        long = pd.DataFrame({"account_id": df[m["account_id"]], "period": parse_dates(df[m["period"]]),
                             "revenue": parse_numbers(df[m["revenue"]], dec, thou), "_row": raw.row_numbers})
        bad_dates = long["period"].isna() & df[m["period"]].notna().to_numpy()
        long["period"] = long["period"].astype(object).where(~bad_dates, df[m["period"]])
        detected = {"history_layout": "long"}
    return long.reset_index(drop=True), detected

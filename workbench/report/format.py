"""KPI figures as people read them, shared by the HTML report, the workshop app and the dashboard.

Shares in %, their changes in percentage points, indices to three decimals, money in M / k above 10,000 and
without decimals from 1,000, counts without decimals ("334 accounts"); a figure that rounds to zero has no sign
("0.0 pp", not "-0.0 pp" or "+0.0 pp"). Raw numbers stay in the frames and the Excel export.
"""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd

__all__ = ["CARD_KPIS", "band_text", "change_band_text", "fmt_kpi", "kpi_decimals", "kpi_display", "kpi_line",
           "comparison_display", "comparison_bands", "comparison_cells", "header", "when"]

#: the headline KPIs, in the order people read them (then the per-role "accounts per manager" ones, then the rest)
CARD_KPIS = ("revenue_12m", "revenue_growth", "retention_rate", "clv", "clv_bgbb", "gross_margin_after_cts",
             "cost_to_serve", "revenue_per_manager", "workload_imbalance", "managers_in_band", "service_coverage",
             "accounts_moved", "revenue_moved", "accounts_from_leavers", "unowned_assigned", "revenue_at_risk")


def _number(x: float, decimals: int, sign: bool, thousands: bool = True) -> str:
    """``x`` with ``decimals``; a minus only when the shown figure is not zero ("-0.0" reads as a loss), a plus
    (``sign``) only on a shown figure above zero: a change that rounds to nothing reads "0.0", not "+0.0"."""
    text = f"{abs(x):{',' if thousands else ''}.{decimals}f}"
    if not any(c in "123456789" for c in text):
        return text
    return ("-" if x < 0 else "+" if sign else "") + text


def fmt_kpi(v: float | None, unit: str, sign: bool = False, decimals: int | None = None) -> str:
    """One KPI value with its unit. ``decimals`` fixes the decimals below 1,000 (see ``kpi_decimals``); amounts
    from 1,000 have none ("7,122 EUR"), from 10,000 they read in k / M. A value that rounds to zero has no sign."""
    if v is None or pd.isna(v):
        return "–"
    v = float(v)
    if unit == "share":
        return f"{_number(v * 100, 1, sign)} pp" if sign else f"{_number(v * 100, 1, False)} %"
    if unit == "index":
        return _number(v, 3, sign, thousands=False)
    a = abs(v)
    if a >= 1e6:
        return f"{_number(v / 1e6, 2, sign)} M {unit}".strip()
    if a >= 1e4:
        return f"{_number(v / 1e3, 0, sign)} k {unit}".strip()
    if a >= 1e3:
        return f"{_number(v, 0, sign)} {unit}".strip()
    if decimals is None:
        decimals = kpi_decimals(v)
    return f"{_number(v, decimals, sign)} {unit}".strip()


def kpi_decimals(*values: float | None) -> int:
    """0 when every value is a whole number (counts), else 1: one choice for a KPI's baseline, scenario and delta.
    Values of 1,000 and more are shown without decimals (or in k / M) and do not count."""
    return 0 if all(v is None or pd.isna(v) or abs(v) >= 1e3 or float(v).is_integer() for v in values) else 1


def ordered_keys(keys) -> list[str]:
    keys = list(dict.fromkeys(keys))
    per_role = [k for k in keys if k.startswith("accounts_per_")]
    return ([k for k in CARD_KPIS if k in keys] + per_role
            + [k for k in keys if k not in CARD_KPIS and k not in per_role])


def band_text(p10, p90, unit: str, dec: int, sign: bool = False) -> str:
    """"158.00 M EUR … 161.00 M EUR" for a P10–P90 band; "" when there is none (no draws, or a fixed KPI).
    ``sign``: a band of changes, "+0.12 M EUR … +0.74 M EUR"."""
    if p10 is None or p90 is None or pd.isna(p10) or pd.isna(p90) or p10 == p90:
        return ""
    return f"{fmt_kpi(p10, unit, sign=sign, decimals=dec)} … {fmt_kpi(p90, unit, sign=sign, decimals=dec)}"


def change_band_text(k: dict, dec: int | None = None) -> str:
    """A KPI's change band as the KPI cards read it: "+226 k EUR … +2.16 M EUR", with " (either way)" when it
    holds zero; "" when the projection drew no band for the change (``delta_p10`` / ``delta_p90``).

    The change's own band says whether the plan gains: the scenario value's band (``p10`` … ``p90``) straddles
    the baseline for most KPIs, which a reader takes for "maybe no gain", although baseline and scenario move
    together in every draw.
    """
    lo, hi, unit = k.get("delta_p10"), k.get("delta_p90"), k.get("unit", "")
    if dec is None:
        dec = kpi_decimals(k.get("baseline"), k.get("scenario"), k.get("delta"))
    text = band_text(lo, hi, unit, dec, sign=True)
    return text + (" (either way)" if text and lo < 0 < hi else "")


def kpi_display(kpis: dict) -> pd.DataFrame:
    """One scenario's KPIs as text: ``KPI, Baseline, Scenario, Change``, then, when it drew bands,
    ``Change P10–P90`` (the change's own band, as on the KPI cards) and ``Scenario P10–P90`` (the value's)."""
    rows = []
    for key in ordered_keys(kpis):
        k = kpis[key]
        unit = k.get("unit", "")
        dec = kpi_decimals(k.get("baseline"), k.get("scenario"), k.get("delta"))
        rows.append({"KPI": k.get("label", key), "Baseline": fmt_kpi(k.get("baseline"), unit, decimals=dec),
                     "Scenario": fmt_kpi(k.get("scenario"), unit, decimals=dec),
                     "Change": fmt_kpi(k.get("delta"), unit, sign=True, decimals=dec),
                     "Change P10–P90": change_band_text(k, dec),
                     "Scenario P10–P90": band_text(k.get("p10"), k.get("p90"), unit, dec)})
    out = pd.DataFrame(rows, columns=["KPI", "Baseline", "Scenario", "Change", "Change P10–P90", "Scenario P10–P90"])
    return out.drop(columns=[c for c in ("Change P10–P90", "Scenario P10–P90") if not out[c].astype(bool).any()])


def kpi_line(k: dict) -> str:
    """One KPI for a terminal: "Revenue, next 12 months: 157.51 M EUR -> 160.06 M EUR (+2.55 M EUR)", with
    "[change P10–P90 +0.23 M EUR … +2.16 M EUR]" when the projection drew bands (the scenario value's band,
    "[P10–P90 …]", for a projection saved before changes had bands of their own)."""
    unit = k.get("unit", "")
    dec = kpi_decimals(k.get("baseline"), k.get("scenario"), k.get("delta"))
    change = change_band_text(k, dec)
    band = f"change P10–P90 {change}" if change else \
        (f"P10–P90 {b}" if (b := band_text(k.get("p10"), k.get("p90"), unit, dec)) else "")
    return (f"{k.get('label')}: {fmt_kpi(k.get('baseline'), unit, decimals=dec)} -> "
            f"{fmt_kpi(k.get('scenario'), unit, decimals=dec)} ({fmt_kpi(k.get('delta'), unit, sign=True, decimals=dec)})"
            + (f"  [{band}]" if band else ""))


def _change_band(part: pd.DataFrame, name: str, unit: str, dec: int) -> str:
    if name not in part.index or "delta_p10" not in part.columns:
        return ""
    row = part.loc[name]
    return change_band_text({"delta_p10": row["delta_p10"], "delta_p90": row["delta_p90"], "unit": unit}, dec)


def _kpi_parts(cmp):
    """(key, that KPI's rows by scenario, unit, decimals) per KPI of a comparison, headline KPIs first."""
    k = cmp.kpis
    for key in ordered_keys(k["kpi"]):
        part = k[k["kpi"] == key].set_index("scenario")
        dec = kpi_decimals(*part["baseline"], *part["value"], *part["delta_vs_reference"])
        yield key, part, part.iloc[0]["unit"], dec


def _kpi_rows(cmp, own: bool):
    """Per KPI of a comparison (headline KPIs first): its table row begun with the label and, when every scenario
    shares it (``own`` false), the baseline; then its rows by scenario, unit and decimals."""
    for _, part, unit, dec in _kpi_parts(cmp):
        first = part.iloc[0]
        row = {"KPI": first["label"]}
        if not own:
            row["Baseline"] = fmt_kpi(first["baseline"], unit, decimals=dec)
        yield row, part, unit, dec


def comparison_display(cmp, bands: bool = True) -> pd.DataFrame:
    """A ``workbench.compare.Comparison``'s KPIs as text: one row per KPI (headline KPIs first), the baseline (when
    baselines differ between the scenarios, each scenario's own before its value), each scenario's value and,
    after the first, its change against the first; then, with ``bands`` and when a scenario drew Monte Carlo
    bands, ``<name> change P10–P90`` per scenario: its change against its own baseline, as the KPI cards read
    it. (``comparison_bands`` has the bands alone; ``cmp.kpi_table`` keeps the raw numbers.)"""
    from ..compare import baselines_differ

    ref = cmp.names[0]
    own = bool(baselines_differ(cmp.kpis))  # then each scenario's own baseline stands beside its value
    rows = []
    for row, part, unit, dec in _kpi_rows(cmp, own):
        for name in cmp.names:
            if own:
                row[f"{name} baseline"] = (fmt_kpi(part["baseline"].get(name), unit, decimals=dec)
                                           if name in part.index else "")
            row[name] = fmt_kpi(part["value"].get(name), unit, decimals=dec) if name in part.index else ""
            if name != ref:
                row[f"{name} vs {ref}"] = (fmt_kpi(part["delta_vs_reference"].get(name), unit, sign=True, decimals=dec)
                                           if name in part.index else "")
        if bands:
            for name in cmp.names:
                row[f"{name} change P10–P90"] = _change_band(part, name, unit, dec)
        rows.append(row)
    out = pd.DataFrame(rows)
    empty = [c for c in out.columns if c.endswith(" P10–P90") and not out[c].astype(bool).any()]
    return out.drop(columns=empty)


def comparison_cells(cmp) -> pd.DataFrame:
    """A comparison's KPIs compact enough for a screen: ``KPI``, ``Baseline`` (when every scenario shares it) and
    one column per scenario whose cell is a list of lines: its value; its change against its own baseline (and
    that baseline where baselines differ); after the first scenario, its difference to the first ("+1.56 M EUR
    vs S1", "… vs the first" for a long name). Three scenarios take four or five columns instead of nine to
    twelve."""
    from ..compare import baselines_differ

    ref = cmp.names[0]
    first_name = ref if len(ref) <= 14 else "the first"  # the column's header names it in full
    own = bool(baselines_differ(cmp.kpis))
    rows = []
    for row, part, unit, dec in _kpi_rows(cmp, own):
        for name in cmp.names:
            if name not in part.index:
                row[name] = []
                continue
            r = part.loc[name]
            lines = [fmt_kpi(r["value"], unit, decimals=dec),
                     f"change {fmt_kpi(r['delta'], unit, sign=True, decimals=dec)}"]
            if own:
                lines.append(f"from {fmt_kpi(r['baseline'], unit, decimals=dec)}")
            if name != ref:
                lines.append(f"{fmt_kpi(r['delta_vs_reference'], unit, sign=True, decimals=dec)} vs {first_name}")
            row[name] = lines
        rows.append(row)
    return pd.DataFrame(rows, columns=["KPI", *([] if own else ["Baseline"]), *cmp.names])


def comparison_bands(cmp, value: bool = False) -> pd.DataFrame:
    """The P10–P90 bands of a comparison, one row per KPI that has one in some scenario: ``KPI``, then per
    scenario a column named after it with the band of its change against its own baseline (as the KPI cards
    read it), or with ``value`` the band of the scenario's value. No rows when no scenario drew bands."""
    rows = []
    for _, part, unit, dec in _kpi_parts(cmp):
        row = {"KPI": part.iloc[0]["label"]}
        for name in cmp.names:
            if value:
                row[name] = (band_text(part["p10"].get(name), part["p90"].get(name), unit, dec)
                             if name in part.index else "")
            else:
                row[name] = _change_band(part, name, unit, dec)
        if any(row[n] for n in cmp.names):
            rows.append(row)
    return pd.DataFrame(rows, columns=["KPI", *cmp.names])


def header(column) -> str:
    """A column name for people: a snake_case field ("hours_before") reads "hours before"; anything else (a
    scenario's name, say) is left as it is."""
    text = str(column)
    return text.replace("_", " ") if re.fullmatch(r"[a-z0-9_]+", text) else text


def when(stamp: str | None) -> str:
    """"2026-11-30T00:18:32+00:00" → "30 Nov 2026, 00:18 UTC" (as given when it does not parse)."""
    try:
        t = datetime.fromisoformat(str(stamp))
    except (TypeError, ValueError):
        return stamp or ""
    zone = t.tzname() or ""
    if zone in ("UTC", "UTC+00:00"):
        zone = "UTC"
    return f"{t:%d %b %Y, %H:%M}" + (f" {zone}" if zone else "")

"""Small building blocks shared by the step views: a friendly error box and a guard for callbacks."""

from __future__ import annotations

import functools
import html
import logging
import traceback
from collections.abc import Callable

import ipywidgets as w
import pandas as pd

__all__ = ["MessageBox", "guarded", "table_html", "step_header", "delta_class", "fmt_kpi", "kpi_decimals",
           "kpi_cards_html", "CARD_KPIS"]

log = logging.getLogger("widgets")


class MessageBox(w.HTML):
    """A one-line message in plain language: info, warning or error. Never a traceback."""

    _COLORS = {"info": "#1f4e79", "warning": "#8a6d00", "error": "#a40000", "ok": "#1e6b2f"}

    def show(self, text: str, level: str = "info") -> None:
        color = self._COLORS.get(level, "#333")
        self.value = f'<div class="wb-msg wb-msg-{level}" style="color:{color}">{html.escape(text)}</div>'

    def clear(self) -> None:
        self.value = ""


def guarded(message_box_attr: str = "_msg") -> Callable:
    """Decorate a view method: an exception becomes a plain message in the view (details go to the log)."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            box: MessageBox | None = getattr(self, message_box_attr, None)
            try:
                return fn(self, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the UI must never show a traceback
                log.warning("view error in %s: %s\n%s", fn.__qualname__, exc, traceback.format_exc())
                if box is not None:
                    box.show(f"Could not complete this step: {exc}", "error")
                return None

        return wrapper

    return deco


def table_html(df: pd.DataFrame, max_rows: int = 20, float_format: str = "{:,.1f}") -> str:
    """A compact HTML table of the first ``max_rows`` rows (numbers formatted, text escaped)."""
    shown = df.head(max_rows)
    # pandas' na_rep does not cover pd.NA in string columns; blank them here so no "<NA>" reaches the user.
    text = [c for c in shown.columns if not pd.api.types.is_numeric_dtype(shown[c])]
    if text:
        shown = shown.copy()
        shown[text] = shown[text].astype(object).where(shown[text].notna(), "")
    fmt = {c: float_format.format for c in shown.columns if pd.api.types.is_float_dtype(shown[c])}
    body = shown.to_html(index=False, escape=True, formatters=fmt, classes="wb-table", border=0, na_rep="")
    more = f'<div class="wb-more">{len(df) - max_rows:,} more rows</div>' if len(df) > max_rows else ""
    return f'<div class="wb-table-wrap">{body}{more}</div>'


def step_header(title: str, subtitle: str = "") -> w.HTML:
    sub = f'<div class="wb-sub">{html.escape(subtitle)}</div>' if subtitle else ""
    return w.HTML(f'<h3 class="wb-h">{html.escape(title)}</h3>{sub}')


# For these KPIs a fall is the improvement; moves and per-role account counts are neither good nor bad in
# themselves (the plan's other KPIs say whether they paid off).
_LOWER_IS_BETTER = frozenset({"workload_imbalance", "cost_to_serve", "revenue_at_risk"})
_NEUTRAL_PREFIXES = ("accounts_moved", "revenue_moved", "accounts_per_")


def delta_class(key: str, delta: float) -> str:
    """CSS class suffix for a KPI delta: ``up`` (better), ``down`` (worse) or ``flat`` (neutral or zero)."""
    if key.startswith(_NEUTRAL_PREFIXES) or not delta:
        return "flat"
    better = -delta if key in _LOWER_IS_BETTER else delta
    return "up" if better > 0 else "down"


def fmt_kpi(v: float | None, unit: str, sign: bool = False, decimals: int | None = None) -> str:
    """A KPI value for a card: shares in %, their changes in percentage points, indices to three decimals,
    money in M / k above 10,000, whole counts without decimals ("334 accounts", not "334.0 accounts").
    ``decimals`` fixes the decimals below 10,000 (so "110.1 → 115.0 accounts" reads alike; see ``kpi_decimals``)."""
    if v is None:
        return "–"
    s = "+" if sign else ""
    if unit == "share":
        return f"{v * 100:+.1f} pp" if sign else f"{v * 100:.1f} %"
    if unit == "index":
        return f"{v:{s}.3f}"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:{s},.2f} M {unit}".strip()
    if a >= 1e4:
        return f"{v / 1e3:{s},.0f} k {unit}".strip()
    if decimals is None:
        decimals = kpi_decimals(v)
    return f"{v:{s},.{decimals}f} {unit}".strip()


def kpi_decimals(*values: float | None) -> int:
    """0 when every value is a whole number (counts), else 1: one choice for a KPI's baseline, scenario and delta.
    Values of 10,000 and more are shown in k / M with their own decimals and do not count."""
    return 0 if all(v is None or abs(v) >= 1e4 or float(v).is_integer() for v in values) else 1


#: the KPIs shown as cards, in this order (then the per-role "accounts per manager" ones)
CARD_KPIS = ("revenue_12m", "revenue_growth", "retention_rate", "clv", "clv_bgbb", "gross_margin_after_cts",
             "cost_to_serve", "revenue_per_manager", "workload_imbalance", "managers_in_band", "service_coverage",
             "accounts_moved", "revenue_moved", "revenue_at_risk")


def kpi_cards_html(kpis: dict) -> str:
    """KPI cards, baseline → scenario with the change coloured by whether it is better, and the P10–P90 band
    when the projection drew Monte Carlo samples (the KPIs step and the stakeholder dashboard)."""
    cards = []
    for key in CARD_KPIS + tuple(k for k in kpis if k.startswith("accounts_per_")):
        k = kpis.get(key)
        if not k:
            continue
        unit = k["unit"]
        dec = kpi_decimals(k["baseline"], k["scenario"], k["delta"])
        band = ""
        if k.get("p10") is not None and k["p10"] != k["p90"]:
            band = (f'<div class="wb-kpi-band">P10–P90: {fmt_kpi(k["p10"], unit, decimals=dec)} … '
                    f'{fmt_kpi(k["p90"], unit, decimals=dec)}</div>')
        label = html.escape(k["label"])
        cards.append(
            f'<div class="wb-kpi" data-kpi="{key}"><div class="wb-kpi-label" title="{label}">{label}</div>'
            f'<div class="wb-kpi-value">{fmt_kpi(k["baseline"], unit, decimals=dec)} → '
            f'{fmt_kpi(k["scenario"], unit, decimals=dec)}</div>'
            f'<div class="wb-kpi-delta wb-{delta_class(key, k["delta"])}">'
            f'{fmt_kpi(k["delta"], unit, sign=True, decimals=dec)}</div>{band}</div>')
    return f'<div class="wb-kpis wb-kpi-cards">{"".join(cards)}</div>'

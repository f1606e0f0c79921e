"""Small building blocks shared by the step views: a friendly error box and a guard for callbacks."""

from __future__ import annotations

import base64
import functools
import html
import logging
import traceback
import unicodedata
from collections.abc import Callable

import ipywidgets as w
import numpy as np
import pandas as pd

from workbench.report.format import CARD_KPIS, band_text, fmt_kpi, header, kpi_decimals, ordered_keys

__all__ = ["MessageBox", "guarded", "table_html", "step_header", "delta_class", "kpi_cards_html"]

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


def table_html(df: pd.DataFrame, max_rows: int = 20, float_format: str = "{:,.1f}", wrap_last: bool = False) -> str:
    """A compact HTML table of the first ``max_rows`` rows (numbers formatted, text escaped). ``wrap_last``: the
    last column (a move's reason, say) wraps onto more lines instead of running off the right edge."""
    shown = df.head(max_rows)
    # pandas' na_rep does not cover pd.NA in string columns; blank them here so no "<NA>" reaches the user.
    text = [c for c in shown.columns if not pd.api.types.is_numeric_dtype(shown[c])]
    if text:
        shown = shown.copy()
        shown[text] = shown[text].astype(object).where(shown[text].notna(), "")
    fmt = {c: _number_format(shown[c], float_format) for c in shown.columns
           if pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])}
    # headers for people: "from_name" reads "from name" (the stylesheet sets them in capitals)
    shown = shown.rename(columns={c: header(c) for c in shown.columns if isinstance(c, str)})
    fmt = {(header(c) if isinstance(c, str) else c): f for c, f in fmt.items()}
    body = shown.to_html(index=False, escape=True, formatters=fmt, classes="wb-table wb-wrap-last" if wrap_last else "wb-table", border=0, na_rep="")
    more = f'<div class="wb-more">{len(df) - max_rows:,} more rows</div>' if len(df) > max_rows else ""
    return f'<div class="wb-table-wrap">{body}{more}</div>'


def _number_format(col: pd.Series, float_format: str) -> Callable:
    """How a numeric column reads: counts with thousands separators ("47,129", not "47129"); amounts from 1,000 and
    whole numbers without decimals ("2,800,747", not "2,800,747.0"); smaller fractions with ``float_format``."""
    vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    vals = vals[np.isfinite(vals)]
    whole = pd.api.types.is_integer_dtype(col) or (len(vals) > 0 and bool(np.all(vals == np.round(vals))))
    if whole or (len(vals) and float(np.abs(vals).max()) >= 1000):
        return lambda x: "" if pd.isna(x) else f"{float(x):,.0f}"
    return lambda x: "" if pd.isna(x) else float_format.format(x)


def download_link(name: str, data: bytes, mime: str) -> str:
    """A link that hands ``data`` to the browser as the file ``name`` (a ``data:`` URL: Voilà serves no files)."""
    href = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return f'<a class="wb-download" download="{html.escape(name)}" href="{href}">Download {html.escape(name)}</a>'


def sort_key(text: str) -> str:
    """Order for names in lists: accents and case aside, so "Özlem" sorts with the O's and not after "Ute"."""
    return unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").casefold()


def step_header(title: str, subtitle: str = "") -> w.HTML:
    sub = f'<div class="wb-sub">{html.escape(subtitle)}</div>' if subtitle else ""
    return w.HTML(f'<h3 class="wb-h">{html.escape(title)}</h3>{sub}')


# For these KPIs a fall is the improvement; moves and per-role account counts are neither good nor bad in
# themselves (the plan's other KPIs say whether they paid off).
_LOWER_IS_BETTER = frozenset({"workload_imbalance", "cost_to_serve", "revenue_at_risk"})
_NEUTRAL_PREFIXES = ("accounts_moved", "revenue_moved", "accounts_per_", "accounts_from_leavers", "unowned_assigned")


def delta_class(key: str, delta: float) -> str:
    """CSS class suffix for a KPI delta: ``up`` (better), ``down`` (worse) or ``flat`` (neutral or zero)."""
    if key.startswith(_NEUTRAL_PREFIXES) or not delta:
        return "flat"
    better = -delta if key in _LOWER_IS_BETTER else delta
    return "up" if better > 0 else "down"


def kpi_cards_html(kpis: dict) -> str:
    """KPI cards, baseline → scenario with the change coloured by whether it is better, and the P10–P90 band
    when the projection drew Monte Carlo samples (the KPIs step and the stakeholder dashboard)."""
    cards = []
    for key in ordered_keys(kpis):
        if key not in CARD_KPIS and not key.startswith("accounts_per_"):
            continue  # the rest (revenue deltas by cause, the horizon) are in the tables below
        k = kpis[key]
        unit = k["unit"]
        dec = kpi_decimals(k["baseline"], k["scenario"], k["delta"])
        # the change's own band says whether the change is real (a band that holds 0 may go either way); the
        # scenario value's band is in the tooltip
        level = band_text(k.get("p10"), k.get("p90"), unit, dec)
        change = band_text(k.get("delta_p10"), k.get("delta_p90"), unit, dec, sign=True)
        if change:
            either = " (either way)" if k["delta_p10"] < 0 < k["delta_p90"] else ""
            tip = html.escape(f"{k['label']}, scenario P10–P90: {level}", quote=True)
            band = f'<div class="wb-kpi-band" title="{tip}">change P10–P90: {change}{either}</div>'
        else:
            band = f'<div class="wb-kpi-band">P10–P90: {level}</div>' if level else ""
        label = html.escape(k["label"])
        cards.append(
            f'<div class="wb-kpi" data-kpi="{key}"><div class="wb-kpi-label" title="{label}">{label}</div>'
            f'<div class="wb-kpi-value">{fmt_kpi(k["baseline"], unit, decimals=dec)} → '
            f'{fmt_kpi(k["scenario"], unit, decimals=dec)}</div>'
            f'<div class="wb-kpi-delta wb-{delta_class(key, k["delta"])}">'
            f'{fmt_kpi(k["delta"], unit, sign=True, decimals=dec)}</div>{band}</div>')
    return f'<div class="wb-kpis wb-kpi-cards">{"".join(cards)}</div>'

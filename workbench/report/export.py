"""Exports people pass around: an Excel workbook, a self-contained offline HTML report, PNG/SVG charts.

The workbook (xlsxwriter) has the sheets Summary, KPIs, Monthly, Moves, Manager loads, Segments, Assumptions
(with sources) and Import report, each with a frozen header row, filters, number formats and column widths.
The HTML report inlines every chart as SVG rendered by vl-convert and all styles, so it opens with no network.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from ..compare import Comparison, compare, flatten_params, names_by_id, param_label, param_text
from ..scenario import Scenario
from .charts.compare import kpi_bands, kpi_series, loads_before_after, loads_side_by_side, move_overlap
from .format import CARD_KPIS, comparison_bands, comparison_cells, header, kpi_display, ordered_keys, when

__all__ = ["export_excel", "export_html", "scenario_html", "comparison_html", "save_chart", "scenario_charts",
           "assumptions_table", "kpi_frame", "moves_table", "plan_in_brief", "safe_file_name", "EXPORT_FORMATS"]

EXPORT_FORMATS = ("xlsx", "html")
Progress = Callable[[str, float], None]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;margin:2em auto;max-width:1100px;
padding:0 1em}h1{color:#1f4e79;margin-bottom:.2em}h2{color:#1f4e79;border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:1.6em}.meta{color:#555}table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{padding:.25em .6em;
border-bottom:1px solid #e5e5e5;text-align:right}th{background:#f2f5f9}td.t,th.t{text-align:left}
.warn{color:#8a6d00}.note{color:#555}.charts{display:flex;flex-wrap:wrap;gap:1.5em}.foot{color:#888;font-size:.8em;margin-top:3em}
details{margin:.8em 0}summary{cursor:pointer;color:#555}details.tech{margin-top:2em}
.sub{color:#5b6776;font-size:.85em}td,th{vertical-align:top}
"""


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_file_name(text: str, default: str = "scenario", limit: int = 80) -> str:
    """A file name people can read and every system accepts, from a scenario's name: letters (umlauts too),
    digits, "-", "_" and a decimal point; a band "±10 %" reads "10pct", "+" "plus", "&" "and", anything else
    between words "_".

    "S1 ±10 %, Peters leaves, hire" → "S1_10pct_Peters_leaves_hire"; "Größere Bänder – Süd" →
    "Größere_Bänder-Süd". At most ``limit`` characters (cut at a word); ``default`` when nothing is left.
    """
    t = unicodedata.normalize("NFC", str(text or ""))
    t = re.sub(r"±\s*", "", t)
    t = re.sub(r"\s*%", "pct", t)
    t = re.sub(r"\s*\+\s*", " plus ", t).replace("&", " and ")
    t = re.sub(r"\s*[–—-]+\s*", "-", t)  # dashes stay one hyphen
    t = re.sub(r"(\d)[.,](?=\d)", r"\1.", t)  # a decimal point stays: "1.5"
    t = re.sub(r"[^\w.-]+|(?<!\d)\.|\.(?!\d)", "_", t)  # \w: letters of any script, digits, underscore
    t = re.sub(r"_*-_*", "-", re.sub(r"_+", "_", t)).strip("_-")
    if len(t) > limit:
        cut = t[:limit]
        t = cut[: max(cut.rfind("_"), cut.rfind("-"))] if max(cut.rfind("_"), cut.rfind("-")) > limit // 2 else cut
        t = t.strip("_-")
    if not t:
        return default
    return f"{t}_" if t.upper() in _RESERVED else t


def _say(progress: Progress | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, fraction)


# ------------------------------------------------------------------------------------------------- tables
_KPI_COLUMNS = ["kpi", "label", "unit", "baseline", "scenario", "delta", "delta_p10", "delta_p90", "p10", "p50",
                "p90"]


def kpi_frame(scenario: Scenario) -> pd.DataFrame:
    """One row per KPI, in the order of the KPI cards (``format.ordered_keys``): ``kpi, label, unit, baseline,
    scenario, delta, delta_p10, delta_p90`` (the change's own P10–P90 band, as on the cards), ``p10, p50, p90``
    (the scenario value's band); NaN when absent."""
    kpis = scenario.projection.kpis
    rows = [{"kpi": key, **{c: kpis[key].get(c) for c in _KPI_COLUMNS[2:]}, "label": kpis[key].get("label", key)}
            for key in ordered_keys(kpis)]
    df = pd.DataFrame(rows, columns=_KPI_COLUMNS)
    df["unit"] = df["unit"].fillna("")
    for c in _KPI_COLUMNS[3:]:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def moves_table(scenario: Scenario) -> pd.DataFrame:
    """The move list with company, segment and manager names: ``account_id, account_name, segment, from_manager,
    from_name, to_manager, to_name, revenue_12m, reason`` (names and segment empty when unknown; the company
    name where the scenario carries it, see ``workbench.scenario.with_account_names``; revenue where the plan
    carries it)."""
    moves = scenario.assignment.moves
    names = scenario.assignment.loads.set_index("manager_id")["name"] if "name" in scenario.assignment.loads else None
    seg = scenario.segmentation.labels.set_index("account_id")["segment"]
    out = pd.DataFrame({"account_id": moves["account_id"]})
    if "account_name" in moves:
        out["account_name"] = moves["account_name"]
    out["segment"] = moves["account_id"].map(seg)
    for side in ("from", "to"):
        out[f"{side}_manager"] = moves[f"{side}_manager"]
        out[f"{side}_name"] = moves[f"{side}_manager"].map(names) if names is not None else ""
    if "revenue_12m" in moves:  # what the move puts at stake: the first thing a reader of the list asks
        out["revenue_12m"] = pd.to_numeric(moves["revenue_12m"], errors="coerce")
    out["reason"] = moves["reason"] if "reason" in moves else ""
    return out.reset_index(drop=True)


def plan_in_brief(scenario: Scenario) -> str:
    """What the scenario sets, in one line for people: "Band ±10 %; Lena Peters leaves; hire Nina Neu (Account
    Manager, 50 % ramp-up)" (band, move limit, second balance band, locks and what-if events)."""
    flat = flatten_params(scenario.params)
    names = names_by_id([scenario])
    said = []
    for path in ("allocate.band", "allocate.max_move_share", "allocate.balance_on", "allocate.balance_band",
                 "allocate.locks", "allocate.events"):
        if path not in flat or flat[path] in ("null", "[]", "{}"):
            continue
        text = param_text(path, flat[path], names)
        said.append(text if path in ("allocate.locks", "allocate.events") else f"{param_label(path)}: {text}")
    return "; ".join(said) or "the defaults"


def assumptions_table(scenario: Scenario) -> pd.DataFrame:
    """Every assumption value the projection used, with label, range, unit and source.

    Values come from ``Projection.assumptions``; label/range/unit/source from the scenario's own assumption
    overrides (``params['kpi']['assumptions']``) when they restate them, else from the workbench defaults.
    Per-segment values (for example retention estimated from history) get one row per segment.
    """
    try:
        from ..assumptions import DEFAULT_ASSUMPTIONS
    except ImportError:  # the KPI package is optional for exporting older scenarios
        DEFAULT_ASSUMPTIONS = {}
    given = (scenario.params.get("kpi") or {}).get("assumptions") or {}
    if isinstance(given, dict) and isinstance(given.get("assumptions"), dict):
        given = given["assumptions"]
    rows = []
    for name, value in (scenario.projection.assumptions or {}).items():
        if isinstance(value, list):
            # per-segment estimates from revenue history: [{"segment", "growth", "growth_source", ...}, ...]
            for est in value:
                if not isinstance(est, dict):
                    continue
                for key in ("growth", "retention"):
                    if key in est:
                        rows.append({"name": f"{key} ({est.get('segment', '?')})",
                                     "label": f"{key.capitalize()} per year, segment {est.get('segment', '?')}",
                                     "value": est[key], "low": None, "high": None, "unit": "share/year",
                                     "source": f"estimated from {est.get(key + '_source', 'revenue history')}"})
            continue
        if isinstance(value, dict) and "value" not in value:
            for sub, v in value.items():
                rows.append({"name": f"{name}.{sub}", "label": f"{name.replace('_', ' ')} ({sub})", "value": v,
                             "low": None, "high": None, "unit": "", "source": "estimated from the book's revenue history"})
            continue
        info: dict = {}
        d = DEFAULT_ASSUMPTIONS.get(name)
        if d is not None:
            info = {"label": d.label, "low": d.low, "high": d.high, "unit": d.unit, "source": d.source}
        own = given.get(name) if isinstance(given, dict) else None
        if isinstance(value, dict):
            info.update({k: value[k] for k in ("label", "low", "high", "unit", "source") if k in value})
            value = value["value"]
        if isinstance(own, dict):
            info.update({k: own[k] for k in ("label", "low", "high", "unit", "source") if k in own})
        rows.append({"name": name, "label": info.get("label", name), "value": value, "low": info.get("low"),
                     "high": info.get("high"), "unit": info.get("unit", ""), "source": info.get("source", "")})
    df = pd.DataFrame(rows, columns=["name", "label", "value", "low", "high", "unit", "source"])
    for c in ("value", "low", "high"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def _import_frames(report: dict) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    files = pd.DataFrame([{k: f.get(k) for k in ("file", "table", "rows_read", "rows_accepted", "rows_rejected")}
                          for f in report.get("files") or []],
                         columns=["file", "table", "rows_read", "rows_accepted", "rows_rejected"])
    rej = pd.DataFrame(report.get("rejections") or [], columns=["file", "row", "column", "value", "rule"])
    lines = [f"{report.get('rows_read', 0):,} rows read, {report.get('rows_accepted', 0):,} accepted, "
             f"{report.get('rows_rejected', 0):,} rejected"] if report else ["No import report was saved."]
    lines += [f"warning: {w}" for w in report.get("warnings") or []] + list(report.get("notes") or [])
    return files, rej, lines


# -------------------------------------------------------------------------------------------------- Excel
_MONEY = {"revenue", "potential", "baseline", "scenario", "delta", "p10", "p50", "p90", "cost", "amount"}


def _num_format(col: str, unit: str = "") -> str | None:
    c = col.lower()
    if unit == "share" or c.endswith(("_share", "share")) or c in ("jaccard",):
        return "0.0%"
    if c.startswith(("accounts_", "rows_", "n_")) or c in ("row", "version", "segment_id", "month"):
        return "#,##0"
    if "hours" in c or c.startswith("band_"):
        return "#,##0.0"
    if any(k in c for k in _MONEY):
        return "#,##0.00"
    return None


def _date_format(t: pd.Series) -> str:
    """"mmm yyyy" for months (every date the 1st at midnight: the Monthly sheet's periods), "yyyy-mm-dd" for days,
    else with the time."""
    d = t.dropna()
    days = bool((d.dt.normalize() == d).all())
    return "mmm yyyy" if days and bool((d.dt.day == 1).all()) else "yyyy-mm-dd" if days else "yyyy-mm-dd hh:mm"


_KPI_VALUES = ("baseline", "scenario", "delta", "delta_p10", "delta_p90", "p10", "p50", "p90")
#: KPI columns as the workbook heads them: the change's band and the value's band each say which they are
_KPI_HEADERS = {"delta": "change", "delta_p10": "change_p10", "delta_p90": "change_p90", "p10": "scenario_p10",
                "p50": "scenario_p50", "p90": "scenario_p90"}
#: the Summary's headline table, for people
_SUMMARY_HEADERS = {"label": "KPI", "unit": "unit", "baseline": "baseline", "scenario": "scenario",
                    "delta": "change", "delta_p10": "change P10", "delta_p90": "change P90",
                    "p10": "scenario P10", "p90": "scenario P90"}


def _unit_format(unit: str, values: list[float | None]) -> str:
    """The number format of one KPI row from its unit: shares in %, indices to three decimals, amounts and counts
    whole (an average count such as accounts per manager with one decimal), as the KPI cards read them."""
    if unit == "share":
        return "0.0%"
    if unit == "index":
        return "0.000"
    if unit == "accounts" and any(v is not None and not float(v).is_integer() for v in values):
        return "#,##0.0"
    return "#,##0"


class _Book:
    """xlsxwriter workbook with our house formats; ``table`` writes a frame as a formatted sheet."""

    def __init__(self, path: Path):
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True, "strings_to_urls": False,
                                                  "strings_to_formulas": False, "strings_to_numbers": False})
        self.head = self.wb.add_format({"bold": True, "bg_color": "#1f4e79", "font_color": "white", "border": 1,
                                        "text_wrap": True, "valign": "top"})
        self.title = self.wb.add_format({"bold": True, "font_size": 14, "font_color": "#1f4e79"})
        self.bold = self.wb.add_format({"bold": True})
        self.wrap = self.wb.add_format({"text_wrap": True, "valign": "top"})
        self._fmts: dict[str, object] = {}

    def fmt(self, num_format: str | None):
        if num_format is None:
            return None
        if num_format not in self._fmts:
            self._fmts[num_format] = self.wb.add_format({"num_format": num_format})
        return self._fmts[num_format]

    def table(self, name: str, df: pd.DataFrame, formats: dict[str, str] | None = None, start_row: int = 0,
              ws=None, wrap: tuple[str, ...] = (), headers: dict[str, str] | None = None) -> object:
        """Write ``df`` with a header row at ``start_row``: frozen, filtered, formatted, sized columns. A KPI table
        (a ``unit`` column beside ``baseline``, ``scenario`` …) gets each row's number format from its unit; dates
        are date cells. ``headers``: the header text of some columns (formats still go by the column names)."""
        ws = ws or self.wb.add_worksheet(name)
        formats = formats or {}
        headers = headers or {}
        by_unit = [c for c in _KPI_VALUES if c in df.columns] if "unit" in df.columns else []
        row_fmts = []
        if by_unit:
            vals = df[by_unit].apply(pd.to_numeric, errors="coerce").astype(float)
            row_fmts = [_unit_format(str(u), [v for v in row if not math.isnan(v)])
                        for u, row in zip(df["unit"].astype("string").fillna(""), vals.to_numpy().tolist())]
        for j, col in enumerate(df.columns):
            ws.write_string(start_row, j, str(headers.get(col, col)), self.head)
            s = df[col]
            fmt = formats.get(col, _num_format(col)) if pd.api.types.is_numeric_dtype(s) else None
            if pd.api.types.is_datetime64_any_dtype(s):
                # a real date cell (Excel sorts and filters it as a date), month precision where all are 1sts
                t = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
                fmt = formats.get(col) or _date_format(t)
                for i, v in enumerate(t.tolist()):
                    if pd.isna(v):
                        ws.write_blank(start_row + 1 + i, j, None, self.fmt(fmt))
                    else:
                        ws.write_datetime(start_row + 1 + i, j, v.to_pydatetime(), self.fmt(fmt))
                ws.set_column(j, j, max(12, len(str(headers.get(col, col))) + 2), self.fmt(fmt))
                continue
            if pd.api.types.is_bool_dtype(s):
                values = s.astype(object).where(s.notna(), None).tolist()
            elif pd.api.types.is_numeric_dtype(s):
                arr = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
                values = [None if math.isnan(v) else v for v in arr.tolist()]
            else:
                values = s.astype("string").astype(object).where(s.notna(), None).tolist()
            if col in by_unit:  # raw values, each row in its unit's format (a KPI table has a few dozen rows)
                for i, (v, f) in enumerate(zip(values, row_fmts)):
                    if v is None:
                        ws.write_blank(start_row + 1 + i, j, None, self.fmt(f))
                    else:
                        ws.write_number(start_row + 1 + i, j, v, self.fmt(f))
                fmt = None
            else:
                ws.write_column(start_row + 1, j, values, self.fmt(fmt))
            # width from the longest text in a sample (vectorised), header included, capped for readability
            sample = s.head(2000).astype("string").str.len().max() if len(s) else 0
            longest = max(len(str(headers.get(col, col))), 0 if pd.isna(sample) else int(sample), 8 if fmt else 4)
            width = min(60 if col in wrap else 45, longest + 2)
            ws.set_column(j, j, width, self.wrap if col in wrap else self.fmt(fmt))
        if len(df.columns):
            ws.freeze_panes(start_row + 1, 0)
            ws.autofilter(start_row, 0, start_row + max(len(df), 1), len(df.columns) - 1)
        return ws

    def close(self) -> None:
        self.wb.close()


def export_excel(scenario: Scenario, path: str | Path, progress: Progress | None = None) -> Path:
    """Write ``scenario`` as an Excel workbook for people; returns the path.

    Sheets: Summary (who/when/book/headline KPIs/parameters), KPIs, Monthly, Moves, Manager loads, Segments,
    Assumptions (value, range, unit, source), Import report (files, warnings, rejected rows).
    Amounts are in the book's currency, hours per year, shares as percent.

    Raises
    ------
    ValueError : the scenario holds parameters only.
    """
    if not scenario.has_results:
        raise ValueError(f"Scenario {scenario.name!r} holds parameters only; nothing to export.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    book = _Book(tmp)
    steps = 8
    _say(progress, "summary", 0 / steps)
    ws = book.wb.add_worksheet("Summary")
    ws.write(0, 0, f"Scenario: {scenario.name}", book.title)
    info = [("Description", scenario.description or "(none given)"),
            ("Author", scenario.author or "(none given)"), ("Plan in brief", plan_in_brief(scenario)),
            ("Created", when(scenario.created)),
            ("Version", "" if scenario.version is None else str(scenario.version)), ("Saved", when(scenario.saved_at)),
            ("Book", scenario.book_summary), ("Book fingerprint", scenario.fingerprint),
            ("Currency", scenario.currency), ("Exported", when(datetime.now(UTC).isoformat(timespec="seconds")))]
    for i, (k, v) in enumerate(info, start=2):
        ws.write_string(i, 0, k, book.bold)
        ws.write_string(i, 1, str(v or ""))
    kpis = kpi_frame(scenario)
    # the KPI cards, in their order (revenue first); every KPI is on the KPIs sheet
    cards = kpis[kpis["kpi"].isin(CARD_KPIS) | kpis["kpi"].str.startswith("accounts_per_")].copy()
    for lo, hi in (("delta_p10", "delta_p90"), ("p10", "p90")):  # a KPI that does not vary has no band to read
        flat = cards[lo] == cards[hi]
        cards.loc[flat, [lo, hi]] = np.nan
    cols = [c for c in _SUMMARY_HEADERS if c not in ("p10", "p90") or cards[c].notna().any()]
    if not cards[["delta_p10", "delta_p90"]].notna().any().any():
        cols = [c for c in cols if c not in ("delta_p10", "delta_p90")]
    row = len(info) + 3
    ws.write_string(row, 0, "Headline KPIs (change P10–P90: the band of the change itself, as on the KPI cards)",
                    book.bold)
    book.table("Summary", cards[cols], ws=ws, start_row=row + 1, headers=_SUMMARY_HEADERS)
    row += len(cards) + 3
    ws.write_string(row, 0, "Parameters", book.bold)
    # for people ("Band ± (share of target)", "±15 %"), with the path and raw value a scenario file uses
    for i, (p, v) in enumerate(flatten_params(scenario.params).items(), start=row + 1):
        ws.write_string(i, 0, param_label(p))
        ws.write_string(i, 1, param_text(p, v))
        ws.write_string(i, 2, f"{p} = {v}")
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 34)
    ws.set_column(2, 2, 40)
    ws.freeze_panes(1, 0)
    _say(progress, "kpis", 1 / steps)
    book.table("KPIs", kpis, headers=_KPI_HEADERS)
    _say(progress, "monthly", 2 / steps)
    book.table("Monthly", scenario.projection.series)
    _say(progress, "moves", 3 / steps)
    book.table("Moves", moves_table(scenario), wrap=("reason",))
    _say(progress, "manager loads", 4 / steps)
    book.table("Manager loads", scenario.assignment.loads)
    _say(progress, "segments", 5 / steps)
    prof, cov = scenario.segmentation.profiles, scenario.segmentation.coverage
    # the coverage columns the profile has already (segment, n_accounts, tier) once, not as _x / _y pairs
    seg = prof.merge(cov.drop(columns=[c for c in cov if c in prof and c != "segment_id"]), on="segment_id",
                     how="left") if "segment_id" in cov and "segment_id" in prof else prof
    book.table("Segments", seg)
    _say(progress, "assumptions", 6 / steps)
    book.table("Assumptions", assumptions_table(scenario), wrap=("source",))
    _say(progress, "import report", 7 / steps)
    files, rej, lines = _import_frames(scenario.import_report)
    ws = book.wb.add_worksheet("Import report")
    for i, line in enumerate(lines):
        ws.write_string(i, 0, line)
    start = len(lines) + 1
    book.table("Import report", files, ws=ws, start_row=start)
    book.table("Import report", rej, ws=ws, start_row=start + len(files) + 3)
    ws.set_column(0, 0, 40)
    book.close()
    tmp.replace(path)  # readers never see a half-written workbook
    _say(progress, "done", 1.0)
    return path


# --------------------------------------------------------------------------------------------------- charts
def scenario_charts(scenario: Scenario) -> dict[str, alt.TopLevelMixin]:
    """The standard charts of one scenario: ``kpis`` (values with bands), ``monthly``, ``loads``."""
    long = kpi_frame(scenario).rename(columns={"scenario": "value"})
    long["scenario"] = scenario.name
    return {"kpis": kpi_bands(long), "monthly": kpi_series(scenario.projection.series),
            "loads": loads_before_after(scenario.assignment.loads)}


def comparison_charts(cmp: Comparison) -> dict[str, alt.TopLevelMixin]:
    """The standard charts of a comparison: ``kpis``, ``loads``, ``overlap``."""
    return {"kpis": kpi_bands(cmp.kpis), "loads": loads_side_by_side(cmp.loads_long),
            "overlap": move_overlap(cmp.overlap)}


def _svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict())


def save_chart(chart: alt.TopLevelMixin, path: str | Path, scale: float = 2.0) -> Path:
    """Render ``chart`` offline to ``path``: ``.svg`` or ``.png`` (``scale`` × pixel density for PNG)."""
    import vl_convert as vlc

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(vlc.vegalite_to_svg(chart.to_dict()), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(vlc.vegalite_to_png(chart.to_dict(), scale=scale))
    else:
        raise ValueError(f"Charts are saved as .svg or .png, not {suffix or 'a file without extension'}.")
    return path


# ---------------------------------------------------------------------------------------------------- HTML
def _cell(v, figure: bool = False) -> str:
    """A table cell's HTML: a list is several lines (the first as it is, the rest smaller beneath); a ``figure``
    ("157.51 M EUR", "+226 k EUR … +2.16 M EUR (either way)") never breaks inside a number and its unit."""
    if isinstance(v, list):
        lines = [_cell(x, figure) for x in v]
        return (lines[0] + "".join(f"<br><span class='sub'>{x}</span>" for x in lines[1:])) if lines else ""
    text = html.escape("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
    if figure:
        text = text.replace(" ", "\u00a0").replace("\u00a0…\u00a0", " … ").replace("\u00a0(either", " (either")
    return text


def _table(df: pd.DataFrame, max_rows: int = 200, figures: bool = False) -> str:
    """``figures=True``: a frame of formatted figures (``workbench.report.format``), right-aligned after the first
    column like numbers; a cell holding a list shows it as lines."""
    shown = df.head(max_rows)

    def is_text(i: int, c) -> bool:
        return (i == 0) if figures else not pd.api.types.is_numeric_dtype(shown[c])

    head = "".join(f'<th class="{"t" if is_text(i, c) else ""}">{html.escape(header(c))}</th>'
                   for i, c in enumerate(shown.columns))
    cols = []
    for c in shown.columns:
        s = shown[c]
        if pd.api.types.is_bool_dtype(s):
            cols.append([("", html.escape(str(v))) for v in s])
        elif pd.api.types.is_numeric_dtype(s):
            fmt = _num_format(str(c))
            arr = pd.to_numeric(s, errors="coerce").astype(float)
            text = [("", "" if np.isnan(v) else (f"{v:.1%}" if fmt == "0.0%" else f"{v:,.0f}" if abs(v) >= 1000
                                                  else f"{v:,.4g}")) for v in arr]
            cols.append(text)
        else:
            cls = "t" if is_text(len(cols), c) else ""
            cols.append([(cls, _cell(v, figure=figures and not cls)) for v in s])
    body = "".join("<tr>" + "".join(f'<td class="{k}">{v}</td>' for k, v in row) + "</tr>" for row in zip(*cols))
    more = f'<p class="meta">{len(df) - max_rows:,} more rows in the Excel export.</p>' if len(df) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


_BANDS_NOTE = ("<p class='note'>Change P10–P90: the band of the change itself, from the same Monte Carlo draws "
               "for baseline and scenario (as on the KPI cards); a band that holds zero may go either way. "
               "Scenario P10–P90: the band of the scenario's own value, which also carries the uncertainty the "
               "baseline shares with it.</p>")


def _technical(scenario: Scenario) -> str:
    """Version, book fingerprint and raw parameters: for whoever re-runs the scenario, folded away from readers."""
    rows = [("Version", "" if scenario.version is None else str(scenario.version)),
            ("Saved", when(scenario.saved_at)), ("Book fingerprint", scenario.fingerprint)]
    rows += [(p, v) for p, v in flatten_params(scenario.params).items()]
    table = _table(pd.DataFrame(rows, columns=["item", "value"]))
    return f"<details class='tech'><summary>Technical details</summary>{table}</details>"


def _page(title: str, body: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body>{body}"
            f'<p class="foot">Restructure Workbench report, generated {stamp}. Self-contained: no network needed.</p>'
            "</body></html>")


def scenario_html(scenario: Scenario, progress: Progress | None = None) -> str:
    """A self-contained HTML report of one scenario (header, KPIs, charts as inline SVG, moves, assumptions)."""
    if not scenario.has_results:
        raise ValueError(f"Scenario {scenario.name!r} holds parameters only; nothing to export.")
    _say(progress, "charts", 0.0)
    charts = scenario_charts(scenario)
    svgs = []
    for i, (key, chart) in enumerate(charts.items()):
        svgs.append(f'<figure data-chart="{key}">{_svg(chart)}</figure>')
        _say(progress, f"chart {key}", (i + 1) / (len(charts) + 1))
    meta = " · ".join(html.escape(x) for x in (scenario.author, when(scenario.created), scenario.book_summary) if x)
    _, _, import_lines = _import_frames(scenario.import_report)
    kpis = kpi_display(scenario.projection.kpis)  # as the cards read; the workbook keeps the raw numbers
    flat = flatten_params(scenario.params)
    names = names_by_id([scenario])
    params = pd.DataFrame({"parameter": [param_label(p) for p in flat],
                           "value": [param_text(p, v, names) for p, v in flat.items()]})
    body = (f"<h1>{html.escape(scenario.name)}</h1><p class='meta'>{meta}</p>"
            f"<p>{html.escape(scenario.description)}</p>"
            f"<p class='meta'>Plan in brief: {html.escape(plan_in_brief(scenario))}</p>"
            f"<h2>Headline KPIs</h2>{_table(kpis, figures=True)}{_BANDS_NOTE if len(kpis.columns) > 4 else ''}"
            f"<h2>Charts</h2><div class='charts'>{''.join(svgs)}</div>"
            f"<h2>Moves ({len(scenario.assignment.moves):,})</h2>{_table(moves_table(scenario), 100)}"
            f"<h2>Manager loads</h2>{_table(scenario.assignment.loads)}"
            f"<h2>Assumptions</h2>{_table(assumptions_table(scenario))}"
            f"<h2>Parameters</h2>{_table(params)}"
            f"<h2>Import report</h2>" + "".join(f"<p>{html.escape(x)}</p>" for x in import_lines)
            + _technical(scenario))
    _say(progress, "done", 1.0)
    return _page(f"Scenario {scenario.name}", body)


def comparison_html(cmp: Comparison, progress: Progress | None = None) -> str:
    """A self-contained HTML report comparing scenarios (KPI table, charts, overlap, parameter diff)."""
    charts = comparison_charts(cmp)
    svgs = []
    for i, (key, chart) in enumerate(charts.items()):
        svgs.append(f'<figure data-chart="{key}">{_svg(chart)}</figure>')
        _say(progress, f"chart {key}", (i + 1) / (len(charts) + 1))
    warn = "".join(f"<p class='warn'>{html.escape(w)}</p>" for w in cmp.warnings)
    warn += "".join(f"<p class='note'>{html.escape(n)}</p>" for n in cmp.notes)  # differences by design
    bands, values = comparison_bands(cmp), comparison_bands(cmp, value=True)
    uncertainty = ""
    if len(bands):
        uncertainty = (f"<h2>Uncertainty: each scenario's change against its baseline, P10–P90</h2>"
                       f"{_table(bands, figures=True)}{_BANDS_NOTE}"
                       "<details><summary>The scenarios' values, P10–P90</summary>"
                       f"{_table(values, figures=True)}</details>")
    diff = cmp.param_diff_table()
    body = (f"<h1>Comparison: {html.escape(' vs '.join(cmp.names))}</h1>{warn}"
            f"<h2>KPIs</h2>{_table(comparison_cells(cmp), figures=True)}{uncertainty}"
            f"<h2>Charts</h2><div class='charts'>{''.join(svgs)}</div>"
            f"<h2>Move lists</h2>{_table(cmp.overlap)}"
            f"<h2>Parameters that differ</h2>{_table(diff) if len(diff) else '<p>None: same parameters.</p>'}"
            f"<h2>Workload per manager</h2>{_table(cmp.loads)}")
    _say(progress, "done", 1.0)
    return _page("Scenario comparison", body)


def export_html(obj: Scenario | Comparison | list[Scenario], path: str | Path,
                progress: Progress | None = None) -> Path:
    """Write a self-contained HTML report of a scenario, a comparison, or a list of scenarios (compared)."""
    if isinstance(obj, list):
        obj = compare(obj)
    text = comparison_html(obj, progress) if isinstance(obj, Comparison) else scenario_html(obj, progress)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

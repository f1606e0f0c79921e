"""The Scenarios step of the workshop app: save the current results as a scenario, load, publish, compare.

Save takes what the chain holds (``state.segmentation``/``assignment``/``projection`` of ``state.book``) into the
scenario store; publishing makes a scenario visible on the stakeholder dashboard. The Compare part puts two
or more stored scenarios side by side. All work is done by ``workbench.scenario`` and ``workbench.compare``.
"""

from __future__ import annotations

import copy
import html
import tempfile
from collections.abc import Callable
from pathlib import Path

import ipywidgets as w
import pandas as pd

from workbench.compare import Comparison, compare
from workbench.report.charts.compare import kpi_bands, loads_side_by_side, move_overlap
from workbench.report.export import export_excel, export_html, safe_file_name
from workbench.report.format import comparison_bands, comparison_cells, comparison_display, when
from workbench.scenario import (
    Scenario,
    ScenarioStore,
    ScenarioStoreError,
    default_store_path,
    pseudonymise,
    with_account_names,
)

from .charting import ChartPane
from .common import MessageBox, download_link, guarded, step_header, table_html
from .state import WorkbenchState

__all__ = ["ScenarioStep", "ExportBox", "comparison_cells_html", "comparison_table", "lines_table",
           "scenario_from_state", "show_comparison"]

_TEXT = {
    "nothing": "Nothing to save yet: load a book and let segmentation, reallocation and KPIs run first.",
    "saved": "Saved {name} as version {version}{pub}.",
    "published": "Published {name} version {version}: it is now visible on the dashboard.",
    "unpublished": "{name} is no longer visible on the dashboard.",
    "deleted": "Deleted {name} (its versions are kept; 'workbench scenario restore' brings it back).",
    "loaded": "Loaded {name} version {version} into the workshop.",
    "other_book": "{name} was computed on another book (fingerprint {theirs}, this book {ours}); load that book "
                  "first. Its parameters are shown in the history below.",
    "pick": "Choose a scenario first.",
    "pick_two": "Choose at least two scenarios to compare.",
    "compared": "Comparing {names}.",
    "exported": "{name}: {size:,.0f} kB ready — use the link to download it.",
}

_MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "html": "text/html"}


def comparison_table(cmp: Comparison) -> pd.DataFrame:
    """``comparison_display`` without the P10–P90 bands (``comparison_bands`` has them, in a table of their own):
    each scenario's value and its change against the first, the point of the view, in columns few enough to fit
    a 1,280 px screen (with the bands beside them three scenarios took 12 columns and were cut off)."""
    return comparison_display(cmp, bands=False)


#: the heading of a comparison's band table
_BANDS_HEAD = ("Uncertainty: each scenario's change against its own baseline, P10–P90 (as on the KPI cards; "
               "a band that holds zero may go either way)")


def show_comparison(cmp: Comparison, table: w.HTML, charts: list[ChartPane], params: w.HTML) -> None:
    """Render a comparison into its KPI table, the three comparison charts and the parameter diff.

    Shared by the workshop's Scenarios step and the stakeholder dashboard so both show the same thing. Warnings
    (other books, other assumptions) are set apart from notes that only explain a difference; the P10–P90 bands
    of the changes follow the KPI table in a table of their own.
    """
    msgs = [(x, "warning") for x in cmp.warnings] + [(x, "info") for x in cmp.notes]
    head = "".join(f'<div class="wb-msg wb-msg-{level}">{html.escape(x)}</div>' for x, level in msgs)
    bands = comparison_bands(cmp)
    band_html = (f'<h4 class="wb-cmp-bands">{html.escape(_BANDS_HEAD)}</h4>{lines_table(_bands_lines(bands))}'
                 if len(bands) else "")
    table.value = f'<div class="wb-cmp">{head}{comparison_cells_html(cmp)}{band_html}</div>'
    charts[0].show(kpi_bands(cmp.kpis))
    charts[1].show(loads_side_by_side(cmp.loads_long))
    charts[2].show(move_overlap(cmp.overlap))
    diff = cmp.param_diff_table()
    params.value = "<h4>Parameters that differ</h4>" + (
        f'<div class="wb-cmp">{lines_table(diff)}</div>' if len(diff) else "<p>None: same parameters.</p>")


def lines_table(df: pd.DataFrame, cls: str = "", wrap: tuple | None = None) -> str:
    """A frame as an HTML table whose cells may hold several lines (a list: the first as it is, the rest smaller
    and muted beneath) and whose text wraps: the comparison's tables and the dashboard's moves (long company
    names beside the reason) fit the card instead of scrolling. ``cls``: more classes of the table; ``wrap``: the
    columns whose text may wrap (default: all; the others keep a name or a figure on one line)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    free = [wrap is None or c in wrap for c in df.columns]
    body = []
    for row in df.itertuples(index=False):
        tds = []
        for v, may_wrap in zip(row, free):
            space = "normal" if may_wrap else "nowrap"
            if isinstance(v, list):
                lines = [html.escape(str(x)) for x in v]
                text = (lines[0] + "".join(f'<div class="wb-muted" style="font-size:12px;line-height:1.35">{x}</div>'
                                           for x in lines[1:])) if lines else ""
                tds.append(f'<td style="white-space:{space};vertical-align:top">{text}</td>')
            else:
                text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else html.escape(str(v))
                tds.append(f'<td style="white-space:{space};vertical-align:top">{text}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (f'<div class="wb-table-wrap"><table class="wb-table {cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def comparison_cells_html(cmp: Comparison) -> str:
    """``comparison_cells`` as an HTML table: per scenario one column, its value on top and, smaller, its change
    and its difference to the first scenario underneath (three scenarios side by side fit a 1,280 px screen)."""
    return lines_table(comparison_cells(cmp), "wb-cmp-cells")


def _bands_lines(bands: pd.DataFrame) -> pd.DataFrame:
    """A band table's cells as lines: the band, and "either way" beneath where it holds zero (one narrow column
    per scenario instead of "+226 k EUR … +2.16 M EUR (either way)" on one line)."""
    def lines(text: str) -> list[str]:
        band = text.removesuffix(" (either way)")
        # a figure never breaks inside ("+2.16 M EUR"); a narrow column breaks after the "…"
        band = band.replace(" ", "\u00a0").replace("\u00a0…\u00a0", " … ")
        return [band, "either way"] if text.endswith(" (either way)") else [band]

    out = bands.copy()
    for c in out.columns[1:]:
        out[c] = [lines(t) for t in out[c].astype(str)]
    return out


class ExportBox(w.VBox):
    """Export a scenario as an Excel workbook or an offline HTML report, with a progress bar and a download link.

    The file is built in a temporary folder and handed to the browser as a ``data:`` link (Voilà serves no
    files), so nothing is written next to the store.

    Parameters
    ----------
    get_scenario : returns the scenario to export (raises a ``ValueError`` with a sentence when there is none).
    get_salt : with it, a "Pseudonymise names" box: the file then carries aliases (``workbench.scenario.
        pseudonymise`` with this salt, the store's ``alias_salt``) for accounts, people and the ids in locks and
        events, for a file that leaves the client. Without it (the dashboard aliases before export) no box.
    """

    def __init__(self, get_scenario: Callable[[], Scenario], get_salt: Callable[[], str] | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self._get = get_scenario
        self._get_salt = get_salt
        self._format = w.Dropdown(options=[("Excel workbook", "xlsx"), ("HTML report", "html")], value="xlsx",
                                  description="Export", layout=w.Layout(width="240px"))
        self._alias = w.Checkbox(value=False, description="Pseudonymise names", indent=False,
                                 layout=w.Layout(width="180px", display="" if get_salt else "none"))
        self._go = w.Button(description="Build file", icon="download")
        self._bar = w.IntProgress(value=0, min=0, max=100, layout=w.Layout(width="240px", display="none"))
        self._link = w.HTML()
        self._msg = MessageBox()
        self._go.on_click(lambda _: self.export())
        self.children = [w.HBox([self._format, self._alias, self._go, self._bar]), self._link, self._msg]
        self.add_class("wb-export")

    def _progress(self, stage: str, fraction: float) -> None:
        self._bar.value = int(round(100 * max(0.0, min(1.0, fraction))))
        self._bar.description = stage[:12]

    @guarded()
    def export(self) -> bytes:
        """Build the file in the chosen format; returns its bytes (also offered as a download link)."""
        fmt = self._format.value
        if fmt not in _MIME:  # a viewer can send any value over the websocket
            raise ValueError("Choose Excel workbook or HTML report.")
        sc = self._get()
        if self._alias.value and self._get_salt is not None:
            sc = pseudonymise(sc, self._get_salt())
        self._link.value, self._bar.value = "", 0
        self._bar.layout.display = ""
        file_name = safe_file_name(sc.name)
        with tempfile.TemporaryDirectory(prefix="wb-export-") as tmp:
            path = Path(tmp) / f"{file_name}.{fmt}"
            (export_excel if fmt == "xlsx" else export_html)(sc, path, progress=self._progress)
            data = path.read_bytes()
        self._link.value = download_link(path.name, data, _MIME[fmt])
        self._msg.show(_TEXT["exported"].format(name=path.name, size=len(data) / 1024), "ok")
        return data


def scenario_from_state(state: WorkbenchState, name: str, description: str = "", author: str = "") -> Scenario:
    """A ``Scenario`` of what the workshop shows now: the results and the parameters that produced them.

    The parameters are ``state.params``, which the step views keep in the keyword form of the stage functions,
    so the scenario's YAML re-runs with ``workbench run``; each result keeps its own full ``params`` as well.
    """
    book = state.book
    if book is None or state.segmentation is None or state.assignment is None or state.projection is None:
        raise ScenarioStoreError(_TEXT["nothing"])
    params = copy.deepcopy(state.params)
    return Scenario(name=name, params=params, fingerprint=book.fingerprint(), description=description,
                    author=author, segmentation=state.segmentation,
                    assignment=with_account_names(state.assignment, book.accounts),
                    projection=state.projection, import_report=book.report.to_dict(), book_summary=book.summary(),
                    currency=book.currency)


class ScenarioStep(w.VBox):
    """Save / load / publish scenarios in the workspace store and compare them.

    Parameters
    ----------
    state : the app's state model.
    store_path : the store file (default ``$WORKBENCH_STORE`` or ``workspace/scenarios.sqlite``); it is created
        on the first save.
    """

    def __init__(self, state: WorkbenchState, store_path: str | Path | None = None, **kwargs):
        super().__init__(**kwargs)
        self.state = state
        self._store_path = Path(store_path) if store_path else default_store_path()
        self._store: ScenarioStore | None = None
        style = {"description_width": "initial"}
        self._msg = MessageBox()
        self._name = w.Text(description="Name", placeholder="e.g. Balanced ±15 %", style=style,
                            layout=w.Layout(width="360px"))
        self._author = w.Text(description="Author", style=style, layout=w.Layout(width="240px"))
        self._description = w.Textarea(description="Notes", style=style, layout=w.Layout(width="600px", height="60px"))
        self._publish_on_save = w.Checkbox(value=False, description="Publish to the dashboard", indent=False)
        self._save = w.Button(description="Save scenario", icon="save", button_style="primary")
        self._list = w.Select(options=[], description="Saved", rows=8, style=style, layout=w.Layout(width="360px"))
        self._load_btn = w.Button(description="Load", icon="folder-open")
        self._publish = w.Button(description="Publish", icon="eye")
        self._unpublish = w.Button(description="Unpublish", icon="eye-slash")
        self._delete = w.Button(description="Delete", icon="trash", button_style="danger")
        self._history = w.HTML()
        self._export = ExportBox(self._selected_scenario, get_salt=lambda: self._store.alias_salt)
        self._pick_many = w.SelectMultiple(options=[], description="Compare", rows=6, style=style,
                                           layout=w.Layout(width="360px"))
        self._compare_btn = w.Button(description="Compare", icon="columns")
        self._cmp_table = w.HTML()
        self._cmp_charts = [ChartPane() for _ in range(3)]
        self._cmp_params = w.HTML()
        for pane in self._cmp_charts:
            pane.layout.margin = "0 12px 12px 0"
        self._save.on_click(lambda _: self.save())
        self._load_btn.on_click(lambda _: self.load(self._list.value))
        self._publish.on_click(lambda _: self.publish(self._list.value))
        self._unpublish.on_click(lambda _: self.unpublish(self._list.value))
        self._delete.on_click(lambda _: self.delete(self._list.value))
        self._compare_btn.on_click(lambda _: self.compare(list(self._pick_many.value)))
        self._list.observe(lambda ch: self._show_history(ch["new"]), names="value")
        self.children = [
            step_header("5 · Scenarios", "Save what you see as a scenario, publish it for stakeholders, compare."),
            self._msg,
            w.HBox([self._name, self._author]), self._description, w.HBox([self._save, self._publish_on_save]),
            w.HTML("<h4>Saved scenarios</h4>"),
            w.HBox([self._list, w.VBox([self._load_btn, self._publish, self._unpublish, self._delete])]),
            self._history, self._export,
            w.HTML("<h4>Compare</h4>"), w.HBox([self._pick_many, self._compare_btn]), self._cmp_table,
            # side by side where they fit at their own size, else one under the other (not scaled down)
            w.HBox(self._cmp_charts, layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
            self._cmp_params,
        ]
        self.add_class("wb-step")
        self.refresh()
        self._author.value = self._last_author()

    # ---- store
    def _open(self, create: bool = False) -> ScenarioStore | None:
        if self._store is None and (create or self._store_path.is_file()):
            self._store = ScenarioStore(self._store_path)
        return self._store

    def _last_author(self) -> str:
        """Who saved last in this store: the Author field starts with it, so a page reload (a new kernel) does not
        leave the next save, and its Excel file, without an author."""
        store = self._open()
        if store is None:
            return ""
        df = store.list()
        df = df[df["author"].astype(str).str.strip() != ""]
        return str(df.sort_values("saved_at", kind="stable")["author"].iloc[-1]) if len(df) else ""

    def _selected(self, name) -> str:
        store = self._open()
        # a widget message can carry any value: only names the store lists are acted on
        if store is None or not isinstance(name, str) or name not in store.names():
            raise ScenarioStoreError(_TEXT["pick"])
        return name

    @guarded()
    def refresh(self, select: str | None = None) -> None:
        """Re-read the scenario list (names with a ● when published)."""
        store = self._open()
        if store is None:
            self._list.options, self._pick_many.options = [], []
            return
        df = store.list()
        options = [(f"{r.name}  (v{r.version}{', published' if r.published else ''})", r.name)
                   for r in df.itertuples()]
        keep = select or self._list.value
        self._list.options = options
        self._pick_many.options = [(label, name) for label, name in options]
        if keep in df["name"].tolist():
            self._list.value = keep

    def _selected_scenario(self) -> Scenario:
        return self._store.load(self._selected(self._list.value))

    def _show_history(self, name) -> None:
        store = self._open()
        if store is None or not name or name not in store.names():
            self._history.value = ""
            return
        hist = store.history(name)
        # for people: a date, not an ISO stamp; "published" yes or blank, not True / False; the book's
        # fingerprint (which book a version was made on) folded away as a technical detail
        hist = hist.assign(saved_at=hist["saved_at"].map(when), published=hist["published"].map({True: "yes",
                                                                                                  False: ""}))
        prints = hist[["version", "fingerprint"]].rename(columns={"fingerprint": "book fingerprint"})
        self._history.value = (table_html(hist.drop(columns="fingerprint"), max_rows=20)
                               + '<details class="wb-all-kpis"><summary>Technical details</summary>'
                               + table_html(prints, max_rows=20) + "</details>")

    # ---- actions
    @guarded()
    def save(self) -> int:
        """Save the current results under the name typed; returns the version."""
        sc = scenario_from_state(self.state, self._name.value.strip(), self._description.value.strip(),
                                 self._author.value.strip())
        store = self._open(create=True)
        version = store.save(sc, publish=bool(self._publish_on_save.value))
        self.refresh(select=sc.name)
        pub = ", published" if self._publish_on_save.value else ""
        self._msg.show(_TEXT["saved"].format(name=sc.name, version=version, pub=pub), "ok")
        return version

    @guarded()
    def publish(self, name) -> None:
        name = self._selected(name)
        v = self._store.publish(name)
        self.refresh(select=name)
        self._msg.show(_TEXT["published"].format(name=name, version=v), "ok")

    @guarded()
    def unpublish(self, name) -> None:
        name = self._selected(name)
        self._store.unpublish(name)
        self.refresh(select=name)
        self._msg.show(_TEXT["unpublished"].format(name=name), "ok")

    @guarded()
    def delete(self, name) -> None:
        name = self._selected(name)
        self._store.delete(name)
        self.refresh()
        self._msg.show(_TEXT["deleted"].format(name=name), "ok")

    @guarded()
    def load(self, name) -> None:
        """Put a stored scenario's results and parameters back into the workshop (same book only)."""
        name = self._selected(name)
        sc = self._store.load(name)
        book = self.state.book
        if book is None or book.fingerprint() != sc.fingerprint:
            ours = book.fingerprint() if book is not None else "none loaded"
            self._msg.show(_TEXT["other_book"].format(name=name, theirs=sc.fingerprint, ours=ours), "warning")
            return
        self.state.params = copy.deepcopy(sc.params)
        # set in flow order; while loading, the Reallocate step does not re-solve for the new segmentation (the
        # stored plan follows), which saves a solve and a KPI refit (sample book: 4.1 s -> 2.7 s)
        self.state.loading = True
        try:
            self.state.segmentation = sc.segmentation
            self.state.assignment = sc.assignment
            self.state.projection = sc.projection
        finally:
            self.state.loading = False
        self._name.value, self._author.value, self._description.value = sc.name, sc.author, sc.description
        self._msg.show(_TEXT["loaded"].format(name=name, version=sc.version), "ok")

    @guarded()
    def compare(self, names: list) -> None:
        """Compare two or more saved scenarios (latest versions)."""
        names = [self._selected(n) for n in dict.fromkeys(names)]
        if len(names) < 2:
            raise ScenarioStoreError(_TEXT["pick_two"])
        show_comparison(compare([self._store.load(n) for n in names]), self._cmp_table, self._cmp_charts,
                        self._cmp_params)
        self._msg.show(_TEXT["compared"].format(names=", ".join(names)), "ok")

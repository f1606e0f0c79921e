"""The read-only stakeholder dashboard: published scenarios only, one opened or several compared.

It opens the scenario store with ``mode=ro`` (nothing can be written), re-checks on every request that a
scenario is published (a viewer can send any widget value), and can replace account and manager names
with stable aliases for wider sharing. Errors show as one friendly line, never a traceback.
"""

from __future__ import annotations

import asyncio
import html
import os
from pathlib import Path

import ipywidgets as w
import pandas as pd

from workbench.cli.serve import PSEUDONYMISE_ENV
from workbench.compare import compare
from workbench.report.export import kpi_frame, moves_table, plan_in_brief, scenario_charts
from workbench.report.format import fmt_kpi, when
from workbench.scenario import (
    Scenario,
    ScenarioStore,
    ScenarioStoreError,
    default_store_path,
    pseudonymise,
    pseudonymise_text,
)

from .charting import ChartPane
from .common import MessageBox, guarded, kpi_cards_html, step_header, table_html
from .scenario_step import ExportBox, lines_table, show_comparison

__all__ = ["Dashboard", "PSEUDONYMISE_ENV"]

_TEXT = {
    "none_published": "No scenarios have been published yet.",
    "pick_two": "Choose at least two scenarios to compare.",
    "not_published": "That scenario is not published (any more). Press Refresh to update the list.",
    "opened": "Showing {name} (version {version}).",
    "compared": "Comparing {names}.",
    "moves_head": "Moves ({n:,})",
    "no_owner": "no owner",
    "moves_shown": "{shown:,} of {n:,} moves shown, largest revenue first; the Excel export lists them all.",
    "moves_shown_plain": "{shown:,} of {n:,} moves shown; the Excel export lists them all.",
    "plan": "Plan in brief: {plan}",
    "technical": "Technical details",
    "technical_line": "Version {version} · book fingerprint {fingerprint} (identifies the data the plan was made on)",
}

#: moves listed on the dashboard (the most valuable first); the export carries every move
MOVES_SHOWN = 25
#: the columns of "All figures" and their headers: the change's band first (as on the cards), then the value's
_ALL_FIGURES = {"label": "KPI", "unit": "unit", "baseline": "baseline", "scenario": "scenario", "delta": "change",
                "delta_p10": "change P10", "delta_p90": "change P90", "p10": "scenario P10", "p90": "scenario P90"}


def _who(names: pd.Series, ids: pd.Series) -> pd.Series:
    """A manager's name, else the id, else "no owner" (an account nobody owned before the plan)."""
    out = names.astype("string").replace("", pd.NA).fillna(ids.astype("string").replace("", pd.NA))
    return out.fillna(_TEXT["no_owner"])


def moves_for_people(sc: Scenario, limit: int = MOVES_SHOWN) -> tuple[pd.DataFrame, bool]:
    """The moves a stakeholder reads: ``Account`` (the company's name), ``Segment`` (its short name), ``From, To,
    Revenue, 12 months, Reason``, the largest revenue first (when the plan carries revenue per move), at most
    ``limit`` rows; company and manager names, not ids.
    Returns the table and whether it is sorted by revenue."""
    m = moves_table(sc)
    raw = sc.assignment.moves
    by_revenue = "revenue_12m" in raw.columns and len(raw) == len(m)
    rev = pd.to_numeric(raw["revenue_12m"], errors="coerce").to_numpy() if by_revenue else None
    # the company's name (its alias when pseudonymised); the id only for scenarios saved without names
    account = m["account_name"].astype("string").fillna(m["account_id"].astype("string")) \
        if "account_name" in m else m["account_id"]
    out = pd.DataFrame({
        "Account": account,
        # "Long tail – low value, low need, lower potential" → "Long tail": the Segment step explains the rest
        "Segment": m["segment"].astype("string").str.split(" – ", n=1).str[0],
        "From": _who(m["from_name"], m["from_manager"]),
        "To": _who(m["to_name"], m["to_manager"]),
    })
    if by_revenue:
        out["Revenue, 12 months"] = [fmt_kpi(v, sc.currency or "", decimals=0) for v in rev]
        out["_rev"] = rev
        out = out.sort_values("_rev", ascending=False, kind="stable", na_position="last").drop(columns="_rev")
    out["Reason"] = m["reason"]
    return out.head(limit).reset_index(drop=True), by_revenue


class Dashboard(w.VBox):
    """Stakeholder view of a scenario store: list published scenarios, open one, compare several.

    Parameters
    ----------
    store_path : the store file; default ``$WORKBENCH_STORE`` or ``workspace/scenarios.sqlite``.
    pseudonymise : ``"off"`` / ``"on"`` (initial state of the switch) or ``"force"`` (always on, switch locked);
        default from ``$WORKBENCH_PSEUDONYMISE``, else ``"off"``.
    poll_seconds : how often the kernel re-reads what is published (one small query) and updates the view when
        it changed, so an open page (or a kernel Voilà prepared ahead) never keeps showing an unpublished
        scenario for longer than this; ``None`` turns polling off.
    """

    def __init__(self, store_path: str | Path | None = None, pseudonymise: str | None = None,
                 poll_seconds: float | None = 5.0, **kwargs):
        super().__init__(**kwargs)
        self._store_path = Path(store_path) if store_path else default_store_path()
        mode = (pseudonymise or os.environ.get(PSEUDONYMISE_ENV, "off")).lower()
        self._force_alias = mode == "force"
        self._store: ScenarioStore | None = None
        self._quiet = False
        self._compared: list[str] = []
        self._listed: tuple = ()
        self._labels: dict[tuple[str, int], str] = {}  # (name, published version) → its name with aliases
        self._msg = MessageBox()
        self._pick = w.Select(options=[], description="Published", rows=8, layout=w.Layout(width="320px"))
        self._pick_many = w.SelectMultiple(options=[], description="Compare", rows=8, layout=w.Layout(width="320px"))
        self._compare_btn = w.Button(description="Compare", icon="columns", button_style="primary")
        self._refresh_btn = w.Button(description="Refresh", icon="refresh")
        self._alias = w.Checkbox(value=mode in ("on", "force"), description="Pseudonymise names",
                                 disabled=self._force_alias, indent=False)
        self._head = w.HTML()
        self._kpis = w.HTML()
        self._charts = [ChartPane() for _ in range(3)]
        self._moves = w.HTML()
        # exports what the viewer sees: the published version, with aliases when they are switched on
        self._export = ExportBox(lambda: self._load(self._pick.value))
        self._cmp_kpis = w.HTML()
        self._cmp_charts = [ChartPane() for _ in range(3)]
        self._cmp_params = w.HTML()
        # min_width 0: a wide table scrolls inside its own box instead of widening the view past the tab's edge
        # (the comparison's 'B vs A' column and its warning were cut off at 1,440 px)
        fit = {"min_width": "0", "max_width": "100%"}
        # charts side by side only where both fit at their own size, else one under the other: squeezed into
        # half the card they were scaled down to ~8 px text
        for pane in (*self._charts, *self._cmp_charts):
            pane.layout.margin = "0 12px 12px 0"
        wrap = {"flex_flow": "row wrap", "align_items": "flex-start"}
        scenario_view = w.VBox([self._head, self._kpis, w.HBox(self._charts[:2], layout=w.Layout(**wrap)),
                                self._charts[2], self._moves, self._export], layout=w.Layout(**fit))
        compare_view = w.VBox([self._cmp_kpis, w.HBox(self._cmp_charts, layout=w.Layout(**wrap)), self._cmp_params],
                              layout=w.Layout(**fit))
        # the tabs take the room left and never less than nothing: wide content (cards, tables) used to push
        # the scenario list to zero width, hidden under the tabs
        self.tabs = w.Tab(children=[scenario_view, compare_view], titles=["Scenario", "Compare"],
                          layout=w.Layout(flex="1 1 auto", min_width="0"))
        side = w.VBox([self._pick, w.HTML("<hr>"), self._pick_many, self._compare_btn, w.HTML("<hr>"),
                       self._alias, self._refresh_btn],
                      layout=w.Layout(width="340px", min_width="340px", flex="0 0 340px"))
        side.add_class("wb-side")
        self.children = [step_header("Restructure scenarios", "Read-only view of the published scenarios."),
                         self._msg, w.HBox([side, self.tabs])]
        self.add_class("wb-dashboard")
        self._pick.observe(self._on_pick, names="value")
        self._compare_btn.on_click(lambda _: self.show_comparison(list(self._pick_many.value)))
        self._refresh_btn.on_click(lambda _: self.refresh())
        self._alias.observe(self._on_alias, names="value")
        self.refresh()
        if poll_seconds:
            self._schedule(float(poll_seconds))

    # ---- data access (read-only, published only)
    def _open_store(self) -> ScenarioStore | None:
        if self._store is None and self._store_path.is_file():
            self._store = ScenarioStore(self._store_path, read_only=True)
        return self._store

    @property
    def published(self) -> list[str]:
        """Names of the scenarios published right now (re-read from the store)."""
        store = self._open_store()
        return store.names(published_only=True) if store is not None else []

    @property
    def pseudonymised(self) -> bool:
        # the server's force setting wins over whatever value a viewer sends for the checkbox
        return self._force_alias or bool(self._alias.value)

    def _load(self, name: str) -> Scenario:
        store = self._open_store()
        if store is None or not isinstance(name, str) or name not in self.published:
            raise ScenarioStoreError(_TEXT["not_published"])
        try:
            sc = store.load(name, published_only=True)
        except ScenarioStoreError as exc:
            raise ScenarioStoreError(_TEXT["not_published"]) from exc
        return pseudonymise(sc, store.alias_salt) if self.pseudonymised else sc

    # ---- actions
    @guarded()
    def refresh(self) -> None:
        """Re-read the list of published scenarios; opens the first one when nothing is shown yet."""
        self._listed = self._snapshot()
        names = [n for n, _ in self._listed]
        current = self._pick.value
        self._quiet = True  # changing options moves the selection; open once below, not per change
        try:
            self._set_options()
            target = current if current in names else (names[0] if names else None)
            self._pick.value = target
        finally:
            self._quiet = False
        if not names:
            self._msg.show(_TEXT["none_published"], "info")
            self._clear()
            return
        self.show_scenario(target)

    def _label(self, name: str, version: int) -> str:
        """A published scenario's name as the list shows it: with aliases on, its managers' names (a surname
        alone too: "S1, Peters leaves") replaced as everywhere else on the page."""
        if not self.pseudonymised:
            return name
        key = (name, version)
        if key not in self._labels:
            store = self._open_store()
            loads = store.load_part(name, "assignment.loads", published_only=True)
            params = store.load_params(name, published_only=True)
            self._labels[key] = name if loads is None else pseudonymise_text(name, loads, store.alias_salt, params)
        return self._labels[key]

    def _set_options(self) -> None:
        """Fill both lists from ``_listed``; the values stay the real names (they never reach the browser, only
        the labels do), so a viewer's choice is checked against the store as always."""
        if self.pseudonymised:
            options = [(self._label(n, v), n) for n, v in self._listed]
        else:
            options = [n for n, _ in self._listed]
        chosen = tuple(v for v in self._pick_many.value if v in {n for n, _ in self._listed})
        self._pick.options = options
        self._pick_many.options = options
        self._pick_many.value = chosen

    def _snapshot(self) -> tuple:
        """(name, published version) of every published scenario: what ``poll`` compares."""
        store = self._open_store()
        if store is None:
            return ()
        df = store.list(published_only=True)
        return tuple(zip(df["name"].tolist(), df["version"].astype(int).tolist()))

    @guarded()
    def poll(self) -> bool:
        """Re-read what is published; when it changed, refresh the list and the views. True when it changed."""
        if self._snapshot() == self._listed:
            return False
        compared, tab = list(self._compared), self.tabs.selected_index
        self.refresh()
        if compared:  # a comparison that includes an unpublished scenario is cleared with a message
            self.show_comparison(compared)
        self.tabs.selected_index = tab  # the viewer stays where they were
        return True

    def _schedule(self, seconds: float) -> None:
        try:
            loop = asyncio.get_running_loop()  # the kernel's loop; plain Python (tests) has none: no polling
        except RuntimeError:
            return

        def tick() -> None:
            try:
                self.poll()
            finally:
                loop.call_later(seconds, tick)

        loop.call_later(seconds, tick)

    def _on_pick(self, change) -> None:
        if not self._quiet:
            self.show_scenario(change["new"])

    def _clear(self, scenario: bool = True, comparison: bool = True) -> None:
        boxes = ([self._head, self._kpis, self._moves, *self._charts] if scenario else []) + \
            ([self._cmp_kpis, self._cmp_params, *self._cmp_charts] if comparison else [])
        for box in boxes:
            box.value = ""
        if comparison:
            self._compared = []

    @guarded()
    def show_scenario(self, name: str | None) -> None:
        """Show one published scenario: who/when, headline KPIs with P10–P90, charts, the largest moves."""
        if not name:
            return
        self._clear(comparison=False)  # nothing stale stays on screen if loading fails
        sc = self._load(name)
        self.tabs.selected_index = 0
        meta = " · ".join(html.escape(x) for x in (sc.author, when(sc.saved_at), sc.book_summary) if x)
        # what a re-run needs (version, the book's fingerprint) is folded away from the people reading the plan
        tech = (f'<details class="wb-all-kpis wb-tech"><summary>{_TEXT["technical"]}</summary><div class="wb-sub">'
                + html.escape(_TEXT["technical_line"].format(version=sc.version, fingerprint=sc.fingerprint))
                + "</div></details>")
        self._head.value = (f'<h3 class="wb-h" data-scenario="{html.escape(sc.name)}">{html.escape(sc.name)}</h3>'
                            f'<div class="wb-sub">{html.escape(sc.description)}</div><div class="wb-sub">{meta}</div>'
                            f'<div class="wb-sub">{html.escape(_TEXT["plan"].format(plan=plan_in_brief(sc)))}</div>'
                            f"{tech}")
        # cards as in the workshop's KPIs step; every figure, unrounded, one click away
        k = kpi_frame(sc)[list(_ALL_FIGURES)].rename(columns=_ALL_FIGURES)
        k = k.drop(columns=[c for c in k.columns if c.endswith(("P10", "P90")) and k[c].isna().all()])
        self._kpis.value = (kpi_cards_html(sc.projection.kpis) + '<details class="wb-all-kpis"><summary>All '
                            f"figures ({len(k)})</summary>{table_html(k, max_rows=60, float_format='{:,.2f}')}"
                            "</details>")
        for pane, chart in zip(self._charts, scenario_charts(sc).values()):
            pane.show(chart)
        n = len(sc.assignment.moves)
        shown, by_revenue = moves_for_people(sc)
        note = ""
        if len(shown) < n:
            note = _TEXT["moves_shown" if by_revenue else "moves_shown_plain"].format(shown=len(shown), n=n)
            note = f'<div class="wb-muted wb-moves-note">{html.escape(note)}</div>'
        self._moves.value = (f"<h4>{_TEXT['moves_head'].format(n=n)}</h4>{note}<div class=\"wb-moves\">"
                             f"{lines_table(shown, 'wb-wrap-last', wrap=('Account', 'From', 'To', 'Reason'))}</div>")
        self._msg.show(_TEXT["opened"].format(name=sc.name, version=sc.version), "ok")

    @guarded()
    def show_comparison(self, names: list[str]) -> None:
        """Compare two or more published scenarios side by side."""
        names = [n for n in dict.fromkeys(names) if isinstance(n, str)]
        if len(names) < 2:
            self._msg.show(_TEXT["pick_two"], "warning")
            return
        self._clear(scenario=False)
        cmp = compare([self._load(n) for n in names])
        self._compared = names
        self.tabs.selected_index = 1
        show_comparison(cmp, self._cmp_kpis, self._cmp_charts, self._cmp_params)
        self._msg.show(_TEXT["compared"].format(names=", ".join(cmp.names)), "ok")  # aliased when switched on

    def _on_alias(self, _change) -> None:
        if self._force_alias and not self._alias.value:
            self._alias.value = True  # a viewer cannot switch aliases off when the server forces them
            return
        # re-render everything on screen so that no view keeps showing the other kind of names
        tab = self.tabs.selected_index
        current = self._pick.value
        self._quiet = True
        try:
            self._set_options()
            self._pick.value = current
        finally:
            self._quiet = False
        if self._compared:
            self.show_comparison(self._compared)
        self.show_scenario(self._pick.value)
        self.tabs.selected_index = tab


"""The KPIs step: edit the projection's assumptions and see baseline vs scenario KPIs, bands, fan and waterfall.

The view fits a ``workbench.kpi.KpiModel`` once per assignment (all per-account work) and re-evaluates it on
every assumption change, which takes milliseconds; it computes nothing itself.
"""

from __future__ import annotations

import html
import threading

import ipywidgets as w

from workbench.assumptions import Assumption, Assumptions
from workbench.kpi import KpiModel, backtest, outside_band
from workbench.kpi.display import backtest_table, estimates_table, manager_table, segment_table
from workbench.report.charts.kpi import backtest_chart, fan_chart, manager_change_chart, revenue_waterfall
from workbench.report.format import CARD_KPIS, fmt_kpi

from .charting import ChartPane
from .common import MessageBox, guarded, kpi_cards_html, step_header, table_html
from .state import WorkbenchState

__all__ = ["KpiStep"]

_DRAW_OPTIONS = (("none (deterministic)", 0), ("200", 200), ("1,000", 1000), ("5,000", 5000))
_MANAGER_ROWS = 25
# how a unit is set and read: shares in percent like the Reallocate step's sliders (a number typed into a
# readout is read in the slider's own unit), each with its words; (scale, step, decimals, words)
_UNITS = {"share": (100.0, 0.1, 1, "%"), "share/year": (100.0, 0.1, 1, "% a year"),
          "elasticity": (1.0, 0.01, 2, ""), "ratio": (1.0, 0.05, 2, "times"),
          "months": (1.0, 1.0, 0, "months"), "currency/hour": (1.0, 1.0, 0, "{cur} an hour")}
_TEXT = {
    "title": "4 · KPIs",
    "subtitle": "Projected effect of the new assignment: baseline (keep owners) vs scenario, with every "
                "assumption, its range and its source.",
    "waiting": "Waiting for an assignment (steps 2 and 3).",
    "fitting": "Preparing the projection …",
    "done": "Projected {n:,} accounts over {h} months{bands}.",
    "bands": " with {d:,} Monte Carlo draws (P10–P90 shown)",
    "reset": "Reset to defaults",
    "no_history": "The book has no revenue history, so there is nothing to backtest against; growth and "
                  "retention come from the assumptions above.",
    "backtest": "Fitted on {fit} months, tested on the last {h}: error (MAPE) {total:.1%} in total, {seg:.1%} "
                "per segment; the actual total fell inside the P10–P90 band in {cov:.0%} of the months.",
    "estimated": "Estimated from revenue history (these replace the growth and retention defaults):",
    "drawn": "drawn from {lo} to {hi}{unit} around the value",
    "fixed": "not drawn",
    "range": "range {lo} to {hi}{unit}",
    "draws_note": "With Monte Carlo draws each uncertain assumption varies around the value set here, as widely "
                  "as its range is relative to its middle (10–20 % is ± a third: 15 % is drawn from 10–20 %, "
                  "10 % from 6.7–13.3 %), so a KPI's value sits inside its P10–P90 band.",
    "outside": "{kpis}: the value lies outside its P10–P90 band. {why}",
    "outside_one_sided": "{names} sits at the edge of what it can be, so its draws can only go one way from the "
                         "value set.",
    "outside_history": "The draws of growth and retention estimated from history lean one way here.",
    "more_managers": "{n:,} more managers with a smaller change",
    "clv_apart": "The two lifetime values point different ways. The retention-based one is margin after cost to "
                 "serve ({cts} a year here) over the expected customer life, with the handover churn; the BG/BB "
                 "one is gross margin from purchase frequency over 10 years, before cost to serve. Read the first "
                 "for what the plan earns after its cost, the second for what customers will buy.",
}


class KpiStep(w.VBox):
    """Observe ``state.assignment``, project KPIs under editable assumptions, set ``state.projection``."""

    def __init__(self, state: WorkbenchState, **kwargs):
        super().__init__(**kwargs)
        self.state = state
        self._model: KpiModel | None = None
        self._managers_stale = True  # utilisation depends on the assignment only: redraw it once per fit
        self._bt_key: tuple | None = None
        self._defaults = Assumptions()
        self._msg = MessageBox()
        kpi = state.params.get("kpi", {})
        given = dict(kpi.get("assumptions") or {})
        # per-segment retention overrides come from a scenario file; the editor keeps them as they are
        self._segment_retention = dict(given.pop("segment_retention", None) or {})
        start = self._defaults.with_values(**given)
        self._sliders: dict[str, w.FloatSlider] = {}
        self._info: dict[str, w.HTML] = {}
        self._units: dict[str, w.HTML] = {}
        self._currency = ""
        rows = []
        for name, a in start.items.items():
            scale, step, dec, words = _UNITS.get(a.unit, (1.0, 0.01, 2, ""))
            sl = w.FloatSlider(value=_shown(a.value, scale), min=_shown(a.low, scale), max=_shown(a.high, scale),
                               step=step, continuous_update=False, readout_format=f".{dec}f",
                               layout=w.Layout(width="320px"))
            sl.observe(self._on_assumption, names="value")
            self._sliders[name] = sl
            self._info[name] = w.HTML(layout=w.Layout(width="600px"))
            # the unit beside the figure, so "15.0" reads "15.0 %" (the currency is known once a book is fitted)
            self._units[name] = w.HTML(layout=w.Layout(width="90px"))
            rows.append(w.HBox([sl, self._units[name], self._info[name]]))
        self._show_ranges(start)
        self._draws = w.Dropdown(options=_DRAW_OPTIONS, value=self._draw_value(kpi.get("draws", 0)),
                                 description="Monte Carlo draws", style={"description_width": "initial"})
        self._horizon = w.IntSlider(value=int(kpi.get("horizon_months", 12) or 12), min=1, max=36,
                                    description="Horizon (months)", continuous_update=False,
                                    style={"description_width": "initial"})
        self._reset = w.Button(description=_TEXT["reset"], icon="undo")
        self._draws.observe(self._on_run_param, names="value")
        self._horizon.observe(self._on_run_param, names="value")
        self._reset.on_click(lambda _: self.reset())
        self._cards = w.HTML()
        self._fan = ChartPane()
        self._waterfall = ChartPane()
        self._mgr_chart = ChartPane()
        self._segments = w.HTML()
        self._managers = w.HTML()
        self._estimates = w.HTML()
        self._holdout = w.IntSlider(value=6, min=1, max=12, description="Backtest: months held out",
                                    continuous_update=False, style={"description_width": "initial"})
        self._holdout.observe(self._on_holdout, names="value")
        self._bt_text = w.HTML()
        self._bt_chart = ChartPane()
        self._bt_table = w.HTML()
        self._band_note = w.HTML()
        editor = w.Accordion(children=[w.VBox([w.HTML(f'<p class="wb-muted">{html.escape(_TEXT["draws_note"])}</p>'),
                                               *rows, self._estimates])],
                             titles=("Assumptions: value, range and source",))
        self.children = [step_header(_TEXT["title"], _TEXT["subtitle"]),
                         w.HBox([self._draws, self._horizon, self._reset]), editor, self._msg, self._cards,
                         self._band_note, w.HBox([self._fan, self._waterfall]),
                         w.HTML("<h4>Per segment</h4>"), self._segments,
                         w.HTML("<h4>Per manager</h4>"), self._mgr_chart, self._managers,
                         w.HTML("<h4>Backtest: how far to trust the baseline</h4>"), self._holdout, self._bt_text,
                         w.HBox([self._bt_chart, self._bt_table])]
        self.add_class("wb-step")
        self._syncing = False  # sliders being set from state.params: no recompute per slider
        self._projected = None  # the projection this view computed last (any other one came from outside)
        # on a big book the fit runs in the reallocate step's background thread while sliders refresh here: each
        # refresh and each new model takes a number, and only the newest refresh publishes its projection
        self._lock = threading.RLock()
        self._generation = 0
        state.observe(self._on_assignment, names="assignment")
        state.observe(self._on_params, names="params")
        state.observe(self._on_projection, names="projection")
        if state.assignment is not None:
            self._on_assignment()
        else:
            self._msg.show(_TEXT["waiting"])

    # -- state ----------------------------------------------------------------------------------------------
    @staticmethod
    def _draw_value(draws) -> int:
        values = [v for _, v in _DRAW_OPTIONS]
        return int(draws) if int(draws or 0) in values else 0

    def _value(self, name: str) -> float:
        """An assumption's value as the model takes it (a share, not the percent its slider shows)."""
        return _taken(self._sliders[name].value, _UNITS.get(self._defaults.items[name].unit, (1.0,))[0])

    def _set_slider(self, name: str, value: float) -> None:
        self._sliders[name].value = _shown(value, _UNITS.get(self._defaults.items[name].unit, (1.0,))[0])

    @property
    def assumptions(self) -> Assumptions:
        """The assumptions as currently set in the editor."""
        return self._defaults.with_values(segment_retention=self._segment_retention,
                                          **{n: self._value(n) for n in self._sliders})

    def _changed(self) -> dict:
        out = {n: self._value(n) for n in self._sliders if self._value(n) != self._defaults[n]}
        if self._segment_retention:
            out["segment_retention"] = dict(self._segment_retention)
        return out

    # -- events ---------------------------------------------------------------------------------------------
    @guarded()
    def _on_assignment(self, _change=None) -> None:
        st = self.state
        if st.assignment is None or st.segmentation is None or st.book is None:
            self._model = None
            self.state.projection = None
            self._msg.show(_TEXT["waiting"])
            return
        self._msg.show(_TEXT["fitting"])
        model = KpiModel().fit(st.book, st.segmentation, st.assignment)
        with self._lock:
            self._generation += 1  # a refresh still running on the previous model must not draw over this one
            self._model = model
        self._managers_stale = True
        self._currency = model.currency_ or ""
        self._show_ranges(self.assumptions)
        self._show_estimates()
        if not st.loading:  # a loaded scenario brings its own projection, drawn when it arrives
            self.refresh()
        self.run_backtest()

    def _show_ranges(self, assumptions: Assumptions) -> None:
        """Each assumption's words: label, range and unit, what the draws vary it over (it moves with the value),
        source."""
        for name, a in assumptions.items.items():
            self._info[name].value = _assumption_html(a, self._currency)
            words = _UNITS.get(a.unit, (1.0, 0.01, 2, ""))[3].format(cur=self._currency).strip()
            self._units[name].value = f'<span class="wb-unit">{html.escape(words)}</span>'

    def _show_estimates(self) -> None:
        est = self._model.baseline_.segments.assign(segment=self._model.segment_names_)
        est = est[(est["growth_source"] == "history") | (est["retention_source"] == "history")]
        if not len(est):
            self._estimates.value = ""
            return
        self._estimates.value = f"<p>{_TEXT['estimated']}</p>" + _table(estimates_table(est))

    @guarded()
    def _on_holdout(self, _change=None) -> None:
        self.run_backtest()

    @guarded()
    def run_backtest(self) -> None:
        """Backtest the baseline on the book's history (needs the segmentation); shows the error and coverage."""
        st = self.state
        if st.book is None or st.segmentation is None:
            return
        if st.book.history is None or not len(st.book.history):
            self._bt_text.value = f"<p>{html.escape(_TEXT['no_history'])}</p>"
            self._bt_chart.value = self._bt_table.value = ""
            return
        seed = int(st.params.get("kpi", {}).get("seed", 0) or 0)
        # the backtest depends on the book and the segmentation only, not on the assignment: run it once for them
        key = (id(st.book), id(st.segmentation), int(self._holdout.value), seed)
        if key == self._bt_key:
            return
        self._bt_key = key
        try:
            bt = backtest(st.book, st.segmentation, holdout_months=int(self._holdout.value), draws=1000,
                          seed=seed, assumptions=self.assumptions)
        except ValueError as exc:  # too little history for this holdout: say so where the backtest would be
            self._bt_text.value = f"<p>{html.escape(str(exc))}</p>"
            self._bt_chart.value = self._bt_table.value = ""
            return
        self.backtest_ = bt
        m = bt.metrics
        self._bt_text.value = "<p>" + html.escape(_TEXT["backtest"].format(
            fit=m["fit_months"], h=m["holdout_months"], total=m["mape_total"], seg=m["mape_segments"] or 0.0,
            cov=m["coverage_total"] or 0.0)) + "".join(f"<br>{html.escape(n)}" for n in bt.notes) + "</p>"
        self._bt_chart.show(backtest_chart(bt.series, currency=self._model.currency_ if self._model else ""))
        self._bt_table.value = _table(backtest_table(bt.by_segment, self._currency))

    @guarded()
    def _on_assumption(self, _change=None) -> None:
        if self._syncing:
            return
        self._show_ranges(self.assumptions)
        self.state.set_section("kpi", assumptions=self._changed())
        self.refresh()

    @guarded()
    def _on_run_param(self, _change=None) -> None:
        if self._syncing:
            return
        self.state.set_section("kpi", draws=int(self._draws.value), horizon_months=int(self._horizon.value))
        self.refresh()

    def _on_params(self, change=None) -> None:
        """Show ``state.params['kpi']`` in the editor (a loaded scenario brings its own assumptions) without
        projecting again: the assignment or projection that comes with them is what recomputes or redraws."""
        if not self.state.section_changed(change, "kpi"):
            return  # another step's section changed
        kpi = self.state.params.get("kpi", {})
        given = dict(kpi.get("assumptions") or {})
        self._syncing = True
        try:
            self._segment_retention = dict(given.pop("segment_retention", None) or {})
            for name in self._sliders:
                self._set_slider(name, float(given.get(name, self._defaults[name])))
            self._draws.value = self._draw_value(kpi.get("draws", 0))
            self._horizon.value = int(kpi.get("horizon_months", 12) or 12)
        finally:
            self._syncing = False
        self._show_ranges(self.assumptions)

    def _on_projection(self, change) -> None:
        if change.new is not None and change.new is not self._projected:  # a loaded scenario's KPIs: draw them
            self._render(change.new)
            if self.state.book is not None:
                self._say_done()

    def reset(self) -> None:
        """Put every assumption back to its default (one recompute)."""
        for n, s in self._sliders.items():
            s.unobserve(self._on_assumption, names="value")
            self._set_slider(n, self._defaults[n])
            s.observe(self._on_assumption, names="value")
        self._on_assumption()

    @guarded()
    def refresh(self) -> None:
        """Re-evaluate the fitted model with the current assumptions and redraw. When two refreshes overlap (a
        slider moved while a background re-solve refits), the one started last wins, whichever finishes last."""
        with self._lock:
            self._generation += 1
            gen, model = self._generation, self._model
        if model is None:
            return
        kpi = self.state.params.get("kpi", {})
        proj = model.project(self.assumptions, horizon_months=int(self._horizon.value),
                             draws=int(self._draws.value), seed=int(kpi.get("seed", 0) or 0))
        with self._lock:
            if gen != self._generation:
                return  # overtaken by a newer model or newer assumptions: that refresh draws
            self._projected = proj
            self.state.projection = proj
            self._render(proj)
            self._say_done()

    def _say_done(self) -> None:
        d = int(self._draws.value)
        n = self._model.n_accounts_ if self._model is not None else self.state.book.n_accounts
        self._msg.show(_TEXT["done"].format(n=n, h=int(self._horizon.value),
                                            bands=_TEXT["bands"].format(d=d) if d else ""), "ok")

    # -- rendering ------------------------------------------------------------------------------------------
    def _render(self, proj) -> None:
        self._cards.value = kpi_cards_html(proj.kpis) + _clv_note(proj.kpis)
        self._band_note.value = _band_note(proj.kpis, self.assumptions)
        cur = self._model.currency_ if self._model is not None else ""
        self._fan.show(fan_chart(proj.series, currency=cur))
        self._waterfall.show(revenue_waterfall(proj.kpis, currency=cur))
        if self._managers_stale:
            self._mgr_chart.show(manager_change_chart(proj.by_manager))
            self._managers_stale = False
        self._segments.value = _table(segment_table(proj.by_segment, cur))
        # the next 12 months as projected, not the last 12 of the Reallocate step's table: the headers say so
        more = len(proj.by_manager) - _MANAGER_ROWS
        self._managers.value = _table(manager_table(proj.by_manager, cur, rows=_MANAGER_ROWS)) + (
            f'<div class="wb-more">{html.escape(_TEXT["more_managers"].format(n=more))}</div>' if more > 0 else "")


def _shown(value: float, scale: float) -> float:
    """A model value as its slider shows it (0.15 → 15.0 for a share), free of float noise (0.07 × 100)."""
    return round(float(value) * scale, 6)


def _taken(shown: float, scale: float) -> float:
    """A slider's figure as the model takes it (15.0 → 0.15)."""
    return round(float(shown) / scale, 10)


def _figure(x: float, scale: float, dec: int) -> str:
    """A range end in the slider's unit, without trailing zeros ("6.7", "10", "0.25")."""
    text = f"{x * scale:,.{dec}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _assumption_html(a: Assumption, currency: str) -> str:
    scale, _, dec, words = _UNITS.get(a.unit, (1.0, 0.01, 2, ""))
    words = words.format(cur=currency).strip()
    unit = f" {words}" if words else ""
    rng = _TEXT["range"].format(lo=_figure(a.low, scale, dec), hi=_figure(a.high, scale, dec), unit=unit)
    lo, hi = a.draw_range()
    fine = dec + (a.unit == "months")  # months are drawn as fractions: "4.8 to 19.2 months"
    drawn = (_TEXT["drawn"].format(lo=_figure(lo, scale, fine), hi=_figure(hi, scale, fine), unit=unit)
             if hi > lo else _TEXT["fixed"])
    return (f'<div class="wb-assumption" title="{html.escape(a.source)}"><b>{html.escape(a.label)}</b> '
            f'<span class="wb-unit">({html.escape(rng)}; {html.escape(drawn)})</span><br>'
            f'<span class="wb-source">{html.escape(a.source)}</span></div>')


def _table(df) -> str:
    """A table whose headers wrap onto more lines (they are words, some long), so it fits the step's width."""
    return table_html(df, max_rows=len(df)).replace(
        "<th>", '<th style="white-space: normal; vertical-align: bottom; min-width: 56px">')


def _band_note(kpis: dict, assumptions: Assumptions) -> str:
    """A word when a card's value lies outside its own P10–P90 band, and why (only a one-sided assumption or the
    history's estimates can put it there: every assumption is drawn around its value)."""
    shown = [k for k in outside_band(kpis) if k in CARD_KPIS or k.startswith("accounts_per_")]
    if not shown:
        return ""
    one_sided = assumptions.one_sided()
    why = (_TEXT["outside_one_sided"].format(names=", ".join(assumptions.items[n].label for n in one_sided))
           if one_sided else _TEXT["outside_history"])
    text = _TEXT["outside"].format(kpis=", ".join(kpis[k]["label"] for k in shown), why=why)
    return f'<p class="wb-muted wb-band-note">{html.escape(text)}</p>'


def _clv_note(kpis: dict) -> str:
    """A word when the two lifetime values change in opposite directions (they measure different things)."""
    a, b = kpis.get("clv"), kpis.get("clv_bgbb")
    if not a or not b or not a.get("delta") or not b.get("delta") or (a["delta"] > 0) == (b["delta"] > 0):
        return ""
    cts = kpis.get("cost_to_serve", {})
    change = fmt_kpi(cts.get("delta"), cts.get("unit", ""), sign=True) if cts.get("delta") is not None else "—"
    return f'<p class="wb-muted wb-clv-note">{html.escape(_TEXT["clv_apart"].format(cts=change))}</p>'


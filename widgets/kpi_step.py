"""The KPIs step: edit the projection's assumptions and see baseline vs scenario KPIs, bands, fan and waterfall.

The view fits a ``workbench.kpi.KpiModel`` once per assignment (all per-account work) and re-evaluates it on
every assumption change, which takes milliseconds; it computes nothing itself.
"""

from __future__ import annotations

import html
import threading

import ipywidgets as w

from workbench.assumptions import Assumptions
from workbench.kpi import KpiModel, backtest
from workbench.report.charts.kpi import backtest_chart, fan_chart, manager_change_chart, revenue_waterfall
from workbench.report.format import fmt_kpi

from .charting import ChartPane
from .common import MessageBox, guarded, kpi_cards_html, step_header, table_html
from .state import WorkbenchState

__all__ = ["KpiStep"]

_DRAW_OPTIONS = (("none (deterministic)", 0), ("200", 200), ("1,000", 1000), ("5,000", 5000))
_MANAGER_COLUMNS = ("manager_id", "name", "role", "accounts_before", "accounts_after", "moved_in", "moved_out",
                    "utilisation_before", "utilisation_after", "revenue_before_12m", "revenue_after_12m",
                    "revenue_delta_12m")
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
        rows = []
        for name, a in start.items.items():
            step = 1.0 if a.unit == "months" else round((a.high - a.low) / 40, 6) or 0.01
            sl = w.FloatSlider(value=a.value, min=a.low, max=a.high, step=step, continuous_update=False,
                               readout_format=".0f" if a.unit in ("months", "currency/hour") else ".3f",
                               layout=w.Layout(width="320px"))
            sl.observe(self._on_assumption, names="value")
            self._sliders[name] = sl
            info = w.HTML(f'<div class="wb-assumption" title="{html.escape(a.source)}">'
                          f'<b>{html.escape(a.label)}</b> <span class="wb-unit">({html.escape(a.unit)}, range '
                          f'{a.low:g}–{a.high:g}{", uncertain" if a.uncertain else ""})</span><br>'
                          f'<span class="wb-source">{html.escape(a.source)}</span></div>',
                          layout=w.Layout(width="560px"))
            rows.append(w.HBox([sl, info]))
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
        editor = w.Accordion(children=[w.VBox([*rows, self._estimates])],
                             titles=("Assumptions: value, range and source",))
        self.children = [step_header(_TEXT["title"], _TEXT["subtitle"]),
                         w.HBox([self._draws, self._horizon, self._reset]), editor, self._msg, self._cards,
                         w.HBox([self._fan, self._waterfall]),
                         w.HTML("<h4>Per segment</h4>"), self._segments,
                         w.HTML("<h4>Per manager</h4>"), w.HBox([self._mgr_chart, self._managers]),
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

    @property
    def assumptions(self) -> Assumptions:
        """The assumptions as currently set in the editor."""
        return self._defaults.with_values(segment_retention=self._segment_retention,
                                          **{n: s.value for n, s in self._sliders.items()})

    def _changed(self) -> dict:
        out = {n: s.value for n, s in self._sliders.items() if s.value != self._defaults[n]}
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
        self._show_estimates()
        if not st.loading:  # a loaded scenario brings its own projection, drawn when it arrives
            self.refresh()
        self.run_backtest()

    def _show_estimates(self) -> None:
        est = self._model.baseline_.segments.assign(segment=self._model.segment_names_)
        est = est[(est["growth_source"] == "history") | (est["retention_source"] == "history")]
        if not len(est):
            self._estimates.value = ""
            return
        cols = ["segment", "growth", "growth_se", "retention", "retention_se"]
        self._estimates.value = f"<p>{_TEXT['estimated']}</p>" + table_html(est[cols], float_format="{:,.3f}")

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
        self._bt_table.value = table_html(bt.by_segment, float_format="{:,.3f}")

    @guarded()
    def _on_assumption(self, _change=None) -> None:
        if self._syncing:
            return
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
            for name, slider in self._sliders.items():
                slider.value = float(given.get(name, self._defaults[name]))
            self._draws.value = self._draw_value(kpi.get("draws", 0))
            self._horizon.value = int(kpi.get("horizon_months", 12) or 12)
        finally:
            self._syncing = False

    def _on_projection(self, change) -> None:
        if change.new is not None and change.new is not self._projected:  # a loaded scenario's KPIs: draw them
            self._render(change.new)
            if self.state.book is not None:
                self._say_done()

    def reset(self) -> None:
        """Put every assumption back to its default (one recompute)."""
        for n, s in self._sliders.items():
            s.unobserve(self._on_assumption, names="value")
            s.value = self._defaults[n]
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
        cur = self._model.currency_ if self._model is not None else ""
        self._fan.show(fan_chart(proj.series, currency=cur))
        self._waterfall.show(revenue_waterfall(proj.kpis, currency=cur))
        if self._managers_stale:
            self._mgr_chart.show(manager_change_chart(proj.by_manager))
            self._managers_stale = False
        seg_cols = [c for c in ("segment", "accounts", "revenue_last_12m", "baseline_revenue_12m",
                                "scenario_revenue_12m", "delta_revenue_12m", "retention_baseline", "p_alive",
                                "accounts_moved", "revenue_at_risk") if c in proj.by_segment]
        shares = {c: proj.by_segment[c].map(lambda v: "" if v != v else f"{100 * v:.1f} %")  # not "1.0"
                  for c in ("retention_baseline", "p_alive") if c in seg_cols}
        self._segments.value = table_html(proj.by_segment[seg_cols].assign(**shares), max_rows=20)
        cols = [c for c in _MANAGER_COLUMNS if c in proj.by_manager]
        top = proj.by_manager.reindex(proj.by_manager["revenue_delta_12m"].abs().sort_values(ascending=False).index)
        # the next 12 months as projected, not the last 12 of the Reallocate step's table: say which is which
        shown = top[cols].rename(columns={"revenue_before_12m": "revenue_next_12m_keep_owners",
                                          "revenue_after_12m": "revenue_next_12m_new_owners",
                                          "revenue_delta_12m": "revenue_next_12m_change"})
        self._managers.value = table_html(shown, max_rows=25, float_format="{:,.2f}")


def _clv_note(kpis: dict) -> str:
    """A word when the two lifetime values change in opposite directions (they measure different things)."""
    a, b = kpis.get("clv"), kpis.get("clv_bgbb")
    if not a or not b or not a.get("delta") or not b.get("delta") or (a["delta"] > 0) == (b["delta"] > 0):
        return ""
    cts = kpis.get("cost_to_serve", {})
    change = fmt_kpi(cts.get("delta"), cts.get("unit", ""), sign=True) if cts.get("delta") is not None else "—"
    return f'<p class="wb-muted wb-clv-note">{html.escape(_TEXT["clv_apart"].format(cts=change))}</p>'


"""The Segment step: choose features, method and number of segments; see the segments, name them, and set the
coverage model with its capacity gap.

The view computes nothing itself: it calls ``workbench.segment`` and renders what comes back. Books above
``BACKGROUND_ACCOUNTS`` are segmented in a background thread with a progress bar so the page stays usable.
"""

from __future__ import annotations

import html
import threading

import ipywidgets as w
import pandas as pd

from workbench.report.charts.segment import (
    BRUSH,
    capacity_gap_chart,
    k_selection,
    scatter_sample,
    segment_scatter,
    segment_sizes,
)
from workbench.segment import (
    K_RANGE,
    ROLES,
    accounts_in_region,
    available_features,
    rename,
    segment,
    set_coverage,
)
from workbench.segment import capacity_gap as compute_capacity_gap

from .charting import ChartPane
from .common import MessageBox, guarded, step_header, table_html
from .state import WorkbenchState

__all__ = ["SegmentStep", "BACKGROUND_ACCOUNTS"]

#: Books with more accounts than this are segmented in a background thread with a progress bar.
BACKGROUND_ACCOUNTS = 200_000
#: The scatter is a live chart whose brush lists the accounts in the brushed region (``ChartPane``'s
#: interactive mode); the range fields below it do the same by typed numbers.
INTERACTIVE_SCATTER = True

_METHODS = [("k-means", "kmeans"), ("Gaussian mixture", "gmm"), ("Hierarchical (Ward, sampled)", "hierarchical"),
            ("ABC tiers by revenue", "abc"), ("Value × need matrix", "value-need")]
_K_OPTIONS = [("auto", "auto")] + [(str(k), k) for k in range(K_RANGE[0], K_RANGE[1] + 1)]
_FEATURE_LABELS = {"revenue": "Revenue", "growth": "Growth", "margin": "Margin", "potential": "Potential",
                   "whitespace": "Whitespace (potential − revenue)", "headroom": "Headroom (potential ÷ revenue)",
                   "service_need": "Service need", "employees": "Employees",
                   "product_breadth": "Product breadth", "tickets": "Tickets",
                   "annual_revenue": "Company size (its own revenue)"}
_PROFILE_COLUMNS = {"segment_id": "id", "segment": "segment", "n_accounts": "accounts",
                    "revenue_share": "revenue share", "revenue_12m_median": "median revenue",
                    "potential_median": "median potential", "service_need_median": "median need (h/yr)",
                    "top_industries": "top industries", "top_regions": "top regions"}
_TEXT = {
    "title": "2 · Segment",
    "subtitle": "Group accounts by value and need, name the segments and decide who serves them.",
    "no_book": "Load a book first.",
    "working": "Segmenting {n:,} accounts …",
    "done": "{k} segments from {n:,} accounts ({method}, {seconds:.1f} s).",
    "done_one": "1 segment from {n:,} accounts ({method}, {seconds:.1f} s).",
    "stable": "Stability {ari:.2f} (adjusted Rand index across {runs} refits): the segments are stable.",
    "no_stability": "Stability not computed.",
    "renamed": "Segment names updated.",
    "coverage_set": "Coverage model updated.",
    "region": "{n:,} accounts in the chosen range (largest revenue first, at most 200 shown).",
    "coverage_row": "{hours:,.1f} h per account · {fte:,.1f} FTE needed · practice: {practice} accounts per manager",
    "outside_practice": ' <span class="wb-msg-warning" style="color:#8a6d00">outside the practice range</span>',
}


class SegmentStep(w.VBox):
    """Segment ``state.book`` into ``state.segmentation``; recomputes when the book or a control changes."""

    def __init__(self, state: WorkbenchState, **kwargs):
        super().__init__(**kwargs)
        self.state = state
        self._syncing = False
        self._thread: threading.Thread | None = None
        p = state.params.get("segment", {})
        self._method = w.Dropdown(options=_METHODS, value=p.get("method", "kmeans"), description="Method")
        k = p.get("k", 5)  # segment()'s default
        self._k = w.Dropdown(options=_K_OPTIONS, value=k if k in dict(_K_OPTIONS).values() else 5,
                             description="Segments")
        self._grid = w.Dropdown(options=[("2 × 2", 2), ("3 × 3", 3)], value=int(p.get("grid", 2)),
                                description="Matrix")
        self._features = w.SelectMultiple(options=[], rows=4, description="Features")
        self._run_btn = w.Button(description="Segment", button_style="primary", icon="refresh")
        # hidden with display, not visibility: an invisible bar still took a wrapped second line of the controls
        self._progress = w.IntProgress(value=0, min=0, max=100, layout=w.Layout(width="240px", display="none"))
        self._msg = MessageBox()
        self._stability = w.HTML()
        self._scatter = ChartPane(interactive=INTERACTIVE_SCATTER)
        self._sizes = ChartPane()
        self._kchart = ChartPane(layout=w.Layout(display="none"))
        self._profiles = w.HTML()
        self._names = w.VBox()
        self._names_btn = w.Button(description="Apply names", icon="check")
        self._coverage = w.GridBox(layout=w.Layout(grid_template_columns="minmax(220px, 1fr) 200px 240px 2fr",
                                                   grid_gap="4px 12px", align_items="center"))
        self._coverage_btn = w.Button(description="Apply coverage", icon="check")
        self._gap_chart = ChartPane()
        self._gap_table = w.HTML()
        self._rev_lo = w.FloatText(description="Revenue from", style={"description_width": "initial"})
        self._rev_hi = w.FloatText(description="to", style={"description_width": "initial"})
        self._need_lo = w.FloatText(description="Need from", style={"description_width": "initial"})
        self._need_hi = w.FloatText(description="to", style={"description_width": "initial"})
        self._region_btn = w.Button(description="List accounts", icon="list")
        self._region_msg = w.HTML()
        self._region_table = w.HTML()

        for ctl in (self._method, self._k, self._grid, self._features):
            ctl.observe(self._on_control, names="value")
        self._run_btn.on_click(lambda _: self.recompute())
        self._names_btn.on_click(lambda _: self.apply_names())
        self._coverage_btn.on_click(lambda _: self.apply_coverage())
        self._region_btn.on_click(lambda _: self.list_region())
        if INTERACTIVE_SCATTER:
            self._scatter.observe(self._on_brush, names="selection")
        state.observe(self._on_book, names="book")
        state.observe(self._on_params, names="params")
        state.observe(self._on_segmentation, names="segmentation")
        self._computed = None  # the segmentation this view computed last (any other one came from outside)

        controls = w.HBox([self._method, self._k, self._grid, self._run_btn, self._progress])
        self.children = [
            step_header(_TEXT["title"], _TEXT["subtitle"]),
            controls, self._features, self._msg, self._stability,
            w.HBox([self._scatter, self._sizes]),
            self._kchart,
            w.HTML("<h4>Segment profiles</h4>"), self._profiles,
            w.HTML("<h4>Names</h4>"), self._names, self._names_btn,
            w.HTML("<h4>Coverage model</h4>"), self._coverage, self._coverage_btn,
            w.HBox([self._gap_chart, self._gap_table]),
            w.HTML("<h4>Accounts in a value and need range</h4><div class='wb-sub'>Brush the scatter or type "
                   "a range (0 = open end).</div>"),
            w.HBox([self._rev_lo, self._rev_hi]), w.HBox([self._need_lo, self._need_hi, self._region_btn]),
            self._region_msg, self._region_table,
        ]
        self.add_class("wb-step")
        self._update_control_state()
        if state.book is not None:
            self._on_book()

    # ------------------------------------------------------------------ events
    def _on_book(self, _change=None) -> None:
        book = self.state.book
        if book is None:
            return
        self._syncing = True
        try:
            avail = available_features(book.accounts, book.history)
            # any other numeric column of the book is offered too, in words ("annual_revenue" showed as such)
            self._features.options = [(_FEATURE_LABELS.get(f, f.replace("_", " ").capitalize()), f) for f in avail]
            self._features.rows = max(3, min(len(avail), 9))
            wanted = self.state.params.get("segment", {}).get("features")
            if isinstance(wanted, str):
                wanted = [f.strip() for f in wanted.split(",")]
            from workbench.segment import DEFAULT_FEATURES

            chosen = [f for f in (wanted or DEFAULT_FEATURES) if f in avail]
            self._features.value = tuple(chosen)
        finally:
            self._syncing = False
        self.recompute()

    def _on_params(self, change=None) -> None:
        """Show ``state.params['segment']`` in the controls (a loaded scenario brings its own) without
        segmenting again: the scenario's segmentation comes with it."""
        if not self.state.section_changed(change, "segment"):
            return  # another step's section changed
        p = self.state.params.get("segment", {})
        self._syncing = True
        try:
            if p.get("method") in dict((v, k) for k, v in _METHODS):
                self._method.value = p["method"]
            if p.get("k") in dict(_K_OPTIONS).values():
                self._k.value = p["k"]
            if p.get("grid") in (2, 3):
                self._grid.value = int(p["grid"])
            wanted = p.get("features")
            if isinstance(wanted, str):
                wanted = [f.strip() for f in wanted.split(",")]
            avail = [v for _, v in self._features.options]
            if wanted and avail:
                self._features.value = tuple(f for f in wanted if f in avail)
        finally:
            self._syncing = False
        self._update_control_state()

    def _on_segmentation(self, change) -> None:
        if change.new is not None and change.new is not self._computed:  # a loaded scenario's segments: draw them
            self._render(change.new)

    def _on_control(self, _change=None) -> None:
        self._update_control_state()
        if not self._syncing and self.state.book is not None:
            self.recompute()

    def _update_control_state(self) -> None:
        rule = self._method.value in ("abc", "value-need")
        self._k.disabled = rule
        self._features.disabled = rule
        self._grid.layout.display = "" if self._method.value == "value-need" else "none"

    def _params(self) -> dict:
        p = dict(method=self._method.value, k=self._k.value, seed=int(self.state.params.get("segment", {})
                                                                      .get("seed", 0)))
        if self._features.value and self._method.value not in ("abc", "value-need"):
            p["features"] = list(self._features.value)
        if self._method.value == "value-need":
            p["grid"] = int(self._grid.value)
        return p

    # ------------------------------------------------------------------ compute
    @guarded()
    def recompute(self) -> None:
        """Segment the current book with the controls' settings and publish ``state.segmentation``."""
        book = self.state.book
        if book is None:
            self._msg.show(_TEXT["no_book"], "info")
            return
        params = self._params()
        # Edits (names, coverage) belong to the previous segments; a new segmentation starts from the defaults.
        section = {**{k: v for k, v in self.state.params.get("segment", {}).items()
                      if k not in ("features", "grid", "names", "coverage")}, **params}
        new = dict(self.state.params)
        new["segment"] = section
        self.state.params = new
        self._msg.show(_TEXT["working"].format(n=book.n_accounts), "info")
        if book.n_accounts > BACKGROUND_ACCOUNTS:
            self.wait()
            self._thread = threading.Thread(target=self._compute, args=(book, section), daemon=True)
            self._thread.start()
        else:
            self._compute(book, section)

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background segmentation finished (tests and scripts)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _progress_cb(self, stage: str, fraction: float) -> None:
        self._progress.value = int(100 * fraction)
        self.state.status = f"segment: {stage}"

    @guarded()
    def _compute(self, book, section: dict) -> None:
        self.state.busy = True
        self._progress.layout.display = ""
        try:
            seg = segment(book, **section, progress=self._progress_cb)
        finally:
            self.state.busy = False
            self._progress.layout.display = "none"
        if self.state.book is not book:  # the book changed while we worked: drop the stale result
            return
        self._render(seg)
        self._computed = seg
        self.state.segmentation = seg
        q = seg.quality
        method = dict((v, k) for k, v in _METHODS).get(q["method"], q["method"])
        done = _TEXT["done_one"] if q["k"] == 1 else _TEXT["done"]
        self._msg.show(done.format(k=q["k"], n=book.n_accounts, method=method, seconds=q.get("seconds", 0.0)),
                       "ok")

    # ------------------------------------------------------------------ render
    def _render(self, seg) -> None:
        book = self.state.book
        q = seg.quality
        if q.get("warning"):
            self._stability.value = f'<div class="wb-msg wb-msg-warning">{html.escape(q["warning"])}</div>'
        elif q.get("stability") is not None:
            text = _TEXT["stable"].format(ari=q["stability"], runs=len(q.get("stability_runs") or []))
            self._stability.value = f'<div class="wb-msg wb-msg-ok">{html.escape(text)}</div>'
        else:
            self._stability.value = f'<div class="wb-msg">{_TEXT["no_stability"]}</div>'
        # What the fit could not do as asked (constant features, convergence, imputed values) is said, not hidden.
        self._stability.value += "".join(f'<div class="wb-msg wb-msg-info">{html.escape(n)}</div>'
                                         for n in q.get("notes") or [])
        self._scatter.show(segment_scatter(scatter_sample(book.accounts, seg.labels), book.n_accounts,
                                           brush=INTERACTIVE_SCATTER))
        self._sizes.show(segment_sizes(seg.profiles))
        if q.get("k_scores"):
            self._kchart.show(k_selection(q["k_scores"]))
            self._kchart.layout.display = ""
        else:
            self._kchart.layout.display = "none"
        self._render_tables(seg)

    def _render_tables(self, seg) -> None:
        cols = [c for c in _PROFILE_COLUMNS if c in seg.profiles.columns]
        prof = seg.profiles[cols].rename(columns=_PROFILE_COLUMNS)
        prof["revenue share"] = (100 * prof["revenue share"]).round(1).astype(str) + " %"
        self._profiles.value = table_html(prof, max_rows=20)
        self._names.children = [w.Text(value=r.segment, description=f"Segment {r.segment_id}",
                                       layout=w.Layout(width="480px")) for r in seg.profiles.itertuples()]
        rows = []
        for r in seg.coverage.itertuples():
            roles = list(dict.fromkeys([*ROLES, r.role]))
            info = _TEXT["coverage_row"].format(hours=r.hours_per_account, fte=r.headcount_needed,
                                                practice=r.practice_range)
            rows += [
                # HTML wraps where a Label would cut the name off, often at the word that tells segments apart.
                w.HTML(f'<div style="white-space:normal;overflow-wrap:anywhere;line-height:1.3">'
                       f"{r.segment_id} · {html.escape(str(r.segment))}</div>"),
                w.Dropdown(options=roles, value=r.role, layout=w.Layout(width="190px")),
                w.BoundedFloatText(value=round(float(r.accounts_per_manager), 1), min=0.1, max=100_000, step=1,
                                   description="accounts / manager", style={"description_width": "initial"},
                                   layout=w.Layout(width="230px")),
                w.HTML(info + (_TEXT["outside_practice"] if r.outside_practice else "")),
            ]
        self._coverage.children = rows  # a grid: segment | role | accounts per manager | hours and FTE
        self._render_gap(seg)

    def _render_gap(self, seg) -> None:
        gap = compute_capacity_gap(seg.coverage, self.state.book.managers)
        self._gap_chart.show(capacity_gap_chart(gap))
        shown = gap.rename(columns={"hours_needed": "hours needed", "hours_available": "hours available",
                                    "hours_gap": "hours gap", "headcount_needed": "FTE needed",
                                    "headcount_current": "managers now", "headcount_gap": "FTE gap"})
        self._gap_table.value = table_html(shown, max_rows=10)

    # ------------------------------------------------------------------ edits
    @guarded()
    def apply_names(self) -> None:
        """Rename segments from the name fields (segment id → name) and publish the renamed segmentation."""
        seg = self.state.segmentation
        if seg is None:
            return
        auto = list(seg.profiles["auto_name"])
        names = {str(i): t.value.strip() for i, t in enumerate(self._names.children) if t.value.strip() != auto[i]}
        new = rename(seg, names, merge=False)
        self.state.set_section("segment", names=new.params["names"])
        self._render_tables(new)
        self._computed = new
        self.state.segmentation = new
        self._msg.show(_TEXT["renamed"], "ok")

    @guarded()
    def apply_coverage(self) -> None:
        """Apply the coverage editor (role and accounts per manager per segment) and show the capacity gap."""
        seg = self.state.segmentation
        if seg is None:
            return
        edits = {}
        cells = self._coverage.children
        for i, r in enumerate(seg.coverage.itertuples()):
            role, apm = cells[4 * i + 1].value, float(cells[4 * i + 2].value)
            # The field shows the ratio rounded to 0.1: only a change beyond that is an edit.
            if role != r.role or abs(apm - round(float(r.accounts_per_manager), 1)) > 1e-9:
                edits[str(r.segment_id)] = {"role": role, "accounts_per_manager": apm}
        new = set_coverage(seg, edits, self.state.book.managers)
        self.state.set_section("segment", coverage=new.params["coverage"])
        self._render_tables(new)
        self._computed = new
        self.state.segmentation = new
        self._msg.show(_TEXT["coverage_set"], "ok")

    @guarded()
    def _on_brush(self, _change=None) -> None:
        """A brush on the scatter fills the range fields and lists the accounts inside it (all accounts, not
        only the sampled points drawn).
        """
        box = (self._scatter.selection or {}).get(BRUSH) or {}
        rev, need = box.get("revenue_12m"), box.get("service_need")
        if not rev or not need or len(rev) != 2 or len(need) != 2:
            return
        if not all(isinstance(v, int | float) for v in (*rev, *need)):
            return
        self._rev_lo.value, self._rev_hi.value = sorted(float(v) for v in rev)
        self._need_lo.value, self._need_hi.value = sorted(float(v) for v in need)
        self.list_region()

    @guarded()
    def list_region(self) -> None:
        """List the accounts whose revenue and service need fall inside the range fields (0 = open end)."""
        seg, book = self.state.segmentation, self.state.book
        if seg is None or book is None:
            return
        inf = float("inf")
        rev = (self._rev_lo.value, self._rev_hi.value or inf)
        need = (self._need_lo.value, self._need_hi.value or inf)
        found = accounts_in_region(book.accounts, seg, revenue=rev, need=need, limit=200)
        self._region_msg.value = html.escape(_TEXT["region"].format(n=found.attrs["matches"]))
        self._region_table.value = table_html(found, max_rows=200)

    @property
    def profiles(self) -> pd.DataFrame | None:
        """The profiles currently shown (for tests and notebooks)."""
        seg = self.state.segmentation
        return None if seg is None else seg.profiles

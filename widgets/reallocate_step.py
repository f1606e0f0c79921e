"""The Reallocate step: band, a second band on revenue or potential, move limit (in accounts or revenue) and
weights, locks and overrides, what-if events → a re-solved plan.

The view observes ``state.segmentation`` (and its own controls), calls ``workbench.allocate.reallocate`` and
sets ``state.assignment``; it renders the workload chart with the band (and the revenue / potential chart with
its band when that is balanced too), the move list (filterable by reason and segment), the per-manager table and
a view by region. It computes nothing itself.
"""

from __future__ import annotations

import html
import threading

import ipywidgets as w
import pandas as pd

from workbench.allocate import moves_summary, normalise_locks, reallocate, reason_label
from workbench.allocate.tradeoff import DEFAULT_BANDS, band_tradeoff, sweep_settings
from workbench.book import counted
from workbench.compare import event_text
from workbench.crm import MISSING_IDS, SYSTEMS, move_files, move_files_zip
from workbench.report.charts.allocate import (
    balance_chart,
    manager_labels,
    moves_by_reason_chart,
    region_chart,
    tradeoff_chart,
    workload_chart,
)
from workbench.report.format import fmt_kpi

from .charting import ChartPane
from .common import MessageBox, download_link, guarded, sort_key, step_header, table_html
from .state import WorkbenchState

__all__ = ["ReallocateStep", "BACKGROUND_ACCOUNTS"]

#: Books with more accounts than this are re-solved in a background thread (about a second of solving and more):
#: the page stays usable while it works, and changes made meanwhile are folded into one more solve.
BACKGROUND_ACCOUNTS = 10_000

_ALL = "(all)"
_PICK = "choose a manager …"
_MAX_LOCK_LINES = 5000
_EDIT_ROWS = 8  # largest moves shown as editable rows in the Moves tab
_STATUS_LEVEL = {"optimal": "ok", "feasible": "ok", "infeasible": "error"}
#: the owner-update files the Moves tab builds (``workbench.crm``), as the client's admin knows them
_CRM_CHOICES = [("Salesforce (Data Loader update)", "salesforce"), ("HubSpot (company import)", "hubspot"),
                ("Dynamics 365 (data import)", "dynamics"), ("Plain CSV (names, reasons)", "plain"),
                ("All four (ZIP)", "all")]


class ReallocateStep(w.VBox):
    """Re-solve the owner assignment whenever the segmentation or a control changes; show moves and loads."""

    def __init__(self, state: WorkbenchState, **kwargs):
        super().__init__(**kwargs)
        self.state = state
        p = state.params.get("allocate", {})
        style = {"description_width": "initial"}
        # shares are set in percent: a number typed into a slider's readout is read in the slider's own unit,
        # so a fraction slider shown as "15%" took a typed "5" or "5%" for 500 % (and clipped it to its maximum)
        self._band = _percent_slider(p.get("band", 0.15), 2, 50, "Band ± (% of target)", style, "360px")
        mms = p.get("max_move_share")
        self._limit_on = w.Checkbox(value=mms is not None, description="Limit moves", indent=False)
        self._limit = _percent_slider(mms if mms is not None else 0.2, 0, 100, "Max moved (%)", style, "320px")
        self._limit_of = w.ToggleButtons(options=[("accounts", "accounts"), ("revenue", "revenue")],
                                         value=p.get("move_share_of") or "accounts", description="Limit counts",
                                         style={"description_width": "initial", "button_width": "104px"},
                                         layout=w.Layout(width="auto", flex="0 0 auto"))
        self._balance_on = w.Dropdown(options=[("none", "none"), ("revenue", "revenue"), ("potential", "potential")],
                                      value=p.get("balance_on") or "none", description="Balance also on",
                                      style=style, layout=w.Layout(width="260px"))
        self._balance_band = _percent_slider(p.get("balance_band", 0.2), 2, 50, "Balance band ± (%)", style,
                                             "320px")
        self._balance_band.layout.display = "none" if self._balance_on.value == "none" else None
        self._cand = w.IntSlider(value=int(p.get("candidates", 12)), min=2, max=20, step=1,
                                 description="Managers per account", continuous_update=False, style=style,
                                 layout=w.Layout(width="320px"),
                                 tooltip="managers the solver may consider for each account, its owner included: "
                                         "more can meet a tight band, at the cost of a slower solve")
        self._mode = w.ToggleButtons(options=_modes(p.get("mode")), value=p.get("mode") or "auto",
                                     description="Plan search", style={"description_width": "initial",
                                                                       "button_width": "96px"},
                                     tooltips=["about a second on 10,000 accounts: re-solves as you move a control",
                                               "an exact LP bound and a deeper branch and bound, about ten times "
                                               "as long (in the background): for the plan you publish"],
                                     layout=w.Layout(width="auto", flex="0 0 auto"))
        wts = p.get("weights") or {}
        self._w = {k: w.FloatSlider(value=float(wts.get(k, 1.0)), min=0.0, max=5.0, step=0.1,
                                    description=f"Weight {k}", continuous_update=False, style=style,
                                    layout=w.Layout(width="300px")) for k in ("continuity", "fit", "balance")}
        self._locks = w.Textarea(placeholder="one per line: ACCOUNT_ID  or  ACCOUNT_ID,MANAGER_ID",
                                 description="Locks", layout=w.Layout(width="360px", height="90px"))
        self._apply_locks = w.Button(description="Apply locks", icon="lock")
        self._leave = w.Dropdown(description="Manager leaves", options=[], style=style, layout=w.Layout(width="340px"))
        self._leave_btn = w.Button(description="Remove manager", icon="user-times", layout=w.Layout(width="auto"))
        self._hire_name = w.Text(description="Hire name", value="New hire", style=style, layout=w.Layout(width="220px"))
        self._hire_role = w.Dropdown(description="role", options=[], layout=w.Layout(width="260px"))
        self._hire_region = w.Dropdown(description="region", options=[], layout=w.Layout(width="280px"))
        self._hire_cap = w.BoundedFloatText(value=1600.0, min=1.0, max=5000.0, description="hours/yr",
                                            layout=w.Layout(width="180px"))
        self._hire_ramp = _percent_slider(0.5, 10, 100, "ramp-up (%)", {}, "260px", step=5)
        self._hire_btn = w.Button(description="Add hire", icon="user-plus")
        self._ovr_account = w.Text(description="Override account", style=style, layout=w.Layout(width="260px"))
        self._ovr_manager = w.Dropdown(description="to", options=[], layout=w.Layout(width="260px"))
        self._ovr_freeze = w.Checkbox(value=False, description="freeze the rest", indent=False)
        self._ovr_btn = w.Button(description="Override", icon="hand-paper-o")
        self._undo_btn = w.Button(description="Undo last change", icon="undo", disabled=not p.get("events"),
                                  tooltip="take back the last event (a leaver, a hire, an override) or lock change "
                                          "and re-solve", layout=w.Layout(width="auto"))  # the default cut its words
        self._clear_btn = w.Button(description="Clear events", icon="trash")
        self._events_html = w.HTML()
        self._msg = MessageBox()
        # where a background solve is: the solver's stages, each at its typical share of the run
        self._solve_bar = w.IntProgress(value=0, min=0, max=100, layout=w.Layout(width="240px"))
        self._solve_stage = w.HTML()
        self._solve_progress = w.HBox([self._solve_bar, self._solve_stage],
                                      layout=w.Layout(display="none", align_items="center"))
        self._stats = w.HTML()
        self._assumed = w.HTML()  # the plan's inputs that are defaults, not data
        self._chart = ChartPane()
        self._aux_chart = ChartPane()
        self._aux_chart.layout.display = "none"
        self._reason_chart = ChartPane()
        self._region_chart = ChartPane()
        self._reason = w.Dropdown(description="Reason", options=[_ALL], layout=w.Layout(width="260px"))
        self._segment = w.Dropdown(description="Segment", options=[_ALL], layout=w.Layout(width="260px"))
        self._mover = w.Dropdown(description="Manager", options=[(_ALL, "")], layout=w.Layout(width="300px"),
                                 tooltip="moves from or to this manager: what they hand over and what they receive")
        self._moves = w.HTML()
        self._crm = w.Dropdown(options=_CRM_CHOICES, value="salesforce", description="CRM file",
                               layout=w.Layout(width="330px"))
        self._crm_btn = w.Button(description="Build file", icon="download",
                                 tooltip="owner updates for every move of the plan shown (the filters do not apply), "
                                         "keyed by the ids the CRM knows")
        self._crm_link = w.HTML()
        self._loads = w.HTML()
        # the largest moves as an editable table: keep an account with its owner, or hand it to someone else
        self._edit_rows = []
        for _ in range(_EDIT_ROWS):
            text = w.HTML(layout=w.Layout(width="640px"))
            keep = w.Button(icon="lock", layout=w.Layout(width="230px"),
                            tooltip="lock this account with its current owner and re-solve")
            other = w.Button(description="Give to someone else …", icon="hand-paper-o", layout=w.Layout(width="200px"),
                             tooltip="fill in the override below with this account; choose who takes it")
            row = w.HBox([text, keep, other], layout=w.Layout(display="none"))
            row.account_id = ""
            keep.on_click(lambda _b, r=row: self._keep(r.account_id))
            other.on_click(lambda _b, r=row: self._redirect(r.account_id))
            self._edit_rows.append(row)
        self._edit_head = w.HTML()
        self._trade_btn = w.Button(description="Compare bands", icon="line-chart", button_style="info",
                                   tooltip="re-solve the plan at bands from ±5 % to ±30 % with the other settings as "
                                           "they are (no move limit) and chart what each one moves")
        self._trade_bar = w.IntProgress(value=0, min=0, max=100, layout=w.Layout(width="240px", display="none"))
        self._trade_note = w.HTML('<span class="wb-muted">How many relationships does each band cost? One plan '
                                  'per band, each solved as the plan above is.</span>')
        self._trade_chart = ChartPane()
        self._trade_table = w.HTML()
        self._trade_thread: threading.Thread | None = None
        self.tradeoff: pd.DataFrame | None = None  # the last band comparison (for scripts and tests)
        self._trade_settings: tuple = (None, {})  # the segmentation and settings it was made with
        self._events: list[dict] = list(p.get("events") or [])
        self._lock_df = normalise_locks(p.get("locks") or None)
        #: what "Undo last change" takes back, newest last: ("event", the event) or ("locks", the locks before)
        self._history: list[tuple[str, object]] = []
        self._syncing = False  # controls being set from state.params: no re-solve per control
        self._solved = None  # the assignment this view computed last (any other one came from outside)
        self._solved_for: tuple | None = None  # the book and segmentation it was computed for
        self._probation: dict | None = None  # the event added last, until a solve has accepted it
        self._lock_probation: pd.DataFrame | None = None  # the locks before the last lock change, likewise
        self._jobs = threading.Lock()
        self._job: tuple | None = None  # the latest background request (book, segmentation, params)
        self._worker: threading.Thread | None = None
        self._dropped = ""  # what a new book took away (locks, events of the previous book), said once

        for ctl in (self._band, self._limit, self._limit_on, self._limit_of, self._balance_on, self._balance_band,
                    self._cand, self._mode, *self._w.values()):
            ctl.observe(self._on_control, names="value")
        for ctl in (self._reason, self._segment, self._mover):
            ctl.observe(lambda _c: self._render_moves(), names="value")
        self._apply_locks.on_click(lambda _b: self._on_locks())
        self._leave_btn.on_click(lambda _b: self._add_event({"type": "leave", "manager_id": self._leave.value}))
        self._hire_btn.on_click(lambda _b: self._on_hire())
        self._ovr_btn.on_click(lambda _b: self._on_override())
        self._clear_btn.on_click(lambda _b: self._clear_events())
        self._undo_btn.on_click(lambda _b: self._undo_event())
        self._trade_btn.on_click(lambda _b: self.compare_bands())
        self._crm_btn.on_click(lambda _b: self.crm_file())
        self._crm.observe(lambda _c: setattr(self._crm_link, "value", ""), names="value")
        state.observe(self._on_book, names="book")
        state.observe(self._on_segmentation, names="segmentation")
        state.observe(self._on_params, names="params")
        state.observe(self._on_assignment, names="assignment")

        controls = w.VBox([w.HBox([self._band, self._cand, self._mode], layout=w.Layout(align_items="center")),
                           w.HBox([self._limit_on, self._limit, self._limit_of],
                                  layout=w.Layout(align_items="center")),
                           w.HBox([self._balance_on, self._balance_band]), w.HBox(list(self._w.values()))])
        what_if = w.VBox([w.HBox([self._locks, self._apply_locks]),
                          w.HBox([self._leave, self._leave_btn]),
                          w.HBox([self._hire_name, self._hire_role, self._hire_region, self._hire_cap,
                                  self._hire_ramp, self._hire_btn]),
                          w.HBox([self._ovr_account, self._ovr_manager, self._ovr_freeze, self._ovr_btn]),
                          w.HBox([self._undo_btn, self._clear_btn, self._events_html])])
        self._what_if = acc = w.Accordion(children=[what_if], titles=("Locks, overrides and events",))
        moves_box = w.VBox([w.HBox([self._reason, self._segment, self._mover]),
                            w.HBox([self._crm, self._crm_btn, self._crm_link], layout=w.Layout(align_items="center")),
                            self._edit_head, *self._edit_rows,
                            w.HBox([self._moves, self._reason_chart])])
        trade_box = w.VBox([w.HBox([self._trade_btn, self._trade_bar, self._trade_note]), self._trade_chart,
                            self._trade_table])
        self._tabs = tabs = w.Tab(children=[w.VBox([self._chart, self._aux_chart]), moves_box, self._loads,
                                            self._region_chart, trade_box],
                                  titles=["Workload", "Moves", "Managers", "By region", "Band trade-off"])
        # charts on hidden tabs are drawn when their tab is opened (each SVG render costs a few tenths of a second)
        self._stale: set[str] = set()
        tabs.observe(lambda _c: self._render_stale(), names="selected_index")
        self.children = [step_header("3 · Reallocate", "Every manager inside the band, as few relationships moved "
                                                       "as possible."),
                         controls, acc, self._msg, self._assumed, self._solve_progress, self._stats, tabs]
        self.add_class("wb-step")
        self.solve()

    # ---------------------------------------------------------------- events from the user
    def _on_book(self, change) -> None:
        """A new book: locks and events that name accounts or managers it does not have are dropped (they made
        every later solve fail with "account id(s) … not in the accounts table"); the rest stay."""
        book = change.new
        if self.state.loading or book is None or change.old is None or book is change.old:
            return
        accounts = set(book.accounts["account_id"].astype(str))
        managers = set(book.managers["manager_id"].astype(str)) if len(book.managers) else set()
        hires = {str(e.get("manager_id") or "") for e in self._events if e.get("type") == "hire"}
        lk = self._lock_df
        keep_lock = lk["account_id"].astype(str).isin(accounts) & (
            lk["manager_id"].isna() | lk["manager_id"].astype(str).isin(managers | hires))

        def fits(e: dict) -> bool:
            if e.get("type") == "leave":
                return str(e.get("manager_id")) in managers
            if e.get("type") == "override":
                return str(e.get("account_id")) in accounts and str(e.get("manager_id")) in managers | hires
            return True

        events = [e for e in self._events if fits(e)]
        n_lock, n_ev = int((~keep_lock).sum()), len(self._events) - len(events)
        if not (n_lock or n_ev):
            return
        self._lock_df, self._events, self._history = lk[keep_lock.to_numpy(bool)].reset_index(drop=True), events, []
        self._show_locks()
        gone = [x for x in (counted(n_lock, "lock") if n_lock else "", counted(n_ev, "event") if n_ev else "") if x]
        self._dropped = f"{' and '.join(gone)} of the previous book did not fit this one and were dropped."

    def _on_segmentation(self, _change) -> None:
        if not self.state.loading:  # a loaded scenario brings its own plan
            self.solve()

    def _on_control(self, _change) -> None:
        self._balance_band.layout.display = "none" if self._balance_on.value == "none" else None
        if not self._syncing:
            self.solve()

    def _on_params(self, change=None) -> None:
        """Show ``state.params['allocate']`` in the controls (a loaded scenario brings its own) without
        re-solving: the segmentation or assignment that comes with new parameters is what re-solves or redraws."""
        if not self.state.section_changed(change, "allocate"):
            return  # another step's section changed
        p = self.state.params.get("allocate", {})
        mine = self.params()
        # keys only a scenario may carry (the controls leave them out when empty or at the default)
        extra = {"locks", "events", "mode"} & (set(p) - set(mine))
        if all(p.get(key) == value for key, value in mine.items()) and not extra:
            return  # what the controls already say (this view's own set_section, say)
        mms = p.get("max_move_share")
        self._syncing = True
        try:
            self._band.value = _percent(p.get("band", 0.15))
            self._limit_on.value = mms is not None
            if mms is not None:
                self._limit.value = _percent(mms)
            self._limit_of.value = p.get("move_share_of") or "accounts"
            self._balance_on.value = p.get("balance_on") or "none"
            self._balance_band.value = _percent(p.get("balance_band", 0.2))
            self._cand.value = int(p.get("candidates", 12))
            self._mode.options = _modes(p.get("mode"))
            self._mode.value = p.get("mode") or "auto"
            wts = p.get("weights") or {}
            for key, slider in self._w.items():
                slider.value = float(wts.get(key, 1.0))
        finally:
            self._syncing = False
        self._balance_band.layout.display = "none" if self._balance_on.value == "none" else None
        self._events = list(p.get("events") or [])
        self._lock_df = normalise_locks(p.get("locks") or None)
        self._history = []  # a loaded scenario's events and locks are where undo starts
        self._show_locks()

    def _on_assignment(self, change) -> None:
        if change.new is not None and change.new is not self._solved:  # a loaded scenario's plan: draw it
            self._solved_for = (self.state.book, self.state.segmentation)
            if self.state.book is not None:
                self._sync_options(self.state.book)  # its hires join the override list
            self._render(change.new)

    @guarded()
    def _on_locks(self) -> None:
        lines = [ln.strip() for ln in self._locks.value.splitlines() if ln.strip()]
        if len(lines) > _MAX_LOCK_LINES:
            raise ValueError(f"at most {_MAX_LOCK_LINES:,} lock lines, got {len(lines):,}")
        recs = []
        for i, ln in enumerate(lines, 1):
            parts = [x.strip() for x in ln.replace(";", ",").replace("\t", ",").split(",")]
            if not parts[0] or len(parts) > 2:
                raise ValueError(f"lock line {i} ({ln!r}): expected ACCOUNT_ID or ACCOUNT_ID,MANAGER_ID")
            recs.append({"account_id": parts[0], "manager_id": parts[1] if len(parts) > 1 and parts[1] else None})
        self._set_locks(normalise_locks(recs or None))
        self.solve()

    @guarded()
    def _on_hire(self) -> None:
        self._add_event({"type": "hire", "name": self._hire_name.value.strip() or "New hire",
                         "role": self._hire_role.value, "region": self._hire_region.value,
                         "capacity_hours": float(self._hire_cap.value), "ramp": _share(self._hire_ramp)})

    @guarded()
    def _on_override(self) -> None:
        acc = self._ovr_account.value.strip()
        if not acc:
            raise ValueError("type the account id to override")
        if not self._ovr_manager.value:
            raise ValueError("choose the manager who takes the account")
        self._add_event({"type": "override", "account_id": acc, "manager_id": self._ovr_manager.value,
                         "rest": "freeze" if self._ovr_freeze.value else "reoptimise"})

    def _add_event(self, event: dict) -> None:
        if event.get("type") == "leave" and not event.get("manager_id"):
            self._msg.show("Choose the manager who leaves first.", "warning")
            return
        self._events.append(event)
        self._history.append(("event", event))
        self._probation = event  # taken back out if the solve refuses it (unknown id, bad value)
        self.solve()

    def _clear_events(self) -> None:
        self._events = []
        self._history = [h for h in self._history if h[0] != "event"]
        self.solve()

    def _undo_event(self) -> None:
        """Take back the last change only: an event (the room tried a leaver, then a hire, and wants the hire
        gone) or a lock change (a "Keep with" pressed by mistake). Without a record of changes (a loaded
        scenario), the last event goes."""
        while self._history:
            kind, value = self._history.pop()
            if kind == "locks":
                self._lock_df = value
                self._show_locks()
                self.solve()
                return
            if any(e is value for e in self._events):  # an event the solve refused is gone already
                self._events = [e for e in self._events if e is not value]
                self.solve()
                return
        if not self._events:
            self._msg.show("Nothing to undo.", "warning")
            return
        self._events = self._events[:-1]
        self.solve()

    def _set_locks(self, locks: pd.DataFrame) -> None:
        """New locks, remembered for undo, shown in the Locks box."""
        self._history.append(("locks", self._lock_df))
        self._lock_probation = self._lock_df
        self._lock_df = locks
        self._show_locks()

    def _show_locks(self) -> None:
        self._locks.value = "\n".join(a if pd.isna(m) else f"{a},{m}" for a, m in
                                       zip(self._lock_df["account_id"], self._lock_df["manager_id"], strict=True))

    @guarded()
    def _keep(self, account_id: str) -> None:
        """Veto a move from the table: lock the account (its family) with its current owner and re-solve."""
        if not account_id:
            return
        locks = self._lock_df[self._lock_df["account_id"] != account_id]
        self._set_locks(normalise_locks(pd.concat([locks, pd.DataFrame({"account_id": [account_id],
                                                                         "manager_id": [pd.NA]})])))
        self.solve()

    def _redirect(self, account_id: str) -> None:
        """Start an override from the table: the account goes into the override field, the panel opens."""
        if not account_id:
            return
        self._ovr_account.value = account_id
        self._what_if.selected_index = 0
        self._msg.show(f"Choose who takes {account_id} under 'Locks, overrides and events', then press Override.",
                       "info")

    # ---------------------------------------------------------------- the work
    def params(self) -> dict:
        """The allocate parameters the controls describe (what ``reallocate`` receives)."""
        balance_on = None if self._balance_on.value == "none" else self._balance_on.value
        out = {"band": _share(self._band),
               "max_move_share": _share(self._limit) if self._limit_on.value else None,
               "move_share_of": self._limit_of.value, "balance_on": balance_on,
               "balance_band": _share(self._balance_band), "candidates": int(self._cand.value),
               "weights": {k: float(s.value) for k, s in self._w.items()}}
        if self._mode.value != "auto":  # the engine's default stays implicit, as in scenarios saved before
            out["mode"] = self._mode.value
        if len(self._lock_df):
            out["locks"] = self._lock_df.astype(object).where(self._lock_df.notna(), None).to_dict("records")
        if self._events:
            out["events"] = list(self._events)
        return out

    @guarded()
    def solve(self) -> bool | None:
        """Re-solve with the current controls; ``False`` when the inputs were refused (message shown). A book of
        more than ``BACKGROUND_ACCOUNTS`` accounts is solved in a background thread and this returns ``None`` at
        once (``wait()`` blocks until the plan is drawn)."""
        book, seg = self.state.book, self.state.segmentation
        if seg is not None and book is not None and not _same_accounts(book, seg):
            self._msg.show("The segmentation belongs to another book; waiting for the book's segmentation.", "info")
            return None
        if book is None or seg is None:
            self._msg.show("Segment the book first: the reallocation needs the coverage model.", "info")
            return None
        self._sync_options(book)
        p = self.params()
        if book.n_accounts <= BACKGROUND_ACCOUNTS and _quick(p):
            return self._solve(book, seg, p)
        # the latest request wins: changes made while a solve runs replace each other, and the plan of a request
        # that was overtaken is dropped, so a burst of slider moves costs one more solve, not one per move
        with self._jobs:
            self._job = (book, seg, p)
            start = self._worker is None
            if start:
                self._worker = threading.Thread(target=self._work, name="reallocate", daemon=True)
        how = "Re-solving" if _quick(p) else f"Searching harder ({p['mode']}) over"
        self._msg.show(f"{how} {book.n_accounts:,} accounts in the background; the plan below updates when it "
                       "is done, and you can keep adjusting meanwhile.")
        self._tabs.add_class("wb-stale")  # what is drawn is the previous plan until this one arrives
        if start:
            self._progress(_STAGE_TEXT["prices"], 0.0)
            self._worker.start()
        return None

    def _on_stage(self, stage: str, fraction: float) -> None:
        """The solver's ``progress`` callback (background solves): move the bar and name the stage in words."""
        prefix, _, name = stage.rpartition(": ")
        text = _STAGE_TEXT.get(name, name)
        self._progress(f"{prefix} — {text}" if prefix else text, fraction)

    def _progress(self, text: str, fraction: float) -> None:
        self._solve_bar.value = int(round(100 * min(max(fraction, 0.0), 1.0)))
        self._solve_stage.value = f'<span class="wb-muted">Plan search: {html.escape(text)}</span>'
        self._solve_progress.layout.display = ""

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background re-solve has finished and its plan is drawn (scripts and tests)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def _work(self) -> None:
        try:
            while True:
                with self._jobs:
                    job, self._job = self._job, None
                    if job is None:
                        # under the lock: a request arriving from now on starts a new worker
                        self._worker = None
                        self._tabs.remove_class("wb-stale")
                        self._solve_progress.layout.display = "none"
                        return
                self._solve(*job)
        except BaseException:
            with self._jobs:
                self._worker = None
            self._solve_progress.layout.display = "none"
            raise

    @guarded()
    def _solve(self, book, seg, p: dict) -> bool | None:
        self.state.busy = True
        inline = book.n_accounts <= BACKGROUND_ACCOUNTS and _quick(p)
        if inline:
            self._msg.show("Re-solving …")
        try:
            asg = reallocate(book, seg, **p, progress=None if inline else self._on_stage)
        except ValueError as exc:
            if self._probation is not None and self._probation in self._events:
                self._events.remove(self._probation)  # a refused event must not poison later solves
            if self._lock_probation is not None:  # nor a refused lock (onto a manager who leaves, say)
                self._lock_df = self._lock_probation
                self._show_locks()
                if self._history and self._history[-1][0] == "locks":
                    self._history.pop()
            self._probation = self._lock_probation = None
            self._msg.show(f"Could not apply this: {exc}", "error")
            done = self._solved_for
            if done is None or done[0] is not book or done[1] is not seg:  # another book's plan must go
                self._clear_plan()  # off screen (and out of the KPIs)
            return False
        finally:
            self.state.busy = False
        self._probation = self._lock_probation = None
        if self._job is not None or self.state.book is not book or self.state.segmentation is not seg:
            return None  # overtaken by a newer request or new inputs: that one draws
        # locks, events and a solver the controls no longer hold must leave the parameters too (set_section only
        # adds keys): cleared events or an undone last lock used to stay in state.params, and so in a saved scenario
        self.state.replace_section("allocate", p, drop=("locks", "events", "mode"))
        self._solved, self._solved_for = asg, (book, seg)
        self.state.assignment = asg
        self._render(asg)
        return True

    @guarded()
    def compare_bands(self, bands=DEFAULT_BANDS, wait: bool = False) -> None:
        """Re-solve at each band in ``bands`` with the other settings as they are (the move limit left out) and
        chart accounts moved and imbalance left against the band. Runs in a background thread so the page stays
        usable (about 12 s on 2,000 accounts, 3 minutes on a generated 100,000-account book, most of it the ±5 %
        band); ``wait=True`` blocks (scripts)."""
        book, seg = self.state.book, self.state.segmentation
        if book is None or seg is None:
            self._msg.show("Segment the book first: the reallocation needs the coverage model.", "info")
            return
        if self._trade_thread is not None and self._trade_thread.is_alive():
            self._msg.show("The band comparison is still running.", "info")
            return
        settings = sweep_settings(self.params())
        self._trade_btn.disabled = True
        self._trade_bar.value, self._trade_bar.layout.display = 0, ""
        self._trade_thread = threading.Thread(target=self._compare_bands, args=(book, seg, tuple(bands), settings),
                                              name="band-tradeoff", daemon=True)
        self._trade_thread.start()
        if wait:
            self._trade_thread.join()

    @guarded()
    def _compare_bands(self, book, seg, bands: tuple, settings: dict) -> None:
        def progress(stage: str, fraction: float) -> None:
            self._trade_bar.value = int(round(100 * fraction))
            self._trade_bar.description = stage[:12]

        try:
            table = band_tradeoff(book, seg, bands=bands, progress=progress, **settings)
        except ValueError as exc:
            self._msg.show(f"Could not compare bands: {exc}", "error")
            return
        finally:
            self._trade_btn.disabled = False
            self._trade_bar.layout.display = "none"
        self.tradeoff, self._trade_settings = table, (seg, settings)
        self._show_tradeoff()

    def _show_tradeoff(self) -> None:
        """Draw the last band comparison with the band set now; say so when other settings changed since."""
        table, (seg, settings) = self.tradeoff, self._trade_settings
        self._trade_chart.show(tradeoff_chart(table, band=_share(self._band)))
        shown = table.assign(band=(table["band"] * 100).map("±{:.1f} %".format),
                             revenue_moved_share=table["moved_share_revenue"].map("{:.1%}".format),
                             managers_in_band=table["managers_in_band"].astype(str) + " of "
                             + table["active_managers"].astype(str),
                             imbalance_after=table["gini_after"].map("{:.3f}".format),
                             # a plan that misses the band pays a penalty per hour outside it: no money figure
                             plan_cost=table["plan_cost"].map("{:,.0f}".format).where(table["feasible"], "—"))
        cost_col = f"plan cost ({getattr(self.state.book, 'currency', 'EUR')})"
        # every owner change, first owners of unowned accounts included (the KPI "Accounts moved" counts owned only)
        shown = shown.rename(columns={"plan_cost": cost_col, "accounts_moved": "owner_changes"})
        shown["meets_band"] = table["feasible"].map({True: "yes", False: "no"})
        self._trade_table.value = table_html(shown[["band", "meets_band", "owner_changes", "revenue_moved_share",
                                                    "managers_in_band", "imbalance_after", cost_col]],
                                             max_rows=len(shown))
        if seg is not self.state.segmentation or sweep_settings(self.params()) != settings:
            self._trade_note.value = ('<span class="wb-msg-warning">The segmentation or the settings (weights, '
                                      'locks, events, second band) changed since this comparison: press Compare '
                                      'bands again.</span>')
            return
        if not table["feasible"].any():
            self._trade_note.value = (
                f'<span class="wb-msg-warning">No band from ±{table["band"].min():.0%} to ±{table["band"].max():.0%} '
                "can be met with these settings, so the table shows the closest plans (no cost: theirs would only "
                f"measure the hours outside the band). At ±{table['band'].max():.0%}: "
                f'{html.escape(str(table["diagnosis"].iloc[-1]))}</span>')
            return
        n_ev = len(settings.get("events") or [])
        used = f"weights, locks and {n_ev} event(s) as set above" if n_ev else "weights and locks as set above"
        self._trade_note.value = (f'<span class="wb-muted">{len(table)} plans in {table["seconds"].sum():.1f} s '
                                  f"({used}, no move limit). Owner changes include unowned accounts that get "
                                  "a first owner. A wider band never costs more: where a narrower band's plan meets "
                                  "every setting and is cheaper, it stands for the wider one too (plan from band).</span>")

    @guarded()
    def crm_file(self) -> tuple[str, bytes]:
        """Build the CRM file chosen under Moves for the plan shown and offer it as a download link (Voilà serves
        no files); returns its name and bytes. Moves without a CRM id (a new hire, an account typed in by hand)
        are left out of the import files and offered as ``needs_source_ids.csv`` beside them."""
        asg, book = self.state.assignment, self.state.book
        if asg is None or book is None:
            raise ValueError("There is no plan yet: segment the book first.")
        if asg.stats.get("status") == "infeasible":
            # as on the command line: a plan that breaks the band or the move limit is not handed to the CRM
            self._crm_link.value = ""
            self._msg.show("No CRM file for this plan: it misses a setting (the band, the move limit or a lock; "
                           f"see why below). Relax that setting first. {asg.stats.get('diagnosis', '')}", "error")
            return None
        choice = self._crm.value
        if choice not in (*SYSTEMS, "plain", "all"):  # a viewer can send any value over the websocket
            raise ValueError("Choose a CRM from the list.")
        systems = (*SYSTEMS, "plain") if choice == "all" else (choice,)
        files = move_files(asg, book, systems)
        if choice == "all":
            name, data, mime = "crm_move_files.zip", move_files_zip(asg, book, systems), "application/zip"
        else:
            name = next(iter(files))
            data, mime = files[name].to_csv(index=False).encode("utf-8"), "text/csv"
        links = [download_link(name, data, mime)]
        missing = files.get(MISSING_IDS)
        note = f"{len(files[name]) if choice != 'all' else len(asg.moves):,} owner changes"
        if missing is not None and choice not in ("all", "plain"):
            links.append(download_link(MISSING_IDS, missing.to_csv(index=False).encode("utf-8"), "text/csv"))
        if missing is not None and choice != "plain":
            note += (f"; {len(missing):,} moves have no CRM id for the account or its new owner (ids the import "
                     "generated, managers known by name only, a new hire) and are listed in "
                     f"{MISSING_IDS} instead: find or create those records in the CRM first")
        self._crm_link.value = " ".join(links) + f' <span class="wb-muted">{html.escape(note)}.</span>'
        return name, data

    def _fill_edit_rows(self, mv: pd.DataFrame) -> None:
        """The largest moves of owned accounts (after the filters), one row each with Keep / Give to buttons."""
        owned = mv[mv["from_manager"].notna()].sort_values("revenue_12m", ascending=False, kind="stable")
        top = owned.head(len(self._edit_rows))
        cur = self.state.book.currency if self.state.book is not None else ""
        self._edit_head.value = ('<div class="wb-moves-count"><b>Largest moves</b>: keep an account with its owner '
                                 "(a lock) or give it to someone else (an override); the plan re-solves.</div>"
                                 if len(top) else "")
        cols = ["account_id", "segment", "from_manager", "from_name", "to_name", "revenue_12m"]
        recs = top[cols + (["account"] if "account" in top else [])].to_dict("records")
        leavers = set(_leavers(self.state.assignment))
        for row, rec in zip(self._edit_rows, recs + [None] * (len(self._edit_rows) - len(recs)), strict=True):
            if rec is None:
                row.account_id, row.layout.display = "", "none"
                continue
            row.account_id = str(rec["account_id"])
            text, keep, _ = row.children
            seg = "" if pd.isna(rec["segment"]) else str(rec["segment"])
            name = str(rec.get("account") or row.account_id)
            label = (f"<b>{html.escape(name)}</b> <code>{html.escape(row.account_id)}</code>" if name != row.account_id
                     else f"<b>{html.escape(row.account_id)}</b>")
            text.value = (f"{label} {html.escape(seg)}: "
                          f"{html.escape(str(rec['from_name']))} → {html.escape(str(rec['to_name']))}, "
                          f"{fmt_kpi(rec['revenue_12m'], cur)}")
            leaving = str(rec["from_manager"]) in leavers
            keep.description = (f"{str(rec['from_name'])[:22]} leaves" if leaving
                                else f"Keep with {str(rec['from_name'])[:22]}")
            keep.disabled = leaving  # a lock onto a manager who leaves is refused by the engine
            row.layout.display = None

    def _sync_options(self, book) -> None:
        m = book.managers
        opts = sorted(zip(manager_labels(m["manager_id"], m["name"]), m["manager_id"].astype(str), strict=True),
                      key=lambda o: sort_key(o[0]))
        hires = [(f"{e.get('name')} (new)", e.get("manager_id") or f"NEW-{j + 1}")
                 for j, e in enumerate(x for x in self._events if x.get("type") == "hire")]
        # who leaves and who takes an account are deliberate choices: a prompt first, not a preselected manager
        pick = [(_PICK, "")]
        if [o[1] for o in self._leave.options] != [o[1] for o in pick + opts]:
            self._leave.options = pick + opts
        if [o[1] for o in self._ovr_manager.options] != [o[1] for o in pick + opts + hires]:
            self._ovr_manager.options = pick + opts + hires
        for box in (self._leave, self._ovr_manager):
            if box.value is None:  # ipywidgets selects nothing when the options change
                box.value = ""
        # a hire's role and region start at the most common ones of the team (usually what is being hired)
        for box, col in ((self._hire_role, "role"), (self._hire_region, "region")):
            values = m[col].dropna().astype(str) if col in m else pd.Series(dtype=str)
            choices = sorted(values.unique())
            if list(box.options) != choices:
                box.options = choices
            if box.value is None and choices:
                box.value = values.value_counts().sort_index(kind="stable").idxmax()

    def _render(self, asg) -> None:
        s = asg.stats
        self._crm_link.value = ""  # a file built for the previous plan must not be downloaded for this one
        level = _STATUS_LEVEL.get(s["status"], "info")
        dropped, self._dropped = self._dropped, ""
        if s["status"] == "infeasible":
            self._msg.show(f"No plan meets every constraint. {s['diagnosis']} {dropped}".strip(), "error")
        else:
            summary = (f"{moves_summary(asg)}; {s['managers_in_band_after']} of "
                       f"{s['active_managers']} managers inside the band (before: {s['managers_in_band_before']}).")
            if "managers_in_aux_band_after" in s:
                summary += (f" {s['managers_in_aux_band_after']} of {s['active_managers']} inside the "
                            f"{asg.params['balance_on']} band (before: {s['managers_in_aux_band_before']}).")
            if dropped:
                summary += f" {dropped}"
            if s.get("diagnosis"):
                self._msg.show(f"{summary} Note: {s['diagnosis']}", "warning")
            else:
                self._msg.show(summary, "warning" if dropped else level)
        assumed = s.get("assumed") or []
        self._assumed.value = ('<div class="wb-msg wb-msg-warning">Assumed, not from the data: '
                               + html.escape("; ".join(assumed)) + ". The plan balances these assumed hours.</div>"
                               if assumed else "")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in s.get("notes", []))
        # a plan that misses the band pays a penalty per hour outside it: its cost and gap (often "100 %") would
        # only measure that penalty
        quality = (f'cost {s["objective"]:,.0f}, lower bound {s["lower_bound"]:,.0f}, gap {s["gap"]:.2%}'
                   if s["status"] != "infeasible" else "the closest plan to the band (its cost counts every hour "
                   "outside the band at a penalty, so no gap is shown)")
        stopped = ("" if s["status"] != "infeasible" or asg.params.get("mode", "auto") == "auto" else
                   " The thorough search stops at the first plan when no plan meets every setting: there is nothing "
                   "to improve within them until one is relaxed.")
        self._stats.value = (
            f'<div class="wb-alloc-stats">Moved: {s["moved_share_accounts"]:.1%} of owned accounts, '
            f'{s["moved_share_revenue"]:.1%} of their revenue{_limit_text(asg.params)}.{html.escape(stopped)}</div>'
            + (f"<ul>{notes}</ul>" if notes else "")
            # the solver's own figures are for whoever checks the plan's quality, not for the room
            + f'<details class="wb-alloc-tech"><summary>Plan search details</summary>Solver '
              f'{html.escape(s["solver"])}: {quality}, {s["seconds"]:.2f} s.</details>')
        ev = [event_text(e, self._event_names(asg)) for e in self._events]
        nl = len(self._lock_df)
        self._events_html.value = html.escape("; ".join(ev + ([f"{nl} lock(s)"] if nl else [])) or "no events")
        self._undo_btn.disabled = not (self._events or self._history)
        self._chart.show(workload_chart(asg.loads, band=float(asg.params.get("band", _share(self._band)))))
        quantity = asg.params.get("balance_on")
        if quantity and "aux_after" in asg.loads:
            self._aux_chart.show(balance_chart(asg.loads, quantity, band=float(asg.params["balance_band"])))
            self._aux_chart.layout.display = None
        else:
            self._aux_chart.layout.display = "none"
        self._stale = {"reasons", "regions"} | ({"tradeoff"} if self.tradeoff is not None else set())
        self._render_stale()
        codes = asg.moves["reason_code"].dropna().astype(str).unique()
        reasons = [(_ALL, _ALL)] + sorted((reason_label(c), c) for c in codes)
        segs = [_ALL] + sorted(asg.moves["segment"].dropna().astype(str).unique())
        if [tuple(o) for o in self._reason.options] != reasons:
            self._reason.options = reasons
        if list(self._segment.options) != segs:
            self._segment.options = segs
        ids = pd.unique(pd.concat([asg.moves["from_manager"], asg.moves["to_manager"]]).dropna().astype(str))
        names = _manager_names(asg.loads).reindex(ids).fillna(pd.Series(ids, index=ids))
        movers = [(_ALL, "")] + sorted(zip(manager_labels(pd.Series(ids), pd.Series(names.to_numpy())), ids,
                                           strict=True), key=lambda o: sort_key(o[0]))
        if list(self._mover.options) != movers:
            keep = self._mover.value
            self._mover.options = movers
            if keep and keep in ids:  # still in the plan: the filter stays (it silently went back to "(all)")
                self._mover.value = keep
        cols = ["manager_id", "name", "role", "target_hours", "band_low", "band_high", "hours_before", "hours_after",
                "accounts_before", "accounts_after", "revenue_before", "revenue_after", "in_band_after"]
        table = asg.loads[cols]
        if quantity and "aux_after" in asg.loads:
            # the balanced quantity's target, band and after-value, named after it (revenue_before is shown already)
            names = {"aux_target": f"{quantity}_target", "aux_lower": f"{quantity}_band_low",
                     "aux_upper": f"{quantity}_band_high", "aux_before": f"{quantity}_before",
                     "aux_after": f"{quantity}_after", "aux_in_band_after": f"{quantity}_in_band_after"}
            extra = asg.loads[list(names)].rename(columns=names)
            table = pd.concat([table, extra.drop(columns=[c for c in extra if c in table])], axis=1)
        flags = [c for c in table if table[c].dtype == bool]  # "in band after": yes / no, not True / False
        table = table.assign(**{c: table[c].map({True: "yes", False: "no"}) for c in flags})
        if "status" in asg.loads:  # a leaver has no band: "in band: yes" beside the KPI that leaves them out misled
            gone = asg.loads["status"].eq("leaves").to_numpy(bool)
            table.loc[gone, [c for c in flags if c.startswith("in_band")]] = "— (leaves)"
        # the last 12 months (the KPI step projects the next 12): say which
        table = table.rename(columns={"revenue_before": "revenue_last_12m_before",
                                      "revenue_after": "revenue_last_12m_after"})
        self._loads.value = table_html(table.sort_values("hours_before", ascending=False), max_rows=50)
        self._render_moves()

    def _clear_plan(self) -> None:
        """No plan for the book shown: drop the last one from the state (the KPIs follow) and from this view."""
        self._solved = self._solved_for = None
        self.state.assignment = None
        for pane in (self._chart, self._aux_chart, self._reason_chart, self._region_chart):
            pane.value = ""
        self._stats.value = self._moves.value = self._loads.value = self._crm_link.value = self._assumed.value = ""
        for row in self._edit_rows:
            row.account_id, row.layout.display = "", "none"
        self._edit_head.value = ""

    def render_all(self) -> None:
        """Draw every chart now, including those on tabs not opened yet (for exports and tests)."""
        self._render_stale(force=True)

    @guarded()
    def _render_stale(self, force: bool = False) -> None:
        asg = self.state.assignment
        if asg is None:
            return
        tab = self._tabs.selected_index
        if "reasons" in self._stale and (force or tab == 1):
            self._reason_chart.show(moves_by_reason_chart(asg.moves))
            self._stale.discard("reasons")
        if "regions" in self._stale and (force or tab == 3):
            acc = self.state.book.accounts
            if "region" not in acc or not acc["region"].notna().any():
                self._region_chart.value = ('<p class="wb-muted">The accounts have no region, so there is no view by '
                                            "region (map a Region column at import to get one).</p>")
            else:
                self._region_chart.show(region_chart(asg.owners, acc, asg.loads))
            self._stale.discard("regions")
        if "tradeoff" in self._stale and (force or tab == 4):
            self._show_tradeoff()
            self._stale.discard("tradeoff")

    def _render_moves(self) -> None:
        asg = self.state.assignment
        if asg is None:
            self._moves.value = ""
            return
        mv = asg.moves
        if self._reason.value and self._reason.value != _ALL:
            mv = mv[mv["reason_code"] == self._reason.value]
        if self._segment.value and self._segment.value != _ALL:
            mv = mv[mv["segment"] == self._segment.value]
        head = ""
        if self._mover.value:  # what this manager hands over and receives (within the other filters)
            m = self._mover.value
            fr = mv["from_manager"].astype("string").eq(m).fillna(False).to_numpy(bool)
            to = mv["to_manager"].astype("string").eq(m).fillna(False).to_numpy(bool)
            rev = pd.to_numeric(mv["revenue_12m"], errors="coerce").fillna(0.0).to_numpy(float)
            cur = self.state.book.currency if self.state.book is not None else ""
            who = html.escape(_manager_names(asg.loads).get(m, m))
            head = (f'<div class="wb-moves-count"><b>{who}</b> hands over {int(fr.sum()):,} accounts '
                    f"({fmt_kpi(rev[fr].sum(), cur)} revenue) and receives {int(to.sum()):,} "
                    f"({fmt_kpi(rev[to].sum(), cur)}).</div>")
            mv = mv[fr | to]
        mv = mv.assign(account=self._account_names(mv["account_id"]))
        self._fill_edit_rows(mv)
        # the name, not the id (the CRM files carry the ids): an id column squeezed the reasons off the card
        cols = ["account", "segment", "from_name", "to_name", "revenue_12m", "reason"]
        # the count in the same words as the summary and the KPI strip (owner changes, a leaver's handovers and
        # first owners apart), so "524 moves" does not stand unexplained beside "Accounts moved 263"
        count = f"{len(mv):,} moves" + (f": {moves_summary(mv, _leavers(asg))}" if len(mv) else "")
        self._moves.value = (head + f'<div class="wb-moves-count">{html.escape(count)}</div>'
                             + table_html(mv.sort_values("revenue_12m", ascending=False)[cols], max_rows=40,
                                          wrap_last=True))

    def _event_names(self, asg) -> dict[str, str]:
        """Names for the events' words: managers (hires included) and the accounts an override names."""
        names = _manager_names(asg.loads).to_dict()
        ids = [str(e.get("account_id")) for e in self._events if e.get("account_id")]
        if ids:
            names.update(self._account_names(pd.Series(ids)).set_axis(ids).to_dict())
        return names

    def _account_names(self, ids: pd.Series) -> pd.Series:
        """Account name by id (the id itself where the book has no name): people know customers by name."""
        book = self.state.book
        ids = ids.astype("string")
        if book is None or "name" not in book.accounts:
            return ids
        names = book.accounts.drop_duplicates("account_id").set_index(
            book.accounts.drop_duplicates("account_id")["account_id"].astype("string"))["name"].astype("string")
        out = ids.map(names)
        return out.where(out.notna() & out.str.strip().ne(""), ids)


#: The solver's stages (``workbench.allocate.solver.solve``) as a consultant would name them.
_STAGE_TEXT = {"prices": "a first plan from workload prices", "band": "more rounds to bring managers into the band",
               "chains": "exchanging accounts between managers",
               "exact parts": "exact re-solves of the most promising parts",
               "deeper parts": "deeper exact re-solves (more alternatives, whole strategic blocks)",
               "exact LP": "the exact lower bound (LP)", "LP-priced parts": "re-solves guided by the bound",
               "LP disagreements": "where the plan and the bound disagree",
               "windows": "branch and bound over groups of managers",
               "core": "branch and bound over the cheapest alternatives",
               "plan tables": "moves, reasons and the before/after table", "done": "done"}


def _percent_slider(share, low: float, high: float, description: str, style: dict, width: str,
                    step: float = 1) -> w.FloatSlider:
    """A slider for a share, in percent (what its readout shows is what a typed number means)."""
    return w.FloatSlider(value=_percent(share), min=low, max=high, step=step, description=description,
                         readout_format=".0f", continuous_update=False, style=style, layout=w.Layout(width=width))


def _percent(share) -> float:
    """A share (0.15) as the percent a slider shows (15.0)."""
    return round(100 * float(share), 2)


def _share(slider: w.FloatSlider) -> float:
    """A percent slider's value as the share the engine takes (15 → 0.15)."""
    return round(float(slider.value) / 100, 4)


def _quick(params: dict) -> bool:
    """Whether ``params`` ask for the quick solver (the engine's default, ``auto``)."""
    return params.get("mode", "auto") == "auto"


def _modes(mode: str | None) -> list[tuple[str, str]]:
    """The plan-search choices; a scenario made with another solver (``deep`` from the command line, say) keeps
    its own as a third choice, so loading it neither changes nor loses it."""
    out = [("Quick", "auto"), ("Thorough", "thorough")]
    return out + ([(mode.capitalize(), mode)] if mode and mode not in ("auto", "thorough") else [])


def _limit_text(params: dict) -> str:
    share = params.get("max_move_share")
    if share is None:
        return ""
    unit = "owned revenue" if params.get("move_share_of") == "revenue" else "owned accounts"
    return f" (limit {float(share):.0%} of {unit})"


def _leavers(asg) -> list[str]:
    """Ids of the managers who leave in a plan (none without one)."""
    if asg is None or "status" not in asg.loads:
        return []
    return asg.loads.loc[asg.loads["status"].eq("leaves"), "manager_id"].astype(str).tolist()


def _manager_names(loads: pd.DataFrame) -> pd.Series:
    """Manager name by id (text), from an assignment's ``loads``."""
    return loads["name"].astype(str).set_axis(loads["manager_id"].astype(str))


def _same_accounts(book, seg) -> bool:
    """The segmentation labels the accounts of this book (a new book arrives before its segmentation does)."""
    labels = seg.labels["account_id"]
    return len(labels) > 0 and float(labels.isin(book.accounts["account_id"]).mean()) >= 0.5

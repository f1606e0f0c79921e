"""The workshop app: a KPI strip on top and the steps Import → Segment → Reallocate → KPIs → Scenarios as tabs."""

from __future__ import annotations

import html
import os
from pathlib import Path

import ipywidgets as w

from workbench.report.format import fmt_kpi, kpi_decimals

from .common import delta_class
from .import_step import ImportStep
from .kpi_step import KpiStep
from .reallocate_step import ReallocateStep
from .scenario_step import ScenarioStep
from .segment_step import SegmentStep
from .state import WorkbenchState

__all__ = ["WorkshopApp", "default_book_path"]

_STRIP_KPIS = ("revenue_12m", "accounts_moved", "workload_imbalance", "managers_in_band")


def default_book_path() -> Path:
    """``$WORKBENCH_BOOK`` if set, else the project's ``sample_data`` folder."""
    env = os.environ.get("WORKBENCH_BOOK")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[1] / "sample_data"
    return here if here.exists() else Path.cwd() / "sample_data"


class KpiStrip(w.HTML):
    """Headline KPIs, baseline → scenario, always visible above the steps."""

    def __init__(self, state: WorkbenchState, **kwargs):
        super().__init__(**kwargs)
        self.state = state
        self.add_class("wb-kpi-strip")
        state.observe(self._render, names=["projection", "book"])
        self._render()

    def _render(self, _change=None) -> None:
        proj, book = self.state.projection, self.state.book
        if proj is None:
            if book is None:
                text = "Load a book to see the projected effect."
            elif not len(book.managers):
                text = ("This book has no managers: the projection compares a plan with today, and a plan needs "
                        "managers (import a managers file, or accounts with an owner column).")
            else:
                text = "Segment the book and make a plan (steps 2 and 3) to see the projected effect."
            self.value = f'<div class="wb-kpis wb-empty">{html.escape(text)}</div>'
            return
        cards = []
        for key in _STRIP_KPIS:
            k = proj.kpis.get(key)
            if not k:
                continue
            delta = k["delta"]
            cls = delta_class(key, delta)
            dec = kpi_decimals(k["baseline"], k["scenario"], delta)
            cards.append(
                f'<div class="wb-kpi" data-kpi="{key}"><div class="wb-kpi-label" title="{html.escape(k["label"])}">'
                f'{html.escape(k["label"])}</div>'
                f'<div class="wb-kpi-value">{fmt_kpi(k["scenario"], k["unit"], decimals=dec)}</div>'
                f'<div class="wb-kpi-delta wb-{cls}">{fmt_kpi(delta, k["unit"], sign=True, decimals=dec)} vs baseline '
                f'{fmt_kpi(k["baseline"], k["unit"], decimals=dec)}</div>{_aside(key, proj.kpis)}</div>')
        self.value = f'<div class="wb-kpis">{"".join(cards)}</div>'


def _aside(key: str, kpis: dict) -> str:
    """What a card leaves out, where another screen counts it: "Accounts moved" counts owner changes of owned
    accounts, while the step's summary and the move list also count a leaver's handovers and first owners (the
    review saw 263 here beside "524 moves")."""
    if key != "accounts_moved":
        return ""
    extra = [f"{int(round(kpis[k]['scenario'])):,} {what}" for k, what in
             (("accounts_from_leavers", "handed over from leavers"), ("unowned_assigned", "first owners"))
             if kpis.get(k) and round(kpis[k]["scenario"])]
    return f'<div class="wb-kpi-aside">not counted: {html.escape(", ".join(extra))}</div>' if extra else ""


class WorkshopApp(w.VBox):
    """The one-page workshop app. ``WorkshopApp(book_path)`` loads that book folder at start; scenarios are saved
    to ``store_path`` (default: ``$WORKBENCH_STORE`` or ``workspace/scenarios.sqlite``)."""

    def __init__(self, book_path: str | Path | None = None, state: WorkbenchState | None = None,
                 store_path: str | Path | None = None, **kwargs):
        super().__init__(**kwargs)
        self.state = state or WorkbenchState()
        self.import_step = ImportStep(self.state)
        self.segment_step = SegmentStep(self.state)
        self.reallocate_step = ReallocateStep(self.state)
        self.kpi_step = KpiStep(self.state)
        self.scenario_step = ScenarioStep(self.state, store_path=store_path)
        self.tabs = w.Tab(children=[self.import_step, self.segment_step, self.reallocate_step, self.kpi_step,
                                    self.scenario_step],
                          titles=["1 · Import", "2 · Segment", "3 · Reallocate", "4 · KPIs", "5 · Scenarios"])
        title = w.HTML('<div class="wb-title">Restructure Workbench</div>')
        self.children = [title, KpiStrip(self.state), self.tabs]
        self.add_class("wb-app")
        path = book_path if book_path is not None else default_book_path()
        if path:
            self.import_step.load(str(path))

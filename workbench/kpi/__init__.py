"""KPI projection: explicit assumptions → baseline vs scenario KPIs over a horizon, with Monte Carlo bands.

``project(book, segmentation, assignment, ...)`` is what the pipeline calls; ``KpiModel`` is the compiled
form for fast recomputation after an assumption change; ``backtest`` checks the baseline against held-out
history; ``track_pilot`` compares actuals after a roll-out with the projection; ``BGBB`` is the purchase-history
model behind the ``clv_bgbb`` KPI.
"""

from ..assumptions import Assumption, Assumptions
from .backtest import Backtest, backtest
from .baseline import Baseline, fit_baseline, history_matrix
from .bgnbd import BGBB, rfm_from_matrix
from .model import KPI_LABELS, KpiModel, as_assumptions, current_kpis, gini, outside_band, project
from .pilot import PilotReport, track_pilot

__all__ = ["project", "KpiModel", "KPI_LABELS", "Assumptions", "Assumption", "as_assumptions", "gini",
           "outside_band", "current_kpis",
           "Baseline", "fit_baseline", "history_matrix", "Backtest", "backtest",
           "PilotReport", "track_pilot", "BGBB", "rfm_from_matrix"]

"""Reallocation engine: optimised, explainable owner assignment with capacity, balance bands, continuity, locks
and what-if events (``reallocate``), on top of an array-level solver (``workbench.allocate.solver``)."""

from .assumptions import ASSUMPTIONS
from .engine import (
    DEFAULT_WEIGHTS,
    REASON_LABELS,
    InfeasibleError,
    assumed_inputs,
    moves_summary,
    normalise_locks,
    parse_event,
    reallocate,
    reason_label,
)
from .tradeoff import band_tradeoff

__all__ = ["reallocate", "band_tradeoff", "InfeasibleError", "DEFAULT_WEIGHTS", "ASSUMPTIONS", "parse_event", "normalise_locks",
           "REASON_LABELS", "reason_label", "moves_summary", "assumed_inputs"]

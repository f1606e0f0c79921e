"""Restructure Workbench domain core: import → harmonise → segment → reallocate → project → scenarios.

The core never imports ipywidgets, IPython or voila: every function here works in a batch job.
"""

# The stage functions are bound after their subpackages are imported: `workbench.segment` is both a
# subpackage and the function users call, and the function must win.
from .allocate import reallocate
from .book import AccountBook, BookError, ImportReport, load_book, save_book
from .kpi import project
from .pipeline import run
from .results import Assignment, Projection, RunResult, Segmentation
from .segment import segment

__version__ = "0.1.0"

__all__ = [
    "AccountBook", "BookError", "ImportReport", "load_book", "save_book",
    "Segmentation", "Assignment", "Projection", "RunResult",
    "segment", "reallocate", "project", "run",
]


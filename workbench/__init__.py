"""Restructure Workbench domain core: import → harmonise → segment → reallocate → project → scenarios.

The core never imports ipywidgets, IPython or voila: every function here works in a batch job.
"""

from .book import AccountBook, BookError, ImportReport, load_book, save_book
from .results import Assignment, Projection, RunResult, Segmentation

__version__ = "0.1.0"

__all__ = [
    "AccountBook", "BookError", "ImportReport", "load_book", "save_book",
    "Segmentation", "Assignment", "Projection", "RunResult",
    "segment", "reallocate", "project", "run",
]


def __getattr__(name: str):
    # Stage functions are imported lazily so that `import workbench` stays fast for the CLI and widgets.
    if name == "segment":
        from .segment import segment
        return segment
    if name == "reallocate":
        from .allocate import reallocate
        return reallocate
    if name == "project":
        from .kpi import project
        return project
    if name == "run":
        from .pipeline import run
        return run
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")

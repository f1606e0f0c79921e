"""The Import step: choose a book folder, load it, show what was read, accepted and rejected."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w

from workbench.book import load_book
from workbench.report.charts import revenue_concentration

from .charting import ChartPane
from .common import MessageBox, guarded, step_header, table_html
from .state import WorkbenchState

__all__ = ["ImportStep"]


class ImportStep(w.VBox):
    """Load a canonical book folder into ``state.book``."""

    def __init__(self, state: WorkbenchState, **kwargs):
        super().__init__(**kwargs)
        self.state = state
        self._path = w.Text(value=state.book_path, description="Book folder", layout=w.Layout(width="60%"),
                            style={"description_width": "initial"})
        self._load = w.Button(description="Load", button_style="primary", icon="folder-open")
        self._msg = MessageBox()
        self._summary = w.HTML()
        self._chart = ChartPane()
        self._table = w.HTML()
        self._load.on_click(lambda _: self.load())
        self.children = [step_header("1 · Import", "Load the accounts, managers and revenue history."),
                         w.HBox([self._path, self._load]), self._msg, self._summary,
                         w.HBox([self._chart, self._table])]
        self.add_class("wb-step")

    @guarded()
    def load(self, path: str | None = None) -> None:
        folder = Path(path or self._path.value).expanduser()
        self._path.value = str(folder)
        self._msg.show(f"Loading {folder} …")
        book = load_book(folder)
        self.state.book_path = str(folder)
        self.state.book = book
        rep = book.report
        level = "warning" if rep.rows_rejected or rep.warnings else "ok"
        self._msg.show(f"Loaded {folder.name}: {rep.rows_read:,} rows read, {rep.rows_accepted:,} accepted, "
                       f"{rep.rows_rejected:,} rejected.", level)
        warn = "".join(f"<li>{w_}</li>" for w_ in rep.warnings)
        self._summary.value = f"<p>{book.summary()}</p>" + (f"<ul>{warn}</ul>" if warn else "")
        self._chart.show(revenue_concentration(book.accounts))
        cols = [c for c in ("account_id", "name", "city", "industry", "revenue_12m", "owner_id") if c in book.accounts]
        self._table.value = table_html(book.accounts.nlargest(10, "revenue_12m")[cols], max_rows=10)

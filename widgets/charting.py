"""Put Altair charts on screen without any network: static SVG by default, an opt-in interactive pane.

Static SVG (rendered in the kernel by vl-convert) works in JupyterLab and in Voilà with the network cut, needs
no front-end extension and no CDN script. ``ChartPane(interactive=True)`` instead shows the chart as Altair's
``JupyterChart`` (an anywidget) whose vega JavaScript comes bundled from vl-convert, so it also works
offline; its ``selection`` trait carries the chart's brush/click selections back to Python. Chart builders
live in ``workbench.report.charts``; this module only places them.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import altair as alt
import ipywidgets as w
import numpy as np
import pandas as pd
import traitlets as t
import vl_convert as vlc

__all__ = ["ChartPane", "InteractiveChartPane", "enable_offline_live_charts", "rows_in_selection", "to_svg"]

#: A selection coming from the browser is untrusted: cap how many values one selection may carry.
MAX_SELECTION_VALUES = 5000


def _bundle_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "restructure-workbench"


def enable_offline_live_charts() -> None:
    """``alt.JupyterChart.enable_offline()``, with the bundled vega JavaScript cached on disk.

    Bundling takes seconds in every new kernel (every Voilà visit starts one), so the bundle is kept in
    ``$XDG_CACHE_HOME/restructure-workbench`` keyed by the Altair and vl-convert versions and the widget's
    source. Any problem with the cache falls back to bundling; nothing is ever fetched from the network.
    """
    jc = alt.JupyterChart
    if getattr(jc, "_is_offline", False):
        return
    source = getattr(jc, "_esm", "")
    key = hashlib.sha256(f"{alt.__version__}|{vlc.__version__}|{source}".encode()).hexdigest()[:20]
    path = _bundle_cache_dir() / f"jupyterchart-{key}.js"
    try:
        jc._esm = path.read_text(encoding="utf-8")
        jc._is_offline = True
        return
    except OSError:
        pass
    jc.enable_offline()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so that a kernel starting at the same moment never reads half a bundle.
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as f:
            f.write(jc._esm)
        os.replace(f.name, path)
    except OSError:
        pass  # a read-only home only costs the bundling time again


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render ``chart`` to an SVG string offline."""
    return vlc.vegalite_to_svg(chart.to_dict())


class ChartPane(w.HTML):
    """A widget that shows one Altair chart as inline SVG; call ``show(chart)`` to replace it.

    ``ChartPane(interactive=True)`` returns an :class:`InteractiveChartPane` instead (same ``show``), for
    charts whose selections the view needs (e.g. a brush that lists the selected accounts).
    """

    def __new__(cls, chart: alt.TopLevelMixin | None = None, interactive: bool = False, **kwargs):
        if interactive and cls is ChartPane:
            # Not a ChartPane instance, so Python skips ChartPane.__init__ and the caller gets the live pane.
            return InteractiveChartPane(chart, **kwargs)
        return super().__new__(cls)

    def __init__(self, chart: alt.TopLevelMixin | None = None, interactive: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.add_class("wb-chart")
        if chart is not None:
            self.show(chart)

    def show(self, chart: alt.TopLevelMixin) -> None:
        self.value = f'<div class="wb-chart-svg">{to_svg(chart)}</div>'


class InteractiveChartPane(w.VBox):
    """An Altair chart rendered live in the browser (offline), exposing its selections as a trait.

    Attributes
    ----------
    selection : dict
        ``{selection name: value}`` for every selection parameter of the chart shown, updated as the
        viewer brushes or clicks. An interval selection's value is ``{field: [low, high]}`` (numbers) or
        ``{field: [category, ...]}``; a point selection's value is a list of ``{field: value}`` records;
        an empty selection is ``{}`` or ``[]``. Use :func:`rows_in_selection` to find the rows it covers.
    """

    selection = t.Dict()

    def __init__(self, chart: alt.TopLevelMixin | None = None, **kwargs):
        super().__init__(**kwargs)
        self.add_class("wb-chart")
        self.add_class("wb-chart-live")
        self._live: alt.JupyterChart | None = None
        if chart is not None:
            self.show(chart)

    def show(self, chart: alt.TopLevelMixin) -> None:
        """Show ``chart`` (replacing the current one); its selections start empty."""
        if self._live is None:
            # Only interactive panes need the vega bundle (built once, then read from the disk cache).
            enable_offline_live_charts()
            self._live = alt.JupyterChart(chart, embed_options={"renderer": "svg", "actions": False})
            self._live.observe(self._on_browser_selection, names="_vl_selections")
            self.children = [self._live]
        else:
            self._live.chart = chart
        self.selection = _clean_selections(self._live)

    def _on_browser_selection(self, _change: dict) -> None:
        self.selection = _clean_selections(self._live)


def _clean_selections(live: alt.JupyterChart) -> dict[str, Any]:
    """Selections as plain, validated Python values (what the browser sent is never trusted or evaluated)."""
    out: dict[str, Any] = {}
    for name, sel in live.selections.trait_values().items():
        value = getattr(sel, "value", None)
        if isinstance(value, Mapping):
            out[name] = {str(k): _clean_values(v) for k, v in list(value.items())[:50]}
        elif isinstance(value, list):
            out[name] = [
                {str(k): _clean_scalar(v) for k, v in rec.items()} if isinstance(rec, Mapping) else _clean_scalar(rec)
                for rec in value[:MAX_SELECTION_VALUES]
            ]
        else:
            out[name] = {}
    return out


def _clean_values(values: Any) -> list:
    if not isinstance(values, list | tuple):
        values = [values]
    return [_clean_scalar(v) for v in values[:MAX_SELECTION_VALUES]]


def _clean_scalar(v: Any) -> float | int | str | bool | None:
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return str(v)


def rows_in_selection(data: pd.DataFrame, value: Mapping | list) -> np.ndarray:
    """Boolean mask: which rows of ``data`` a selection value (from ``InteractiveChartPane.selection``) covers.

    Parameters
    ----------
    data : DataFrame
        The full table behind the chart (may hold more rows than the chart drew, e.g. all accounts of a
        sampled scatter): an interval brush is applied by value, so unsampled rows inside it count too.
    value : dict or list
        An interval value ``{field: [low, high] | [category, ...]}`` (rows must satisfy every field), or a
        point value ``[{field: value}, ...]`` (rows must match any record). Fields missing from ``data``
        select nothing. An empty selection selects nothing.

    Returns
    -------
    numpy.ndarray of bool, one per row of ``data``.
    """
    n = len(data)
    if not value:
        return np.zeros(n, dtype=bool)
    if isinstance(value, Mapping):
        mask = np.ones(n, dtype=bool)
        for field, bounds in value.items():
            if field not in data.columns or not bounds:
                return np.zeros(n, dtype=bool)
            col = data[field]
            numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
            if numeric and len(bounds) == 2 and all(isinstance(b, int | float) for b in bounds):
                lo, hi = sorted(float(b) for b in bounds)
                mask &= col.between(lo, hi).to_numpy(dtype=bool)
            else:
                mask &= col.isin(list(bounds)).to_numpy(dtype=bool)
        return mask
    records = [r for r in value if isinstance(r, Mapping)]
    fields = sorted({f for r in records for f in r})
    if not records or any(f not in data.columns for f in fields):
        return np.zeros(n, dtype=bool)
    left = data[fields].reset_index(drop=True)
    points = pd.DataFrame.from_records(records, columns=fields)
    for f in fields:
        try:
            points[f] = points[f].astype(left[f].dtype)
        except (TypeError, ValueError):
            # JSON lost the column's type (e.g. ids that look like numbers): compare as text on both sides.
            left[f], points[f] = left[f].astype(str), points[f].astype(str)
    hit = left.merge(points.drop_duplicates().assign(_hit=True), on=fields, how="left")["_hit"]
    return hit.notna().to_numpy(dtype=bool)

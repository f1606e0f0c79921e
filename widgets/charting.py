"""Put Altair charts on screen without any network: charts are rendered to SVG in the kernel (vl-convert).

Static SVG renders in JupyterLab and in Voilà with the network cut, needs no front-end extension and
no CDN script. Chart builders live in ``workbench.report.charts``; this module only places them.
"""

from __future__ import annotations

import altair as alt
import ipywidgets as w
import vl_convert as vlc

__all__ = ["ChartPane", "to_svg"]


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render ``chart`` to an SVG string offline."""
    return vlc.vegalite_to_svg(chart.to_dict())


class ChartPane(w.HTML):
    """A widget that shows one Altair chart as inline SVG; call ``show(chart)`` to replace it."""

    def __init__(self, chart: alt.TopLevelMixin | None = None, **kwargs):
        super().__init__(**kwargs)
        self.add_class("wb-chart")
        if chart is not None:
            self.show(chart)

    def show(self, chart: alt.TopLevelMixin) -> None:
        self.value = f'<div class="wb-chart-svg">{to_svg(chart)}</div>'

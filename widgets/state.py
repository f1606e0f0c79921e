"""The app's state model: one traitlets object holding what the workshop knows.

Views observe it and write to it; the chain is book → segmentation → assignment → projection. A step
view recomputes its own result when the result upstream of it changes, so a change anywhere flows down.
"""

from __future__ import annotations

import copy

import traitlets as t

from workbench.pipeline import DEFAULT_PARAMS

__all__ = ["WorkbenchState"]


class WorkbenchState(t.HasTraits):
    """What the app knows right now. Results are ``workbench`` objects (or ``None`` before they exist).

    ``params`` mirrors ``workbench.pipeline.DEFAULT_PARAMS``: views edit their own section and then replace
    the dict (``state.params = new``) so that observers fire.
    """

    book = t.Any(None, allow_none=True)
    book_path = t.Unicode("")
    segmentation = t.Any(None, allow_none=True)
    assignment = t.Any(None, allow_none=True)
    projection = t.Any(None, allow_none=True)
    params = t.Dict()
    status = t.Unicode("")
    busy = t.Bool(False)
    #: a stored scenario's results are being put back: views draw them instead of recomputing on the way
    loading = t.Bool(False)

    @t.default("params")
    def _default_params(self) -> dict:
        return copy.deepcopy(DEFAULT_PARAMS)

    @staticmethod
    def section_changed(change, section: str) -> bool:
        """Whether a ``params`` change notification touched ``section`` (``None`` = no notification: yes)."""
        return change is None or (change["old"] or {}).get(section) != (change["new"] or {}).get(section)

    def replace_section(self, section: str, values: dict, drop: tuple[str, ...] = ()) -> None:
        """Like ``set_section``, but the keys in ``drop`` that ``values`` lacks are removed from the section."""
        new = copy.deepcopy(self.params)
        kept = {k: v for k, v in new.get(section, {}).items() if k not in drop}
        new[section] = {**kept, **copy.deepcopy(values)}
        self.params = new

    def set_section(self, section: str, **values) -> None:
        """Update one parameter section and notify observers (traitlets only fires on a new dict)."""
        new = copy.deepcopy(self.params)
        new.setdefault(section, {}).update(values)
        self.params = new

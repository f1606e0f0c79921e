"""The Segment step without a browser: it follows the book and its controls, publishes the segmentation, and
its edits (names, coverage, brush) go through the core."""

from __future__ import annotations

import ipywidgets as w
import numpy as np
import pytest
from widget_helpers import find_widget

import widgets.segment_step as segment_step
from widgets.segment_step import SegmentStep
from widgets.state import WorkbenchState
from workbench.book import AccountBook
from workbench.sampledata import generate
from workbench.segment import accounts_in_region


@pytest.fixture(scope="module")
def book():
    return generate(n_accounts=900, n_managers=20, seed=5).book()


def _state() -> WorkbenchState:
    st = WorkbenchState()
    st.set_section("segment", stability_runs=2)  # the view passes the whole section on; fewer refits, faster
    return st




def test_follows_book_and_k_control(book):
    st = _state()
    view = SegmentStep(st)
    seen = []
    st.observe(lambda ch: seen.append(ch["new"]), names="segmentation")
    assert st.segmentation is None
    st.book = book
    seg = st.segmentation
    assert seg is not None and len(seen) == 1
    assert len(seg.labels) == book.n_accounts and seg.quality["k"] == 5
    assert len(seg.quality["stability_runs"]) == 2
    assert "<svg" in view._sizes.value and "<svg" in view._gap_chart.value
    assert "Stability" in view._stability.value or "stable" in view._stability.value
    assert "Strategic" in view._profiles.value
    k = find_widget(view, w.Dropdown, "Segments")
    k.value = 6
    assert st.segmentation.quality["k"] == 6 and len(st.segmentation.profiles) == 6
    assert st.params["segment"]["k"] == 6 and len(seen) == 2
    k.value = "auto"
    assert st.segmentation.quality["k_scores"] and view._kchart.layout.display == ""
    assert "<svg" in view._kchart.value
    k.value = 3
    assert view._kchart.layout.display == "none"


def test_method_features_and_rule_controls(book):
    st = _state()
    view = SegmentStep(st)
    st.book = book
    view._features.value = ("revenue", "service_need")
    assert st.segmentation.quality["features"] == ["revenue", "service_need"]
    assert st.params["segment"]["features"] == ["revenue", "service_need"]
    view._method.value = "value-need"
    assert view._k.disabled and view._grid.layout.display == ""
    assert len(st.segmentation.profiles) == 4
    view._grid.value = 3
    assert len(st.segmentation.profiles) == 9 and st.params["segment"]["grid"] == 3
    view._method.value = "abc"
    assert st.segmentation.profiles["segment"].iloc[0].startswith("A")


def test_rename_and_coverage_edits_publish_and_persist(book):
    st = _state()
    view = SegmentStep(st)
    st.book = book
    view._names.children[0].value = "Key accounts"
    view.apply_names()
    seg = st.segmentation
    assert seg.profiles.loc[0, "segment"] == "Key accounts"
    assert (seg.labels.loc[seg.labels["segment_id"] == 0, "segment"] == "Key accounts").all()
    assert st.params["segment"]["names"] == {"0": "Key accounts"}
    # duplicate names: a plain message, the published segmentation unchanged, no traceback in the view
    view._names.children[1].value = "Key accounts"
    view.apply_names()
    assert "cannot share the name" in view._msg.value and "Traceback" not in view._msg.value
    assert st.segmentation is seg
    cells = view._coverage.children  # grid: 4 cells per segment (name, role, accounts per manager, info)
    assert len(cells) == 4 * len(seg.coverage)
    cells[4 + 1].value = "Key Account Manager"
    cells[4 + 2].value = 7
    view.apply_coverage()
    cov = st.segmentation.coverage.set_index("segment_id")
    assert cov.loc[1, "role"] == "Key Account Manager" and cov.loc[1, "accounts_per_manager"] == 7
    assert st.params["segment"]["coverage"] == {"1": {"role": "Key Account Manager", "accounts_per_manager": 7.0}}
    assert "Key Account Manager" in view._gap_table.value
    # A new k starts from fresh names and coverage.
    view._k.value = 4
    assert "names" not in st.params["segment"] and "coverage" not in st.params["segment"]


def test_brush_lists_the_accounts_in_the_region(book):
    st = _state()
    view = SegmentStep(st)
    st.book = book
    rev = book.accounts["revenue_12m"].to_numpy()
    lo, hi = np.quantile(rev, [0.5, 0.9])
    view._scatter.selection = {"brush": {"revenue_12m": [float(hi), float(lo)], "service_need": [0.0, 1e6]}}
    expected = accounts_in_region(book.accounts, st.segmentation, revenue=(lo, hi), need=(0.0, 1e6))
    assert expected.attrs["matches"] > 0
    assert f"{expected.attrs['matches']:,} accounts" in view._region_msg.value
    assert expected["account_id"].iloc[0] in view._region_table.value
    assert view._rev_lo.value == pytest.approx(lo) and view._rev_hi.value == pytest.approx(hi)
    # An untrusted selection with the wrong shape is ignored, not an error.
    view._scatter.selection = {"brush": {"revenue_12m": ["x", "y"], "service_need": [1]}}
    assert "Could not" not in view._msg.value
    # Typed ranges work without a brush.
    view._rev_lo.value, view._rev_hi.value, view._need_lo.value, view._need_hi.value = 0, 0, 0, 5
    view.list_region()
    n_low_need = int((book.accounts["service_need"] <= 5).sum())
    assert f"{n_low_need:,} accounts" in view._region_msg.value


def test_bad_book_shows_plain_message(book):
    acc = book.accounts.drop(columns=["service_need", "potential"])
    st = _state()
    st.set_section("segment", method="value-need")
    view = SegmentStep(st)
    st.book = AccountBook(accounts=acc, managers=book.managers)
    assert st.segmentation is None
    assert "service_need" in view._msg.value and "Traceback" not in view._msg.value


def test_large_books_segment_in_the_background(book, monkeypatch):
    monkeypatch.setattr(segment_step, "BACKGROUND_ACCOUNTS", 100)
    st = _state()
    view = SegmentStep(st)
    busy = []
    st.observe(lambda ch: busy.append(ch["new"]), names="busy")
    st.book = book
    view.wait(60)
    assert st.segmentation is not None and len(st.segmentation.labels) == book.n_accounts
    assert busy == [True, False] and st.busy is False
    assert view._progress.value == 100


def test_one_segment_book_is_explained_and_coverage_names_wrap():
    """A book whose features do not separate the accounts: one segment, said in the message and the warning,
    no stability claimed; the coverage rows show the whole segment name in a wrapping cell."""
    import pandas as pd

    rev = np.zeros(120)
    rev[3] = 5e6
    acc = pd.DataFrame({"account_id": [f"A{i}" for i in range(120)], "name": "x", "revenue_12m": rev,
                        "owner_id": "M1"})
    man = pd.DataFrame({"manager_id": ["M1"], "name": ["a"], "role": ["Account Manager"],
                        "capacity_hours": [1500.0]})
    st = _state()
    view = SegmentStep(st)
    st.book = AccountBook(accounts=acc, managers=man)
    assert st.segmentation.quality["k"] == 1
    assert "1 segment from 120 accounts" in view._msg.value
    assert "1 segment: the features do not separate these accounts" in view._stability.value
    assert "Stability" not in view._stability.value
    cell = view._coverage.children[0]
    assert isinstance(cell, w.HTML) and "white-space:normal" in cell.value
    assert st.segmentation.profiles.loc[0, "segment"] in cell.value


def test_extra_numeric_columns_are_offered_in_words(book):
    # a CRM's AnnualRevenue (company size) and any other number column are features too, named for people
    st = _state()
    view = SegmentStep(st)
    acc = book.accounts.assign(annual_revenue=np.linspace(1e6, 5e7, len(book.accounts)),
                               nps_score=np.linspace(0, 10, len(book.accounts)))
    st.book = AccountBook(accounts=acc, managers=book.managers, history=book.history)
    labels = dict((v, k) for k, v in view._features.options)
    assert labels.get("annual_revenue") == "Company size (its own revenue)"
    assert labels.get("nps_score") == "Nps score"
    assert not any("_" in k for k in labels.values())

"""The KPI strip above the steps, without a browser: what it says before there is a projection, and what the
"Accounts moved" card leaves out."""

from __future__ import annotations

from test_allocate import synthetic_book

from widgets.app import KpiStrip
from widgets.state import WorkbenchState
from workbench.allocate import reallocate
from workbench.book import AccountBook
from workbench.kpi import project


def test_the_strip_says_what_is_missing_before_a_projection():
    st = WorkbenchState()
    strip = KpiStrip(st)
    assert "Load a book" in strip.value
    book, seg = synthetic_book(n=200, m=8, seed=3)
    st.book = AccountBook(accounts=book.accounts.assign(owner_id=None), managers=book.managers.iloc[0:0])
    # the UCI wholesale book: loaded, but no managers, so no plan and no projection ("Load a book" misled)
    assert "This book has no managers" in strip.value and "Load a book" not in strip.value
    st.book = book
    assert "Segment the book and make a plan" in strip.value


def test_accounts_moved_card_names_what_it_does_not_count():
    book, seg = synthetic_book(n=300, m=10, seed=11)
    leaver = book.managers["manager_id"].iloc[5]
    asg = reallocate(book, seg, events=[{"type": "leave", "manager_id": leaver}])
    st = WorkbenchState()
    strip = KpiStrip(st)
    st.book, st.segmentation, st.assignment = book, seg, asg
    st.projection = proj = project(book, seg, asg)
    handed = int(proj.kpis["accounts_from_leavers"]["scenario"])
    first = int(proj.kpis["unowned_assigned"]["scenario"])
    assert handed > 0 and first > 0
    card = strip.value.split('data-kpi="accounts_moved"')[1].split('data-kpi=')[0]
    assert f"not counted: {handed:,} handed over from leavers, {first:,} first owners" in card
    other = strip.value.split('data-kpi="revenue_12m"')[1].split('data-kpi=')[0]
    assert "not counted" not in other

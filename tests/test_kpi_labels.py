"""KPI names people read: no code words ("Accounts per no role"), and each KPI's change reads with its own sign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_kpi import assignment, small_book

from workbench.book import AccountBook
from workbench.kpi import KPI_LABELS, current_kpis, project


def _book_with_roles(roles):
    book, seg = small_book(m=4)
    return AccountBook(book.accounts, book.managers.assign(role=roles), None), seg


@pytest.mark.parametrize("roles", [None, pd.NA, "", "  "], ids=["None", "NA", "empty", "blank"])
def test_a_team_without_roles_has_accounts_per_manager(roles):
    book, seg = _book_with_roles(pd.array([roles] * 4, dtype="string"))
    kpis = project(book, seg, assignment(book)).kpis
    per_role = {k: v for k, v in kpis.items() if k.startswith("accounts_per_")}
    assert list(per_role) == ["accounts_per_manager"]
    k = per_role["accounts_per_manager"]
    assert k["label"] == "Accounts per manager" and k["unit"] == "accounts"
    assert k["baseline"] == pytest.approx(len(book.accounts) / 4)
    assert not any("no role" in v["label"].lower() for v in kpis.values())


def test_managers_without_a_role_beside_named_roles_are_said_so():
    book, seg = _book_with_roles(pd.array(["Key Account Manager", None, "Account Manager", None], dtype="string"))
    kpis = project(book, seg, assignment(book)).kpis
    labels = {k: v["label"] for k, v in kpis.items() if k.startswith("accounts_per_")}
    assert labels == {"accounts_per_account_manager": "Accounts per Account Manager",
                      "accounts_per_key_account_manager": "Accounts per Key Account Manager",
                      "accounts_per_manager_without_role": "Accounts per manager without a role"}
    assert kpis["accounts_per_manager_without_role"]["baseline"] == pytest.approx(200 / 2)


def test_cost_to_serve_is_one_kpi_whose_fall_is_the_saving():
    """"Cost-to-serve reduction -336 k EUR" was a double negative beside "Cost to serve" saying the same thing:
    the saving is the change of cost to serve, negative when the plan serves for less."""
    book, seg = small_book(m=4)
    mg = book.managers.copy()
    mg.loc[mg["manager_id"] == "M003", "cost"] = 50_000.0  # a cheaper manager takes accounts: cost falls
    book = AccountBook(book.accounts, mg, None)
    to = book.accounts["owner_id"].to_numpy(dtype=object).copy()
    to[np.flatnonzero(to == "M000")[:20]] = "M003"
    kpis = project(book, seg, assignment(book, to=to)).kpis
    assert "cost_reduction" not in kpis and "cost_reduction" not in KPI_LABELS
    assert not any("reduction" in label.lower() for label, _ in KPI_LABELS.values())
    cts = kpis["cost_to_serve"]
    assert cts["label"] == "Cost to serve, 12 months" and cts["delta"] < 0
    assert cts["delta"] == pytest.approx(cts["scenario"] - cts["baseline"])


def test_kpis_saved_by_an_earlier_version_read_in_todays_words():
    old = {"cost_to_serve": {"label": "Cost to serve, 12 months", "delta": -336e3},
           "cost_reduction": {"label": "Cost-to-serve reduction, 12 months", "delta": 336e3},
           "accounts_per_no_role": {"label": "Accounts per no role", "baseline": 2.4, "scenario": 2.4}}
    now = current_kpis(old)
    assert list(now) == ["cost_to_serve", "accounts_per_manager"]
    assert now["accounts_per_manager"] == {"label": "Accounts per manager", "baseline": 2.4, "scenario": 2.4}
    assert old["accounts_per_no_role"]["label"] == "Accounts per no role"  # a copy: the saved dict is left alone
    mixed = current_kpis({"accounts_per_key_account_manager": {"label": "Accounts per Key Account Manager"},
                          "accounts_per_no_role": {"label": "Accounts per no role"}})
    assert mixed["accounts_per_manager_without_role"]["label"] == "Accounts per manager without a role"
    book, seg = small_book()
    today = project(book, seg, assignment(book)).kpis
    assert current_kpis(today) == today

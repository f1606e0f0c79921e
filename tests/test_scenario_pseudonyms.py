"""Pseudonyms in the words people write: a scenario's name, its description, a hire, a family's lead company.

The review found "Peters" ten times on a pseudonymised dashboard (the scenario "S1 ±10 %, Peters leaves, hire"),
in the export's file name, and a hire aliased "Name b9a93bc4" beside managers called "Manager 2d67a288".
"""

from __future__ import annotations

import dataclasses

import pandas as pd
from test_scenario_store import make_scenario

from workbench.scenario import ScenarioStore, aliases, pseudonymise, pseudonymise_text

NAMES = ["Lena Peters", "Stefanie Peters", "Jörg Bonvin", "Ann van Dijk", "Tom Kerr", "Nina Neu"]


def _scenario():
    sc = make_scenario("S1 ±10 %, Peters leaves, hire", n_managers=6)
    loads = sc.assignment.loads.copy()
    loads["name"] = pd.array(NAMES, dtype="string")
    loads.loc[5, "manager_id"] = "NEW-1"  # the hire, as the plan's loads carry it
    moves = sc.assignment.moves.copy()
    moves["account_name"] = pd.array([f"Firma {i} GmbH" for i in range(len(moves))], dtype="string")
    moves.loc[0, "reason"] = "Follows its account family (Firma 1 GmbH) to Tom Kerr"
    sc.assignment = dataclasses.replace(sc.assignment, loads=loads, moves=moves)
    sc.params = {"allocate": {"band": 0.1, "events": [
        {"type": "leave", "manager_id": "M000"},
        {"type": "hire", "name": "Nina Neu", "role": "Account Manager", "capacity_hours": 1600, "ramp": 0.5}]}}
    sc.description = "Lena leaves; Bonvin takes Firma 2 GmbH; van Dijk stays."
    return sc


def test_names_people_wrote_lose_every_manager_and_company():
    sc = _scenario()
    ps = pseudonymise(sc, "salt")
    alias = dict(zip(sc.assignment.loads["manager_id"], aliases(sc.assignment.loads["manager_id"], "salt", "Manager")))
    # "Peters" is two managers' surname: the one who leaves in this scenario's events is meant
    assert ps.name == f"S1 ±10 %, {alias['M000']} leaves, hire"
    text = ps.description
    for real in ("Lena", "Bonvin", "Dijk", "Firma 2"):
        assert real not in text, real
    assert "van Manager " in text  # a lower-case particle is no name of its own; the surname beside it is
    # the hire reads like every other manager: the alias its row of the loads has
    hire = ps.params["allocate"]["events"][1]["name"]
    assert hire == alias["NEW-1"] and hire.startswith("Manager ")
    # the lead company of a family, named in a move's reason, is aliased too
    reason = ps.assignment.moves.loc[0, "reason"]
    assert "Firma 1" not in reason and "Tom Kerr" not in reason and reason.startswith("Follows its account family (")


def test_listing_labels_match_the_pseudonymised_scenario(tmp_path):
    sc = _scenario()
    with ScenarioStore(tmp_path / "s.sqlite") as store:
        store.save(sc, publish=True)
        label = pseudonymise_text(sc.name, store.load_part(sc.name, "assignment.loads", published_only=True),
                                  store.alias_salt, store.load_params(sc.name, published_only=True))
        assert label == pseudonymise(store.load(sc.name), store.alias_salt).name
        assert "Peters" not in label and store.load_part(sc.name, "no.such.part") is None

"""Harmonise: names, countries, industries; duplicate candidates over blocking keys; merge keeps every source id;
account families from parent ids and parent names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.book import account_units
from workbench.harmonize import (
    DuplicateFinder,
    account_families,
    find_duplicates,
    merge_duplicates,
    normalise_countries,
    normalise_industries,
    normalise_names,
    normalise_postcodes,
    resolve_parent_names,
)


def test_normalise_names_legal_forms_umlauts_punctuation():
    names = pd.Series(["Müller & Söhne GmbH & Co. KG", "MUELLER & SOEHNE G.m.b.H.", "Straße AG",
                       "Strasse Aktiengesellschaft", "ACME, Inc.", "Acme Corporation", None])
    out = normalise_names(names).tolist()
    assert out[0] == out[1] == "mueller soehne"
    assert out[2] == out[3] == "strasse"
    assert out[4] == out[5] == "acme"
    assert out[6] == ""


def test_countries_to_iso_alpha2():
    vals = pd.Series(["United States", "USA", "US", "Deutschland", "Germany", "Philipines", "Österreich",
                      "Schweiz", "United Kingdom", "korea", None, "Atlantis"])
    out, changed = normalise_countries(vals)
    assert out.tolist()[:10] == ["US", "US", "US", "DE", "DE", "PH", "AT", "CH", "GB", "KR"]
    assert pd.isna(out.iloc[10]) and out.iloc[11] == "Atlantis"
    assert changed["Philipines"] == "PH" and "US" not in changed


def test_postcodes_get_lost_leading_zeros_back_and_odd_ones_are_flagged():
    pc = pd.Series(["01067", "1067", "1067.0", "8010", "80331", "ABC12", "1010", "10115", None, "1234 AB", "2108",
                    "SW1A 1AA"])
    cc = pd.Series(["DE", "DE", "DE", "AT", "DE", "DE", "CH", "DE", "DE", "NL", "US", "GB"])
    out, restored, off = normalise_postcodes(pc, cc)
    assert out.tolist()[:8] == ["01067", "01067", "01067", "8010", "80331", "ABC12", "1010", "10115"]
    assert pd.isna(out.iloc[8]) and out.iloc[9] == "1234 AB" and out.iloc[10] == "02108"
    assert restored.tolist() == [False, True, True, False, False, False, False, False, False, False, True, False]
    # only the DE value with letters is off; Austria and Switzerland have 4 digits, GB is not checked
    assert np.flatnonzero(off).tolist() == [5]


def test_industries_canonical_and_typo_tolerant():
    vals = pd.Series(["technolgy", "Technology", "medical", "Maschinenbau", "Finanzdienstleistung", "telecom",
                      "Underwater basket weaving", None])
    out, changed = normalise_industries(vals)
    assert out.tolist()[:6] == ["Technology", "Technology", "Medical", "Machinery", "Finance", "Telecommunications"]
    assert out.iloc[6] == "Underwater basket weaving" and pd.isna(out.iloc[7])
    assert changed["technolgy"] == "Technology" and "Technology" not in changed


def _book_with_duplicates() -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    rows = [
        ("A1", "Müller Maschinenbau GmbH", "80331", "München", 100.0),
        ("A2", "Mueller Maschinenbau G.m.b.H.", "80331", "München", 20.0),      # transliteration + legal form
        ("A3", "Schneider Logistik AG", "20095", "Hamburg", 50.0),
        ("A4", "Schnieder Logistik AG", "20095", "Hamburg", 5.0),               # typo
        ("A5", "Bäckerei Wolf KG", "50667", "Köln", 7.0),
        ("A6", "Wolf Bäckerei KG", "50667", "Köln", 3.0),                       # word order
        ("A7", "Weber Elektrotechnik GmbH", "70173", "Stuttgart", 9.0),
        ("A8", "Weber Elektrotechni kGmbH", None, "Stuttgart", 1.0),            # moved space, postcode missing
        ("A9", "Müller Maschinenbau GmbH", "01067", "Dresden", 30.0),           # namesake in another city
        ("A10", "Fischer Software GmbH", "10115", "Berlin", 11.0),
        ("A11", "Fischer Software AG", "60311", "Frankfurt am Main", 12.0),     # other city, other legal form
        ("A12", "Keller Druck GmbH", "04109", "Leipzig", 4.0),
    ]
    acc = pd.DataFrame(rows, columns=["account_id", "name", "postcode", "city", "revenue_12m"])
    acc["country"] = "DE"
    acc["source_id"] = "SF-" + acc["account_id"]
    truth = {("A1", "A2"), ("A3", "A4"), ("A5", "A6"), ("A7", "A8")}
    return acc, truth


def test_find_duplicates_catches_variants_and_spares_namesakes_elsewhere():
    acc, truth = _book_with_duplicates()
    cand = find_duplicates(acc)
    found = {tuple(sorted(p, key=lambda x: int(x[1:]))) for p in zip(cand["left_id"], cand["right_id"])}
    assert found == truth
    assert (cand["score"] >= 92).all() and cand["score"].is_monotonic_decreasing
    row = cand[(cand["left_id"] == "A1") & (cand["right_id"] == "A2")].iloc[0]
    assert "same postcode" in row["evidence"] and row["name_score"] == 100
    assert list(cand.columns) == ["left_id", "right_id", "left_name", "right_name", "score", "name_score",
                                  "evidence"]


def test_duplicate_search_never_scores_all_pairs_and_is_deterministic():
    rng = np.random.default_rng(3)
    words = np.array(["Alpha", "Beta", "Gamma", "Delta", "Omega", "Sigma", "Nord", "Süd", "Bau", "Tech", "Log",
                      "Data", "Chem", "Agrar", "Medien", "Holz"])
    n = 6000
    names = pd.Series(words[rng.integers(0, 16, n)]) + " " + pd.Series(words[rng.integers(0, 16, n)]) + " " + \
        pd.Series(rng.integers(0, 10**6, n).astype(str)) + " GmbH"
    acc = pd.DataFrame({"account_id": [f"X{i}" for i in range(n)], "name": names,
                        "postcode": rng.integers(10000, 10300, n).astype(str)})
    f1 = DuplicateFinder().fit(acc)
    assert 0 < f1.n_compared_ < 0.01 * n * (n - 1) / 2
    f2 = DuplicateFinder().fit(acc.sample(frac=1.0, random_state=1).sort_index())
    pd.testing.assert_frame_equal(f1.candidates_, f2.candidates_)


def test_merge_keeps_every_source_id_and_rekeys_history_and_parents():
    acc, truth = _book_with_duplicates()
    acc["parent_id"] = pd.Series([None] * 11 + ["A2"], dtype="string")  # Keller's parent is merged away
    acc["employees"] = pd.array([10, 50, None, 3, 1, 1, 1, 1, 1, 1, 1, 1], dtype="Int64")
    hist = pd.DataFrame({"account_id": ["A1", "A2", "A2", "A3"],
                         "period": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-01-01"]),
                         "revenue": [1.0, 2.0, 3.0, 4.0]})
    pairs = pd.DataFrame(sorted(truth), columns=["left_id", "right_id"])
    res = merge_duplicates(acc, pairs, history=hist)
    m = res.accounts.set_index("account_id")
    assert len(m) == 8 and res.merged_groups == 4
    assert m.loc["A1", "source_ids"] == "SF-A1;SF-A2" and m.loc["A1", "source_id"] == "SF-A1"
    assert m.loc["A1", "revenue_12m"] == 120.0 and m.loc["A1", "employees"] == 50
    # the survivor is the record with the higher revenue
    assert "A4" not in m.index and m.loc["A3", "revenue_12m"] == 55.0
    assert m.loc["A12", "source_ids"] == "SF-A12"
    assert m.loc["A12", "parent_id"] == "A1"
    assert res.id_map["A2"] == "A1" and res.id_map["A9"] == "A9"
    h = res.history.set_index(["account_id", "period"])["revenue"]
    assert h.loc[("A1", pd.Timestamp("2024-01-01"))] == 3.0 and h.sum() == 10.0
    # accounts total revenue is preserved
    assert m["revenue_12m"].sum() == pytest.approx(acc["revenue_12m"].sum())


def test_merge_with_no_pairs_changes_nothing():
    acc, _ = _book_with_duplicates()
    res = merge_duplicates(acc, pd.DataFrame(columns=["left_id", "right_id"]))
    assert len(res.accounts) == len(acc) and res.merged_groups == 0
    assert (res.accounts["source_ids"] == acc["source_id"]).all()


def test_families_from_parent_names_and_ids():
    acc = pd.DataFrame({
        "account_id": ["1", "2", "3", "4", "5", "6"],
        "name": ["Acme Corporation", "Acme Europe GmbH", "Acme Germany GmbH", "Globex", "Initech", "Umbrella"],
        "parent_name": [None, "ACME Corp.", None, None, "Hooli", None],
        "parent_id": pd.array([None, None, "2", None, None, "6"], dtype="string"),
    })
    out, unresolved = resolve_parent_names(acc)
    assert pd.isna(out.loc[0, "parent_id"])
    assert out.loc[1, "parent_id"] == "1" and out.loc[2, "parent_id"] == "2"
    assert unresolved == ["Hooli"]
    fam = account_families(out)
    assert fam["family_id"].tolist()[:3] == ["1", "1", "1"] and fam["family_size"].iloc[0] == 3
    assert fam.set_index("account_id").loc["6", "family_id"] == "6"  # self-parent is its own family
    assert (fam["family_id"].to_numpy() == account_units(out)).all()

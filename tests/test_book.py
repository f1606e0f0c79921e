"""AccountBook: load/save round trip, report accounting, unknown owners, families."""

import json

import pandas as pd
import pytest

from workbench.book import AccountBook, BookError, account_units, load_book, parent_cycles, save_book


def _write(folder, accounts, managers):
    folder.mkdir(parents=True, exist_ok=True)
    accounts.to_csv(folder / "accounts.csv", index=False)
    managers.to_csv(folder / "managers.csv", index=False)


def _frames():
    acc = pd.DataFrame({"account_id": ["001", "002", "003", "004"], "name": ["A GmbH", "B AG", "C KG", "D SE"],
                        "parent_id": ["", "001", "002", ""], "revenue_12m": [10, 20, -3, 40],
                        "owner_id": ["M1", "M2", "M1", "M9"]})
    man = pd.DataFrame({"manager_id": ["M1", "M2"], "name": ["Anna", "Ben"], "role": ["Account Manager"] * 2,
                        "capacity_hours": [1500, 1400]})
    return acc, man


def test_load_keeps_ids_as_text_and_accounts_for_every_row(tmp_path):
    acc, man = _frames()
    _write(tmp_path / "b", acc, man)
    book = load_book(tmp_path / "b")
    assert book.accounts["account_id"].tolist() == ["001", "002", "004"]
    rep = book.report
    assert rep.rows_read == rep.rows_accepted + rep.rows_rejected == 6
    assert rep.rejections.iloc[0]["row"] == 3 and rep.rejections.iloc[0]["column"] == "revenue_12m"
    assert any("not in the managers table" in w for w in rep.warnings)
    assert book.accounts.set_index("account_id").loc["004", "owner_id"] is pd.NA


def test_save_and_reload_parquet_round_trip(tmp_path):
    acc, man = _frames()
    _write(tmp_path / "b", acc, man)
    book = load_book(tmp_path / "b")
    save_book(book, tmp_path / "p")
    assert (tmp_path / "p" / "accounts.parquet").exists()
    again = load_book(tmp_path / "p")
    pd.testing.assert_frame_equal(again.accounts, book.accounts)
    assert again.fingerprint() == book.fingerprint()
    assert json.loads((tmp_path / "p" / "import_report.json").read_text())["rows_read"] == 6


def test_fingerprint_changes_with_content(tmp_path):
    acc, man = _frames()
    a = AccountBook(accounts=acc, managers=man)
    acc2 = acc.copy()
    acc2.loc[0, "revenue_12m"] = 11
    assert a.fingerprint() != AccountBook(accounts=acc2, managers=man).fingerprint()


def test_missing_folder_or_table_is_a_clear_error(tmp_path):
    with pytest.raises(BookError, match="does not exist"):
        load_book(tmp_path / "nope")
    (tmp_path / "e").mkdir()
    with pytest.raises(BookError, match="managers"):
        acc, _ = _frames()
        acc.to_csv(tmp_path / "e" / "accounts.csv", index=False)
        load_book(tmp_path / "e")


def test_account_units_follow_parents_to_the_top():
    acc = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "parent_id": [None, "a", "b", "zz"]})
    assert account_units(acc).tolist() == ["a", "a", "a", "d"]


def test_a_summary_counts_in_words():
    from workbench.book import counted

    assert counted(1, "manager") == "1 manager" and counted(35, "manager") == "35 managers"
    assert counted(1200, "account") == "1,200 accounts"
    acc, man = _frames()
    book = AccountBook(accounts=acc, managers=man.iloc[:1])
    assert ", 1 manager;" in book.summary() or ", 1 manager," in book.summary()


# ---- parent cycles: one family per cycle, headed by its smallest id, and a warning naming the accounts


def _families(pairs):
    acc = pd.DataFrame(pairs, columns=["account_id", "parent_id"])
    return dict(zip(acc["account_id"], account_units(acc))), acc


def test_a_two_cycle_is_one_family_headed_by_its_smallest_id():
    fam, acc = _families([("A2", "A1"), ("A1", "A2"), ("X", None)])
    assert fam == {"A1": "A1", "A2": "A1", "X": "X"}
    assert parent_cycles(acc) == [["A1", "A2"]]


def test_a_self_parent_is_its_own_family_and_is_reported():
    fam, acc = _families([("S", "S"), ("T", "S")])
    assert fam == {"S": "S", "T": "S"}
    assert parent_cycles(acc) == [["S"]]


def test_every_member_of_a_three_cycle_gets_the_same_head():
    # A4 → A5 → A6 → A4: the old pointer jumping gave each member a different head (A5, A6, A4)
    fam, acc = _families([("A5", "A6"), ("A4", "A5"), ("A6", "A4")])
    assert set(fam.values()) == {"A4"}
    assert parent_cycles(acc) == [["A4", "A5", "A6"]]


def test_a_chain_hanging_off_a_cycle_joins_the_cycle_family():
    fam, acc = _families([("C3", "C2"), ("C2", "C1"), ("C1", "B2"), ("B2", "B9"), ("B9", "B2"),
                          ("R", None), ("R1", "R"), ("R2", "R1")])
    assert {k: fam[k] for k in ("C1", "C2", "C3", "B2", "B9")} == dict.fromkeys(("C1", "C2", "C3", "B2", "B9"), "B2")
    assert fam["R1"] == fam["R2"] == "R"
    assert parent_cycles(acc) == [["B2", "B9"]]


def test_cycles_at_scale_are_vectorised_and_consistent():
    import numpy as np

    n = 200_000  # rings of 7 with a tail of 3 hanging off each, in shuffled order
    rng = np.random.default_rng(0)
    ids = np.array([f"N{i:06d}" for i in range(n)], dtype=object)
    parent = ids.copy()
    ring = np.arange(n) % 10 < 7
    base = (np.arange(n) // 10) * 10
    parent[ring] = ids[base[ring] + (np.arange(n)[ring] - base[ring] + 1) % 7]
    tail = ~ring
    parent[tail] = ids[np.arange(n)[tail] - 1]
    order = rng.permutation(n)
    acc = pd.DataFrame({"account_id": ids[order], "parent_id": parent[order]})
    heads = pd.Series(account_units(acc), index=acc["account_id"])
    assert (heads.to_numpy() == ids[base][order]).all()
    assert len(parent_cycles(acc)) == n // 10


def test_load_book_warns_about_cycles(tmp_path):
    acc, man = _frames()
    acc["parent_id"] = ["002", "001", "", ""]
    acc["revenue_12m"] = [10, 20, 30, 40]
    _write(tmp_path / "b", acc, man)
    book = load_book(tmp_path / "b")
    warning = [w for w in book.report.warnings if "parent cycle" in w]
    assert warning and "001 → 002 → 001" in warning[0] and "smallest account id" in warning[0]
    assert account_units(book.accounts).tolist()[:2] == ["001", "001"]


# ---- the folder reader is the import's reader, with the import's rules


def test_a_semicolon_cp1252_book_file_loads(tmp_path):
    acc, man = _frames()
    acc["revenue_12m"] = ["10,5", "20", "1.234,5", "40"]
    acc["name"] = ["Müller GmbH", "Köln AG", "Straße KG", "D SE"]
    folder = tmp_path / "b"
    folder.mkdir()
    acc.to_csv(folder / "accounts.csv", index=False, sep=";", encoding="cp1252")
    man.to_csv(folder / "managers.csv", index=False)
    book = load_book(folder)
    a = book.accounts.set_index("account_id")
    assert a.loc["001", "name"] == "Müller GmbH" and a.loc["003", "revenue_12m"] == 1234.5
    assert book.report.rows_rejected == 0


def test_a_ragged_row_is_rejected_not_fatal(tmp_path):
    acc, man = _frames()
    acc["revenue_12m"] = [10, 20, 30, 40]
    _write(tmp_path / "b", acc, man)
    path = tmp_path / "b" / "accounts.csv"
    lines = path.read_text().splitlines()
    lines[2] += ",EXTRA,FIELDS"
    path.write_text("\n".join(lines) + "\n")
    book = load_book(tmp_path / "b")
    rep = book.report
    assert rep.rows_read == rep.rows_accepted + rep.rows_rejected
    bad = rep.rejections[rep.rejections["file"] == "accounts.csv"]
    assert bad["row"].tolist() == [2] and "fields" in bad["rule"].iloc[0]
    assert book.accounts["account_id"].tolist() == ["001", "003", "004"]


def test_an_unreadable_book_file_is_one_sentence_that_points_to_import(tmp_path):
    acc, man = _frames()
    _write(tmp_path / "b", acc, man)
    (tmp_path / "b" / "accounts.csv").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    with pytest.raises(BookError, match=r"accounts\.csv.*workbench import"):
        load_book(tmp_path / "b")
    pd.DataFrame({"Kundennummer": ["1"], "Umsatz": ["3"]}).to_csv(tmp_path / "b" / "accounts.csv", index=False)
    with pytest.raises(BookError, match=r"account_id.*missing.*workbench import"):
        load_book(tmp_path / "b")


def test_an_empty_revenue_counts_as_zero_with_the_rows_named_as_in_import(tmp_path):
    acc, man = _frames()
    acc["revenue_12m"] = [10, None, 30, 40]
    _write(tmp_path / "b", acc, man)
    book = load_book(tmp_path / "b")
    assert book.accounts.set_index("account_id").loc["002", "revenue_12m"] == 0
    assert any("revenue_12m is empty in 1 row (row 2)" in w and "0 revenue" in w for w in book.report.warnings)


def test_unknown_owners_are_named_in_the_warning(tmp_path):
    acc, man = _frames()
    _write(tmp_path / "b", acc, man)
    w = [w for w in load_book(tmp_path / "b").report.warnings if "not in the managers table" in w]
    assert w and "(M9)" in w[0] and "treated as unowned" in w[0]


# ---- a book without managers loads (segment it; reallocating says what it needs)


def test_a_book_without_managers_loads_and_says_it_cannot_be_reallocated(tmp_path):
    acc, man = _frames()
    acc["owner_id"] = None
    acc["revenue_12m"] = [10, 20, 30, 40]
    folder = tmp_path / "b"
    folder.mkdir()
    acc.to_csv(folder / "accounts.csv", index=False)
    book = load_book(folder)  # no managers file at all
    assert len(book.managers) == 0 and list(book.managers.columns)[:2] == ["manager_id", "name"]
    assert any(w.startswith("no managers") and "not reallocated" in w for w in book.report.warnings)
    man.iloc[:0].to_csv(folder / "managers.csv", index=False)  # a managers file without a row
    assert len(load_book(folder).managers) == 0


def test_owners_without_a_managers_file_are_a_clear_error(tmp_path):
    acc, _ = _frames()
    (tmp_path / "e").mkdir()
    acc.to_csv(tmp_path / "e" / "accounts.csv", index=False)
    with pytest.raises(BookError, match="no managers.csv.*3 accounts name an owner"):
        load_book(tmp_path / "e")


def test_the_uci_wholesale_book_loads_without_managers(tmp_path):
    from pathlib import Path

    from workbench.io import import_book

    src = Path("/work/shared/realdata/uci_wholesale_customers/Wholesale customers data.csv")
    if not src.exists():
        pytest.skip("real data not available")
    mapping = {"columns": {"revenue_12m": ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"],
                           "industry": "Channel", "region": "Region"},
               "values": {"industry": {1: "Horeca", 2: "Retail"}, "region": {1: "Lisbon", 2: "Oporto", 3: "Other"}},
               "constants": {"country": "PT"}}
    save_book(import_book(src, mapping=mapping), tmp_path / "uci")
    book = load_book(tmp_path / "uci")
    assert book.n_accounts == 440 and len(book.managers) == 0


def test_a_book_whose_every_account_row_is_rejected_names_the_first_reason(tmp_path):
    acc, man = _frames()
    acc["revenue_12m"] = "n/a"
    _write(tmp_path / "b", acc, man)
    with pytest.raises(BookError, match=r"no valid account rows: every row was rejected, the first for accounts\.csv "
                                        r"row 1 revenue_12m 'n/a': not a number"):
        load_book(tmp_path / "b")

"""The band trade-off: one plan per workload band, what each moves and what imbalance it leaves (core, chart, CLI)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_allocate import synthetic_book

from workbench.allocate import reallocate
from workbench.allocate.tradeoff import TRADEOFF_COLUMNS, band_tradeoff


@pytest.fixture(scope="module")
def small():
    return synthetic_book(n=300, m=10, seed=11)


@pytest.fixture(scope="module")
def table(small):
    book, seg = small
    seen = []
    out = band_tradeoff(book, seg, bands=[0.3, 0.0, 0.1, 0.05, 0.1], max_move_share=0.01,
                        weights={"fit": 2.0}, progress=lambda stage, f: seen.append((stage, f)))
    return out, seen


def test_one_row_per_band_sorted_and_each_row_is_that_bands_plan(small, table):
    book, seg = small
    out, seen = table
    assert list(out.columns) == TRADEOFF_COLUMNS
    assert out["band"].tolist() == [0.0, 0.05, 0.1, 0.3]
    assert [f for _, f in seen] == [0.0, 0.25, 0.5, 0.75, 1.0]
    for r in out.itertuples():
        # the row is the plan solved at the band it names (the move limit left out, the other settings kept)
        asg = reallocate(book, seg, band=r.plan_from_band, weights={"fit": 2.0})
        assert r.accounts_moved == asg.stats["moves"] and r.plan_cost == pytest.approx(asg.stats["objective"])
        assert r.revenue_moved == pytest.approx(asg.moves.loc[asg.moves["from_manager"].notna(), "revenue_12m"].sum())
        assert r.plan_from_band <= r.band
    # a ±0 % band cannot be met on hours that come in account-sized pieces: said so, with what to relax
    assert not out["feasible"].iloc[0] and "band" in out["diagnosis"].iloc[0]
    assert out["feasible"].iloc[1:].all() and (out["managers_in_band"].iloc[1:] == out["active_managers"].iloc[1:]).all()


def test_a_wider_band_never_costs_more_or_leaves_less_imbalance(table):
    out, _ = table
    ok = out[out["feasible"]]
    assert (np.diff(ok["plan_cost"].to_numpy()) <= 1e-6).all()
    # the point of a narrow band: a fairer workload (imbalance after rises as the band widens)
    assert ok["gini_after"].iloc[0] < ok["gini_after"].iloc[-1]


def test_bad_bands_are_refused(small):
    book, seg = small
    with pytest.raises(ValueError, match="between 0 and 1"):
        band_tradeoff(book, seg, bands=[0.1, 1.5])
    with pytest.raises(ValueError, match="at least one band"):
        band_tradeoff(book, seg, bands=[])
    with pytest.raises(TypeError, match="bands"):
        band_tradeoff(book, seg, band=0.1)


def test_tradeoff_chart_marks_the_band_and_the_bands_no_plan_meets(table):
    from workbench.report.charts.allocate import tradeoff_chart

    out, _ = table
    spec = tradeoff_chart(out, band=0.15).to_dict()
    text = str(spec)
    assert "cannot meet the band" in text and "±15%" in text
    data = pd.concat([pd.DataFrame(d) for d in spec["datasets"].values()], ignore_index=True)
    assert set(data["band"].round(3)) >= {0.0, 0.05, 0.1, 0.3, 0.15}


def test_cli_reallocate_writes_the_tradeoff(small, tmp_path, capsys):
    from workbench.book import save_book
    from workbench.cli import main
    from workbench.results import save_result

    book, seg = small
    save_book(book, tmp_path / "book", fmt="csv")
    save_result(seg, tmp_path / "seg")
    args = ["reallocate", str(tmp_path / "book"), "--segments", str(tmp_path / "seg"), "--mode", "auto",
            "--crm", "none"]
    rc = main([*args, "--out", str(tmp_path / "out"), "--tradeoff", "0.05,10%,0.2"])
    out = capsys.readouterr().out
    assert rc == 0, out
    table = pd.read_csv(tmp_path / "out" / "tradeoff.csv")
    assert table["band"].tolist() == [0.05, 0.1, 0.2] and "±10.0%:" in out
    assert (tmp_path / "out" / "tradeoff.svg").read_text().lstrip().startswith("<svg")
    # a typo is one line and exit code 2 before anything is solved or written
    rc = main([*args, "--out", str(tmp_path / "bad"), "--tradeoff", "0.05,wide"])
    err = capsys.readouterr().err
    assert rc == 2 and "--tradeoff" in err and "'wide'" in err and not (tmp_path / "bad").exists()
    rc = main([*args, "--out", str(tmp_path / "bad"), "--tradeoff", "0.05,1.2"])
    assert rc == 2 and "between 0 and 1" in capsys.readouterr().err

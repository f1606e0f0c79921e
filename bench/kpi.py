"""Time the KPI projection: deterministic recompute after an assumption change, and Monte Carlo draws.

Usage: python bench/kpi.py [--accounts 1000000] [--mc-accounts 100000] [--draws 1000] [--months 24] [--seed 42]

Books come from ``workbench.sampledata.generate`` (with revenue history); the segmentation is the generator's
true tiers and the assignment moves ~5 % of the accounts to another manager of the same role, so the
projection sees realistic groups. Targets: recompute at 1M accounts ≤ 200 ms; 1,000 draws at 100k ≤ 2 s.
The baseline is what a recompute costs without the compiled model: fit + project again.
Prints one line per figure and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import pandas as pd

from workbench.assumptions import Assumptions
from workbench.kpi import KpiModel
from workbench.results import Assignment, Segmentation
from workbench.sampledata import generate

TIERS = ["Strategic", "Grow", "Maintain", "Long tail"]
# assumption changes a workshop makes one after another (each a recompute)
CHANGES = ({"handover_loss": 0.18}, {"elasticity": 0.35}, {"gross_margin": 0.4}, {"retention": 0.85},
           {"handover_match_relief": 0.5}, {"handover_churn_uplift": 0.05}, {"effort_ratio_cap": 2.5})


def inputs(n_accounts: int, months: int, seed: int):
    """Book, true-tier segmentation and an assignment moving ~5 % of accounts within their role."""
    data = generate(n_accounts=n_accounts, n_managers=max(40, n_accounts // 50), n_months=months, seed=seed)
    book = data.book()
    sid = pd.Series(range(4), index=TIERS)
    labels = pd.DataFrame({"account_id": data.truth["account_id"],
                           "segment_id": sid[data.truth["true_tier"]].to_numpy(),
                           "segment": data.truth["true_tier"].astype(str)})
    seg = Segmentation(labels, pd.DataFrame(), pd.DataFrame())
    acc, mgr = book.accounts, book.managers
    rng = np.random.default_rng(seed)
    frm = acc["owner_id"].astype("string").to_numpy(dtype=object)
    to = frm.copy()
    role_of = dict(zip(mgr["manager_id"], mgr["role"], strict=True))
    by_role = {r: g["manager_id"].to_numpy(dtype=object) for r, g in mgr.groupby("role")}
    move = rng.random(len(acc)) < 0.05
    roles = pd.Series(frm).map(role_of).fillna("Account Manager").to_numpy(dtype=object)
    for r, ids in by_role.items():  # a handful of roles, not a loop over accounts
        m = move & (roles == r)
        to[m] = ids[rng.integers(0, len(ids), int(m.sum()))]
    hours = acc["service_need"].fillna(0).to_numpy(dtype=float)
    owners = pd.DataFrame({"account_id": acc["account_id"], "from_manager": frm, "to_manager": to, "hours": hours})
    moves = owners[owners["from_manager"].fillna("") != owners["to_manager"].fillna("")].assign(reason="bench")
    loads = mgr[["manager_id", "name", "role", "capacity_hours"]].copy()
    return book, seg, Assignment(owners, moves, loads, params={"band": 0.15})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--mc-accounts", type=int, default=100_000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    t0 = time.perf_counter()
    book, seg, asg = inputs(a.accounts, a.months, a.seed)
    gen_s = time.perf_counter() - t0
    print(f"generated {a.accounts:,} accounts × {a.months} months in {gen_s:.1f} s")
    t0 = time.perf_counter()
    model = KpiModel().fit(book, seg, asg)
    fit_s = time.perf_counter() - t0
    print(f"fit (history, loads, effort ratios, groups): {fit_s:.2f} s → {len(model.groups_):,} groups")
    base = Assumptions()
    model.project(base)  # first call warms numpy's code paths
    times = []
    for change in CHANGES:
        t0 = time.perf_counter()
        proj = model.project(base.with_values(**change), draws=0)
        times.append(time.perf_counter() - t0)
    recompute = statistics.median(times)
    print(f"deterministic recompute after an assumption change at {a.accounts:,}: median {recompute * 1e3:.0f} ms,"
          f" max {max(times) * 1e3:.0f} ms ({len(times)} changes)")
    print(f"  revenue_12m {proj.kpis['revenue_12m']['baseline']:,.0f} → {proj.kpis['revenue_12m']['scenario']:,.0f}")
    t0 = time.perf_counter()
    KpiModel().fit(book, seg, asg).project(base.with_values(handover_loss=0.12))
    refit_s = time.perf_counter() - t0
    print(f"baseline: refit + project after a change: {refit_s:.2f} s")
    del book, seg, asg, model

    book, seg, asg = inputs(a.mc_accounts, a.months, a.seed)
    mc_model = KpiModel().fit(book, seg, asg)
    mc_model.project(base, draws=10)
    mc_times = []
    for seed in range(3):
        t0 = time.perf_counter()
        mc = mc_model.project(base, draws=a.draws, seed=seed)
        mc_times.append(time.perf_counter() - t0)
    mc_s = statistics.median(mc_times)
    k = mc.kpis["revenue_12m"]
    print(f"{a.draws:,} Monte Carlo draws at {a.mc_accounts:,} accounts ({len(mc_model.groups_):,} groups): "
          f"median {mc_s:.2f} s; revenue_12m P10 {k['p10']:,.0f} P50 {k['p50']:,.0f} P90 {k['p90']:,.0f}")
    print(json.dumps({"stage": "kpi", "accounts": a.accounts, "seconds": round(recompute, 4),
                      "recompute_max_seconds": round(max(times), 4), "fit_seconds": round(fit_s, 3),
                      "baseline": "refit_and_project", "baseline_seconds": round(refit_s, 3),
                      "mc_accounts": a.mc_accounts, "mc_draws": a.draws, "mc_seconds": round(mc_s, 3),
                      "months": a.months, "groups": int(len(mc_model.groups_))}))


if __name__ == "__main__":
    main()

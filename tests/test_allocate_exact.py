"""The reallocation heuristics against the exact integer program (scipy ``milp`` / HiGHS) on small books."""

from __future__ import annotations

import numpy as np
import pytest
from test_allocate import synthetic_book

from workbench.allocate import reallocate
from workbench.allocate import solver as S


def _random_problem(n: int, m: int, seed: int, k: int, band: float = 0.15, full: bool = False) -> S.Problem:
    """A small array-level instance: uneven owners, move cost ∝ revenue, region fit, ±band around the target."""
    rng = np.random.default_rng(seed)
    hours = rng.choice([2.0, 8.0, 20.0], size=n, p=[0.4, 0.4, 0.2]) * rng.uniform(0.8, 1.2, n)
    cap = np.full(m, hours.sum() * 1.12 / m) * rng.uniform(0.9, 1.1, m)
    pull = rng.lognormal(0, 0.6, m)
    owner = rng.choice(m, size=n, p=pull / pull.sum())
    target = hours.sum() * cap / cap.sum()
    load = np.bincount(owner, weights=hours, minlength=m)
    region, m_region = rng.integers(0, 3, n), rng.integers(0, 3, m)
    cand = S.build_candidates(owner, np.zeros(n, int), region, np.zeros(n, int), np.zeros(m, int), m_region,
                              np.ones(m, np.int64), np.ones(m, bool), target - load, k=k, seed=seed)
    if full:  # every manager a candidate, current owner first
        cand = np.argsort(np.arange(m)[None, :] != owner[:, None], axis=1, kind="stable").astype(np.int32)
    cm = np.where(cand >= 0, cand, 0)
    revenue = hours * rng.lognormal(8, 0.7, n)
    moved = cm != owner[:, None]
    cost = np.where(cand >= 0, 0.15 * revenue[:, None] * moved + 0.03 * revenue[:, None]
                    * (m_region[cm] != region[:, None]), 0.0)
    return S.Problem(hours=hours, cand=cand, cost=cost, moves=moved.astype(float),
                     upper=np.minimum(target * (1 + band), cap), lower=target * (1 - band), target=target,
                     capacity=cap, balance_rate=0.02 * revenue.sum() / hours.sum(), penalty=1e7)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", ["lp", "auto"])
def test_heuristics_within_one_percent_of_milp(seed, method):
    prob = _random_problem(n=120, m=8, seed=seed, k=5)
    exact = S.solve_exact(prob, time_limit=60)
    assert exact.status == "optimal"
    sol = S.solve(prob, mode=method)
    assert sol.violations["over_band_hours"].sum() == pytest.approx(0, abs=1e-6)
    assert sol.violations["under_band_hours"].sum() == pytest.approx(0, abs=1e-6)
    assert sol.objective >= exact.objective - 1e-6 * abs(exact.objective)  # the MILP really is optimal
    assert sol.objective <= exact.objective * 1.01 + 1e-6
    # the reported lower bound is valid: never above the integer optimum
    assert sol.lower_bound <= exact.objective * (1 + 1e-9)


@pytest.mark.parametrize("seed", [5, 11])
def test_full_candidate_sets_match_the_true_integer_optimum(seed):
    """With every manager a candidate the MILP is the true optimum; the default method stays within 1 %."""
    prob = _random_problem(n=80, m=6, seed=seed, k=6, full=True)
    assert (prob.cand >= 0).all() and (prob.moves[:, 0] == 0).all() and (prob.moves[:, 1:] == 1).all()
    exact = S.solve_exact(prob, time_limit=60)
    sol = S.solve(prob, mode="auto")
    assert sol.objective <= exact.objective * 1.01 + 1e-6


def test_lagrangian_alone_stays_close_and_its_bound_is_valid():
    """Without the polish the price method is still near the optimum and never claims a bound above it."""
    for seed in range(3):
        prob = _random_problem(n=120, m=8, seed=seed, k=5)
        exact = S.solve_exact(prob, time_limit=60)
        sol = S.solve_lagrangian(prob)
        assert sol.lower_bound <= exact.objective * (1 + 1e-9)
        assert sol.objective <= exact.objective * 1.02


def test_reallocate_exact_mode_on_a_small_book():
    book, seg = synthetic_book(n=150, m=8, seed=5)
    exact = reallocate(book, seg, mode="exact")
    auto = reallocate(book, seg, mode="auto")
    lagr = reallocate(book, seg, mode="lagrangian")
    assert exact.stats["solver"] == "highs-milp" and exact.stats["status"] == "optimal"
    for asg in (auto, lagr):
        assert asg.stats["status"] != "infeasible"
        assert asg.stats["objective"] <= exact.stats["objective"] * 1.01 + 1e-6
        assert asg.stats["lower_bound"] <= exact.stats["objective"] * (1 + 1e-9)

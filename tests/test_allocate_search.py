"""The improvement stages of the allocation solver: two-move chains (``exchange``), the per-part MILP (``refine``),
and what ``auto`` / ``thorough`` make of them against the exact LP and MILP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog
from test_allocate_exact import _random_problem

from workbench.allocate import solver as S


def _band_ok(prob: S.Problem, choice: np.ndarray) -> bool:
    load = S.unit_loads(prob, choice)
    return bool((load <= prob.upper + 1e-6).all() and (load >= prob.lower - 1e-6).all())


def _lp_optimum(prob: S.Problem) -> float:
    c, a_ub, b_ub, a_eq, b_eq, *_ = S._lp_matrices(prob)
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


def _two_role_problem(n: int = 900, m: int = 18, seed: int = 3) -> S.Problem:
    """Two roles that never share a manager: a few lumpy strategic units (60 h) and many small ones (2–20 h)."""
    rng = np.random.default_rng(seed)
    strategic = rng.random(n) < 0.08
    hours = np.where(strategic, 60.0, rng.uniform(2, 20, n)) * rng.uniform(0.8, 1.2, n)
    role = strategic.astype(np.int64)
    m_role = (np.arange(m) < m // 3).astype(np.int64)  # a third of the managers serve the strategic role
    demand = np.bincount(role, weights=hours, minlength=2)
    cap = (demand * 1.12 / np.bincount(m_role, minlength=2))[m_role] * rng.uniform(0.9, 1.1, m)
    target = np.zeros(m)
    for r in (0, 1):
        serve = m_role == r
        target[serve] = demand[r] * cap[serve] / cap[serve].sum()
    owner = np.empty(n, dtype=np.int64)
    for r in (0, 1):
        pool = np.flatnonzero(m_role == r)
        pull = rng.lognormal(0, 0.5, len(pool))
        rows = np.flatnonzero(role == r)
        owner[rows] = rng.choice(pool, size=len(rows), p=pull / pull.sum())
    load = np.bincount(owner, weights=hours, minlength=m)
    cand = S.build_candidates(owner, role, np.zeros(n, int), np.zeros(n, int), m_role, np.zeros(m, int),
                              np.ones(m, np.int64), np.ones(m, bool), target - load, k=5, seed=seed)
    cm = np.where(cand >= 0, cand, 0)
    revenue = hours * rng.lognormal(8, 0.6, n)
    moved = cm != owner[:, None]
    cost = np.where(cand >= 0, 0.15 * revenue[:, None] * moved, 0.0)
    return S.Problem(hours=hours, cand=cand, cost=cost, moves=moved.astype(float),
                     upper=np.minimum(target * 1.15, cap), lower=target * 0.85, target=target, capacity=cap,
                     balance_rate=0.02 * revenue.sum() / hours.sum(), penalty=1e8)


def test_exchange_finds_a_chain_that_no_single_move_can_make():
    """Unit 0 would save 500 by moving to manager 1, but manager 1 is full; manager 1 can hand unit 1 to manager 2
    for 100. No single move improves; the chain 0: 0→1, 1: 1→2 saves 400 and keeps every band."""
    hours = np.array([10.0, 10.0, 10.0, 10.0, 10.0])
    cand = np.array([[0, 1], [1, 2], [1, -1], [0, -1], [2, -1]], dtype=np.int32)
    cost = np.array([[600.0, 100.0], [0.0, 100.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    target = np.array([20.0, 20.0, 10.0])
    prob = S.Problem(hours=hours, cand=cand, cost=cost, moves=np.zeros((5, 2)), upper=np.array([20.0, 20.0, 20.0]),
                     lower=np.array([10.0, 10.0, 10.0]), target=target, capacity=np.array([20.0, 20.0, 20.0]))
    start = np.zeros(5, dtype=np.int64)
    assert np.array_equal(S.improve(prob, start), start)  # no single move helps
    out = S.exchange(prob, start)
    assert out[0] == 1 and out[1] == 1
    assert S.evaluate(prob, out)[0] == pytest.approx(S.evaluate(prob, start)[0] - 400.0)
    assert _band_ok(prob, out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exchange_never_worse_keeps_the_band_and_is_deterministic(seed):
    prob = _random_problem(n=400, m=12, seed=seed, k=5)
    lag = S.solve_lagrangian(prob)
    assert _band_ok(prob, lag.choice)
    a = S.exchange(prob, lag.choice)
    b = S.exchange(prob, lag.choice)
    assert np.array_equal(a, b)
    assert _band_ok(prob, a)
    assert S.evaluate(prob, a)[0] <= lag.objective + 1e-6


def test_components_split_roles_and_refine_solves_a_small_part_exactly():
    prob = _two_role_problem()
    label = S.components(prob)
    assert len(np.unique(label)) == 2  # the two roles never share a manager
    strategic = prob.hours >= 40
    assert len(np.unique(label[strategic])) == 1 and not np.isin(label[strategic], label[~strategic]).any()
    lag = S.solve_lagrangian(prob)
    # the strategic part alone, solved to optimality, must equal the exact MILP restricted to that part
    part = label == label[strategic][0]
    out = S.refine(prob, lag.choice, prices=lag.prices, full_entries=10_000, node_limit=10_000, rel_gap=1e-9)
    assert _band_ok(prob, out)
    fixed = S.Problem(hours=prob.hours, cand=np.where(part[:, None], prob.cand, np.where(
        np.arange(prob.cand.shape[1])[None, :] == out[:, None], prob.cand, -1)), cost=prob.cost, moves=prob.moves,
        upper=prob.upper, lower=prob.lower, target=prob.target, capacity=prob.capacity,
        balance_rate=prob.balance_rate, penalty=prob.penalty)
    # every non-strategic unit pinned where refine left it: the exact MILP cannot beat refine's strategic part
    exact = S.solve_exact(fixed, time_limit=60)
    assert exact.status == "optimal"
    assert S.evaluate(prob, out)[0] <= exact.objective * (1 + 1e-6) + 1e-6


def test_auto_and_thorough_close_to_the_lp_bound_and_deterministic():
    prob = _two_role_problem(n=1500, m=24, seed=7)
    lp = _lp_optimum(prob)
    lag = S.solve(prob, mode="lagrangian")
    auto = S.solve(prob, mode="auto")
    again = S.solve(prob, mode="auto")
    thorough = S.solve(prob, mode="thorough")
    assert np.array_equal(auto.choice, again.choice)
    assert auto.solver == "lagrangian+chains+milp"
    for sol in (auto, thorough):
        assert _band_ok(prob, sol.choice)
        assert sol.lower_bound <= lp * (1 + 1e-9)
    assert auto.objective <= lag.objective + 1e-6
    assert thorough.objective <= auto.objective + 1e-6
    # thorough solves the exact LP: its bound is the LP optimum, not the weaker Lagrangian one
    assert thorough.solver == "lagrangian+chains+milp+lp"
    assert thorough.lower_bound == pytest.approx(lp, rel=1e-7) and auto.lower_bound < thorough.lower_bound
    # the lumpy role carries an integrality gap of its own; the plan must still be near the LP optimum
    assert auto.objective <= lp * 1.03
    assert (lag.objective - lp) > 0 and (auto.objective - lp) < 0.8 * (lag.objective - lp)


def test_big_books_skip_the_milp_in_auto():
    prob = _random_problem(n=300, m=10, seed=4, k=5)
    heard = []
    sol = S.solve(prob, mode="auto", refine_units=100, progress=lambda *a: heard.append(a))
    assert sol.solver == "lagrangian" and heard == [("prices", 0.0), ("done", 1.0)]


@pytest.mark.parametrize("with_limit", [False, True])
def test_lp_prices_give_the_exact_lp_bound(with_limit):
    # the row duals of HiGHS' simplex, read back as manager prices (and a move price), must reproduce the LP
    # optimum through the Lagrangian dual: a sign slip in any of the three band rows or the move row breaks this
    prob = _two_role_problem(n=600, m=15, seed=11)
    if with_limit:
        free = S.solve(prob, mode="lp")
        prob.move_limit = 0.8 * float(prob.moves[np.arange(prob.n_units), free.choice].sum())
    lp = _lp_optimum(prob)
    bound, prices, aux_prices, nu = S.lp_prices(prob)
    assert aux_prices is None and prices.shape == (prob.n_managers,)
    assert bound == pytest.approx(lp, rel=1e-7)
    assert (nu > 0) == with_limit


def test_exact_lp_share_is_the_lp_optimum():
    prob = _two_role_problem(n=600, m=15, seed=11)
    bound, prices, _, _, share = S.exact_lp(prob)
    valid = prob.cand >= 0
    assert share.shape == prob.cand.shape and (share[~valid] == 0).all()
    assert np.allclose(share.sum(axis=1), 1.0) and (share >= -1e-9).all()
    # the primal's own cost (entries + balance slack at its least) is the LP optimum the duals certify
    load = np.bincount(np.where(valid, prob.cand, 0).ravel(), weights=(share * prob.hours[:, None]).ravel(),
                       minlength=prob.n_managers)
    primal = float((share * prob.cost).sum()) + prob.balance_rate * float(np.clip(load - prob.target, 0, None).sum())
    assert primal == pytest.approx(bound, rel=1e-6)
    assert (load <= prob.upper + 1e-6).all() and (load >= prob.lower - 1e-6).all()


def test_rins_frees_exactly_the_units_where_plan_and_relaxation_disagree():
    """Given an integral 'relaxation' (the exact optimum as one-hot shares), RINS from a worse plan frees the units
    that differ, with all their entries, and must recover the optimum; units that agree stay put."""
    prob = _random_problem(n=150, m=8, seed=5, k=5)
    exact = S.solve_exact(prob, time_limit=60)
    assert exact.status == "optimal"
    start = S.solve(prob, mode="lagrangian").choice
    assert S.evaluate(prob, start)[0] > exact.objective * (1 + 1e-6)  # the test needs a worse start
    share = np.zeros(prob.cand.shape)
    share[np.arange(prob.n_units), exact.choice] = 1.0
    out = S.rins(prob, start, share, node_limit=100_000)
    assert S.evaluate(prob, out)[0] == pytest.approx(exact.objective, rel=1e-7)
    agree = start == exact.choice
    assert np.array_equal(out[agree], start[agree])


def test_rins_on_the_lp_never_worse_keeps_the_band_and_is_deterministic():
    prob = _two_role_problem(n=1500, m=24, seed=7)
    share = S.exact_lp(prob)[4]
    start = S.solve(prob, mode="lagrangian").choice
    out = S.rins(prob, start, share)
    assert _band_ok(prob, out) and np.array_equal(out, S.rins(prob, start, share))
    assert S.evaluate(prob, out)[0] < S.evaluate(prob, start)[0]


def test_a_window_over_the_whole_book_solves_it_exactly():
    """One window that holds every manager, with room for every entry and no node limit, is the exact MILP."""
    prob = _random_problem(n=150, m=8, seed=5, k=5)
    exact = S.solve_exact(prob, time_limit=60)
    assert exact.status == "optimal"
    start = S.solve(prob, mode="lagrangian").choice
    assert S.evaluate(prob, start)[0] > exact.objective * (1 + 1e-6)  # the test needs a worse start
    prices = S.exact_lp(prob)[1]
    out = S.windows(prob, start, prices, rounds=1, managers=prob.n_managers, units=10**9, entries=10**9,
                    node_limit=10**6)
    assert S.evaluate(prob, out)[0] == pytest.approx(exact.objective, rel=1e-7)


def test_windows_take_every_role_in_turn_never_worse_and_deterministic():
    prob = _two_role_problem(n=1500, m=24, seed=7)
    parts = S._window_parts(prob, 6)
    assert len(parts) == 6
    strategic = np.arange(prob.n_managers) < prob.n_managers // 3
    # 8 strategic and 16 other managers: two rounds and four, taken in turn, each seeded inside one role
    assert [bool(p[strategic].any()) for p in parts] == [False, True, False, False, True, False]
    assert all(p[strategic].all() or not p[strategic].any() for p in parts)
    prices = S.exact_lp(prob)[1]
    start = S.solve(prob, mode="lagrangian").choice
    out = S.windows(prob, start, prices, rounds=6, managers=6, units=300)
    assert _band_ok(prob, out) and np.array_equal(out, S.windows(prob, start, prices, rounds=6, managers=6, units=300))
    assert S.evaluate(prob, out)[0] < S.evaluate(prob, start)[0]


def test_a_core_of_every_entry_solves_the_book_exactly():
    """With every alternative freed and no node limit, the core is the exact MILP."""
    prob = _random_problem(n=150, m=8, seed=5, k=5)
    exact = S.solve_exact(prob, time_limit=60)
    start = S.solve(prob, mode="lagrangian").choice
    assert exact.status == "optimal" and S.evaluate(prob, start)[0] > exact.objective * (1 + 1e-6)
    out = S.core(prob, start, S.exact_lp(prob)[1], alternatives=10**9, node_limit=10**6)
    assert S.evaluate(prob, out)[0] == pytest.approx(exact.objective, rel=1e-7)


def test_core_frees_the_cheapest_alternatives_never_worse_and_deterministic(monkeypatch):
    prob = _two_role_problem(n=1500, m=24, seed=7)
    prices = S.exact_lp(prob)[1]
    start = S.solve(prob, mode="lagrangian").choice
    freed = []
    real = S._restricted_milp

    def spy(problem, choice, keep, **kw):
        freed.append(keep.copy())
        return real(problem, choice, keep, **kw)

    monkeypatch.setattr(S, "_restricted_milp", spy)
    out = S.core(prob, start, prices, alternatives=400, node_limit=200)
    rows = np.arange(prob.n_units)
    valid = prob.cand >= 0
    val = np.where(valid, prob.cost + prob.hours[:, None] * prices[np.where(valid, prob.cand, 0)], np.inf)
    rc = val - val.min(axis=1)[:, None]
    other = valid.copy()
    other[rows, start] = False
    label = S.components(prob)
    assert len(freed) == 2 == len(np.unique(label))  # one core per role
    for part, keep in zip(np.unique(label), freed):
        inside = (label == part)[:, None]
        assert keep.sum() == 400 and not keep[rows, start].any() and not (keep & ~(valid & inside)).any()
        # the cheapest alternatives anywhere in the role, not per manager or per account
        assert rc[keep].max() <= rc[other & inside & ~keep].min()
    assert _band_ok(prob, out) and S.evaluate(prob, out)[0] < S.evaluate(prob, start)[0]
    assert np.array_equal(out, S.core(prob, start, prices, alternatives=400, node_limit=200))


def test_deep_goes_on_from_thorough():
    prob = _two_role_problem(n=600, m=12, seed=7)
    thorough = S.solve(prob, mode="thorough")
    deep = S.solve(prob, mode="deep", deep_rounds=4, deep_nodes=300)
    assert deep.solver == "lagrangian+chains+milp+lp+windows+core"
    assert _band_ok(prob, deep.choice) and deep.objective <= thorough.objective + 1e-6
    # the progress callback hears every stage once, in order, at rising shares, and changes nothing in the plan
    heard = []
    again = S.solve(prob, mode="deep", deep_rounds=4, deep_nodes=300, progress=lambda *a: heard.append(a))
    assert np.array_equal(deep.choice, again.choice)
    stages = [stage for i, (stage, _) in enumerate(heard) if i == 0 or heard[i - 1][0] != stage]
    assert stages == ["prices", "chains", "exact parts", "deeper parts", "exact LP", "LP-priced parts",
                      "LP disagreements", "windows", "core", "done"]
    shares = [frac for _, frac in heard]
    assert shares == sorted(shares) and shares[0] == 0 and shares[-1] == 1
    # the long stages move the bar as they go: one step per window round and per part of the core
    assert sum(stage == "windows" for stage, _ in heard) == 1 + 4 and sum(stage == "core" for stage, _ in heard) >= 2
    with pytest.raises(ValueError, match="deep"):
        S.solve(prob, mode="deeper")


def test_thorough_works_on_a_missed_band_and_then_goes_on():
    """At a ±2 % band the Lagrangian route (auto) leaves two managers outside; thorough runs more rounds of the band
    MILP around the managers still outside, meets the band, and then goes on with its search from there."""
    from dataclasses import replace

    base = _two_role_problem(n=4000, m=60, seed=2)
    prob = replace(base, upper=np.minimum(base.target * 1.02, base.capacity), lower=base.target * 0.98)
    auto = S.solve(prob, mode="auto")
    assert not _band_ok(prob, auto.choice) and auto.solver == "lagrangian"  # a miss: auto stops there
    heard = []
    thorough = S.solve(prob, mode="thorough", progress=lambda stage, frac: heard.append(stage))
    assert _band_ok(prob, thorough.choice) and thorough.objective < auto.objective
    assert thorough.solver == "lagrangian+chains+milp+lp" and heard[:3] == ["prices", "band", "chains"]
    assert np.array_equal(thorough.choice, S.solve(prob, mode="thorough").choice)

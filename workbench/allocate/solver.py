"""Array-level capacitated assignment: candidate managers per unit, Lagrangian prices, HiGHS LP, exact MILP, repair.

Nothing here knows about books or data frames. A ``Problem`` holds numpy arrays (one row per account unit,
one column per candidate manager) and every solver returns a candidate column per unit. The book-level
``workbench.allocate.reallocate`` builds the arrays; ``bench/allocate.py`` builds them with numpy directly.

The model: each unit ``u`` goes to exactly one of its candidates ``c``; manager ``m``'s load in hours
``sum h_u x_uc`` must lie in ``[lower_m, upper_m]`` (the balance band, capped at capacity); hours above the
manager's target cost ``balance_rate`` per hour; optionally at most ``move_limit`` accounts change owner.
Band and move-limit violations are elastic at ``penalty`` per hour (per account) so that an infeasible input
still yields a plan *and* the size of each violation, which the caller turns into a diagnosis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["Problem", "Solution", "build_candidates", "solve", "solve_lagrangian", "solve_lp", "solve_exact",
           "repair", "evaluate", "unit_loads"]

_TOL = 1e-6


@dataclass
class Problem:
    """One capacitated assignment instance, all arrays.

    Parameters
    ----------
    hours : (n,) hours per year each unit needs.
    cand : (n, k) manager index of each candidate, ``-1`` where a row has fewer than k candidates.
    cost : (n, k) cost (currency) of giving unit u to candidate c (continuity + fit); ignored where cand == -1.
    moves : (n, k) number of owned accounts that change owner if unit u goes to candidate c.
    upper, lower, target : (M,) band upper bound (hours, already capped at capacity), lower bound, target.
    capacity : (M,) capacity in hours per year.
    balance_rate : cost (currency) per hour a manager carries above target.
    move_limit : at most this many accounts may change owner (``None`` = no limit).
    penalty : elastic cost (currency) per hour outside the band / per account beyond the move limit.
    """

    hours: np.ndarray
    cand: np.ndarray
    cost: np.ndarray
    moves: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    target: np.ndarray
    capacity: np.ndarray
    balance_rate: float = 0.0
    move_limit: float | None = None
    penalty: float = 1e6

    @property
    def n_units(self) -> int:
        return len(self.hours)

    @property
    def n_managers(self) -> int:
        return len(self.upper)

    def masked_cost(self) -> np.ndarray:
        """Cost with ``inf`` where a row has no candidate."""
        return np.where(self.cand >= 0, self.cost, np.inf)


@dataclass
class Solution:
    """A plan: chosen candidate column per unit plus what it costs and how sure we are.

    ``objective`` = assignment cost + balance cost + elastic penalties; ``lower_bound`` is a valid lower bound
    on the LP relaxation over the same candidates (so also on any integer plan); ``gap`` = (objective −
    bound) / |objective|.
    """

    choice: np.ndarray
    objective: float
    lower_bound: float
    solver: str
    seconds: float
    status: str = "optimal"
    violations: dict = field(default_factory=dict)
    iterations: int = 0

    @property
    def gap(self) -> float:
        if not np.isfinite(self.lower_bound):
            return float("nan")
        return max(0.0, self.objective - self.lower_bound) / max(abs(self.objective), 1e-9)


def build_candidates(owner: np.ndarray, group: np.ndarray, region: np.ndarray, language: np.ndarray,
                     m_group: np.ndarray, m_region: np.ndarray, m_lang_mask: np.ndarray, m_active: np.ndarray,
                     m_spare: np.ndarray, k: int = 6, seed: int = 0, lock: np.ndarray | None = None) -> np.ndarray:
    """Candidate managers per unit: current owner, the managers with most spare hours nearby, a seeded sample.

    Units are grouped by (eligibility group, region, language); per group the eligible managers are scored
    (same region 2, speaks the language 1) and each unit gets its current owner, the two best-scored managers
    with most spare hours, and a seeded sample of the best-scored tier weighted by spare hours. The loop runs
    over distinct groups (a few hundred at most), never over units.

    Parameters
    ----------
    owner : (n,) current manager index, -1 when unowned or the owner is leaving.
    group : (n,) eligibility group (role code), -1 = any active manager.
    region, language : (n,) region code / language code of the unit, -1 = unknown.
    m_group, m_region : (M,) role code / region code per manager.
    m_lang_mask : (M,) int64 bit mask of languages the manager speaks (bit = language code); 0 = unknown.
    m_active : (M,) manager can take accounts.
    m_spare : (M,) spare hours (target minus current load; negative when over target).
    k : candidates per unit.
    seed : random seed for the sample.
    lock : (n,) manager index the unit is locked to, -1 = free. A locked unit's only candidate is that manager.

    Returns
    -------
    (n, k) int32 manager indices, ``-1`` padded; each row's entries are distinct.
    """
    n = len(owner)
    M = len(m_group)
    rng = np.random.default_rng(seed)
    cand = np.full((n, k), -1, dtype=np.int64)
    owner_ok = (owner >= 0) & m_active[np.clip(owner, 0, M - 1)]
    cand[:, 0] = np.where(owner_ok, owner, -1)
    key = (group.astype(np.int64) + 1) * 1_000_003 + (region.astype(np.int64) + 1) * 1_009 + (language + 1)
    uniq, inv = np.unique(key, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(uniq) + 1))
    all_idx = np.arange(M)
    spare_w = np.clip(m_spare, 0, None) + 1e-3 * np.maximum(np.abs(m_spare).max(initial=0.0), 1.0)
    for gi in range(len(uniq)):
        rows = order[bounds[gi]:bounds[gi + 1]]
        g, r, lg = group[rows[0]], region[rows[0]], language[rows[0]]
        elig = m_active & ((m_group == g) | (g < 0))
        if not elig.any():
            elig = m_active.copy()
        idx = all_idx[elig]
        score = 2.0 * ((m_region[idx] == r) & (r >= 0))
        if lg >= 0:
            score = score + ((m_lang_mask[idx] >> lg) & 1)
        tier = idx[score == score.max()]
        # two managers with most spare hours in the best tier, then the same among all eligible
        top = tier[np.argsort(-m_spare[tier], kind="stable")[:2]]
        wide = idx[np.argsort(-(m_spare[idx] + 1e-9 * score), kind="stable")[:1]]
        fixed = np.concatenate([top, wide])
        n_rand = max(k - 1, 1) + 2
        w = spare_w[tier] + spare_w[tier].mean()
        cdf = np.cumsum(w) / w.sum()
        draw = tier[np.minimum(np.searchsorted(cdf, rng.random((len(rows), n_rand))), len(tier) - 1)]
        pool = np.concatenate([np.broadcast_to(fixed, (len(rows), len(fixed))), draw], axis=1)
        # interleave: sample first so units spread over the tier, fixed spare managers after
        pool = np.concatenate([draw[:, : max(k - 1 - len(fixed), 1)], pool], axis=1)
        cand[rows] = _first_distinct(np.concatenate([cand[rows, :1], pool], axis=1), k)
    if lock is not None:
        locked = lock >= 0
        cand[locked] = -1
        cand[locked, 0] = lock[locked]
    return cand.astype(np.int32)


def _first_distinct(pool: np.ndarray, k: int) -> np.ndarray:
    """Per row, the first ``k`` distinct non-negative entries of ``pool`` in order (``-1`` padded)."""
    n, w = pool.shape
    srt = np.argsort(pool, axis=1, kind="stable")
    vals = np.take_along_axis(pool, srt, axis=1)
    dup = np.zeros_like(vals, dtype=bool)
    dup[:, 1:] = vals[:, 1:] == vals[:, :-1]
    keep_sorted = ~dup & (vals >= 0)
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, srt, keep_sorted, axis=1)
    # stable compaction of kept entries to the left
    pos = np.cumsum(keep, axis=1) - 1
    out = np.full((n, k), -1, dtype=pool.dtype)
    r, c = np.nonzero(keep & (pos < k))
    out[r, pos[r, c]] = pool[r, c]
    return out


def unit_loads(problem: Problem, choice: np.ndarray) -> np.ndarray:
    """Hours per manager for ``choice`` (candidate column per unit)."""
    mgr = problem.cand[np.arange(problem.n_units), choice]
    return np.bincount(mgr, weights=problem.hours, minlength=problem.n_managers)


def evaluate(problem: Problem, choice: np.ndarray) -> tuple[float, dict]:
    """Objective of a plan and its violations (hours over band/capacity, hours under band, moves over limit)."""
    rows = np.arange(problem.n_units)
    base = float(problem.cost[rows, choice].sum())
    load = unit_loads(problem, choice)
    over_band = np.clip(load - problem.upper, 0, None)
    under_band = np.clip(problem.lower - load, 0, None)
    over_cap = np.clip(load - problem.capacity, 0, None)
    moved = float(problem.moves[rows, choice].sum())
    over_moves = max(0.0, moved - problem.move_limit) if problem.move_limit is not None else 0.0
    balance = problem.balance_rate * float(np.clip(load - problem.target, 0, None).sum())
    pen = problem.penalty * (float(over_band.sum() + under_band.sum()) + over_moves)
    viol = {"over_band_hours": over_band, "under_band_hours": under_band, "over_capacity_hours": over_cap,
            "moves": moved, "moves_over_limit": over_moves, "assignment_cost": base, "balance_cost": balance}
    return base + balance + pen, viol


def _is_clean(viol: dict, problem: Problem) -> bool:
    tol = 1e-6 * max(float(problem.hours.sum()), 1.0)
    return (viol["over_band_hours"].sum() <= tol and viol["under_band_hours"].sum() <= tol
            and viol["moves_over_limit"] <= 1e-9)


def repair(problem: Problem, choice: np.ndarray, prices: np.ndarray | None = None, rounds: int = 60) -> np.ndarray:
    """Move units until every manager is inside its band (as far as the candidates allow), cheapest first.

    Each round is vectorised: units on managers above their upper bound move to their cheapest candidate
    with room (cost per hour freed, ascending, until the excess is gone); managers under their lower bound
    pull units from managers that can spare them; if the move limit is exceeded, the moves that save least
    per account are undone where the band allows. ``prices`` (currency per hour, per manager) break ties
    towards managers the price signal marks as short of work.
    """
    choice = choice.copy()
    n, k = problem.cand.shape
    rows = np.arange(n)
    h = problem.hours
    cand = problem.cand
    valid = cand >= 0
    cmg = np.where(valid, cand, 0)
    cost = problem.masked_cost()
    pr = np.zeros(problem.n_managers) if prices is None else prices
    steer = cost + 1e-6 * h[:, None] * pr[cmg]
    hscale = max(float(h.mean()), 1e-9)
    for _ in range(rounds):
        mgr = cand[rows, choice]
        load = np.bincount(mgr, weights=h, minlength=problem.n_managers)
        excess = load - problem.upper
        deficit = problem.lower - load
        changed = False
        if (excess > _TOL * hscale).any():
            changed |= _shed(problem, choice, mgr, load, excess, steer, cost, valid, cmg, rows)
            mgr = cand[rows, choice]
            load = np.bincount(mgr, weights=h, minlength=problem.n_managers)
            deficit = problem.lower - load
        if (deficit > _TOL * hscale).any():
            changed |= _pull(problem, choice, mgr, load, deficit, steer, cost, valid, cmg, rows)
        if not changed:
            break
    if problem.move_limit is not None:
        choice = _trim_moves(problem, choice, cost, rows)
    return choice


def _group_prefix(group: np.ndarray, amount: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Given rows sorted by ``group``, keep the prefix of each group whose cumulative amount before the row is
    below ``need[group]`` (so the last kept row is the one that covers the need)."""
    csum = np.cumsum(amount)
    start = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    first = np.zeros(len(group), dtype=np.int64)
    first[start] = 1
    gid = np.cumsum(first) - 1
    before = csum - amount - (csum[start] - amount[start])[gid]
    return before < need[group]


def _fit_room(dest: np.ndarray, amount: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Given rows sorted by priority, keep rows whose cumulative amount per ``dest`` stays within ``room[dest]``."""
    order = np.argsort(dest, kind="stable")
    d = dest[order]
    a = amount[order]
    csum = np.cumsum(a)
    start = np.r_[0, np.flatnonzero(d[1:] != d[:-1]) + 1] if len(d) else np.array([], dtype=np.int64)
    first = np.zeros(len(d), dtype=np.int64)
    first[start] = 1
    gid = np.cumsum(first) - 1
    within = csum - (csum[start] - a[start])[gid]
    ok = np.zeros(len(dest), dtype=bool)
    ok[order] = within <= room[d] + 1e-9
    return ok


def _shed(problem, choice, mgr, load, excess, steer, cost, valid, cmg, rows) -> bool:
    h = problem.hours
    on_over = excess[mgr] > 1e-9
    u = rows[on_over]
    if not len(u):
        return False
    room = problem.upper - load
    ok = valid[u] & (room[cmg[u]] >= h[u, None] - 1e-9) & (np.arange(problem.cand.shape[1])[None, :] != choice[u, None])
    alt = np.where(ok, steer[u], np.inf)
    best = np.argmin(alt, axis=1)
    has = np.isfinite(alt[np.arange(len(u)), best])
    u, best = u[has], best[has]
    if not len(u):
        return False
    ratio = (cost[u, best] - cost[u, choice[u]]) / np.maximum(h[u], 1e-9)
    src = mgr[u]
    order = np.lexsort((u, ratio, src))
    u, best, src = u[order], best[order], src[order]
    take = _group_prefix(src, h[u], excess)
    u, best = u[take], best[take]
    fits = _fit_room(cmg[u, best], h[u], room)
    u, best = u[fits], best[fits]
    if not len(u):
        return False
    choice[u] = best
    return True


def _pull(problem, choice, mgr, load, deficit, steer, cost, valid, cmg, rows) -> bool:
    h = problem.hours
    k = problem.cand.shape[1]
    short = deficit > 1e-9
    room = problem.upper - load
    spare_src = load - np.maximum(problem.lower, 0)
    ok = valid & short[cmg] & (np.arange(k)[None, :] != choice[:, None])
    ok &= room[cmg] >= h[:, None] - 1e-9
    ok &= (spare_src[mgr] >= h - 1e-9)[:, None]
    ok &= ~short[mgr][:, None]
    if not ok.any():
        return False
    alt = np.where(ok, steer, np.inf)
    best = np.argmin(alt, axis=1)
    u = np.flatnonzero(np.isfinite(alt[rows, best]))
    best = best[u]
    dest = cmg[u, best]
    ratio = (cost[u, best] - cost[u, choice[u]]) / np.maximum(h[u], 1e-9)
    order = np.lexsort((u, ratio, dest))
    u, best, dest = u[order], best[order], dest[order]
    take = _group_prefix(dest, h[u], deficit)
    u, best = u[take], best[take]
    fits = _fit_room(cmg[u, best], h[u], room) & _fit_room(mgr[u], h[u], spare_src)
    u, best = u[fits], best[fits]
    if not len(u):
        return False
    choice[u] = best
    return True


def _trim_moves(problem: Problem, choice: np.ndarray, cost: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Undo the moves that save least per account until the move limit holds, where the band still allows."""
    mv = problem.moves[rows, choice]
    extra = mv.sum() - problem.move_limit
    if extra <= 1e-9:
        return choice
    h = problem.hours
    for _ in range(20):
        mgr = problem.cand[rows, choice]
        load = np.bincount(mgr, weights=h, minlength=problem.n_managers)
        mv = problem.moves[rows, choice]
        extra = mv.sum() - problem.move_limit
        if extra <= 1e-9:
            break
        # the candidate with fewest moves (normally the current owner)
        ok = (problem.cand >= 0) & (problem.moves < mv[:, None])
        fewest = np.argmin(np.where(ok, problem.moves * 1e12 + cost, np.inf), axis=1)
        u = np.flatnonzero(ok[rows, fewest])
        if not len(u):
            break
        back = fewest[u]
        dest = problem.cand[u, back]
        saved = mv[u] - problem.moves[u, back]
        ratio = (cost[u, back] - cost[u, choice[u]]) / np.maximum(saved, 1e-9)
        order = np.argsort(ratio, kind="stable")
        u, back, dest, saved = u[order], back[order], dest[order], saved[order]
        room = problem.upper - load
        spare_src = load - problem.lower
        fits = _fit_room(dest, h[u], room) & _fit_room(mgr[u], h[u], spare_src)
        u, back, saved = u[fits], back[fits], saved[fits]
        if not len(u):
            break
        need = np.cumsum(saved) - saved < extra
        choice[u[need]] = back[need]
    return choice


def solve_lagrangian(problem: Problem, iterations: int = 120, target_gap: float = 0.002,
                     seed: int = 0) -> Solution:
    """Lagrangian prices on the manager bands (subgradient with Polyak steps) plus a repair pass.

    Every iteration is a handful of numpy operations over the (n, k) candidate arrays: reduced cost = cost +
    hours × price of the candidate's manager; each unit takes its cheapest candidate; loads are summed with
    ``bincount``. The dual value is a valid lower bound; every few iterations the current plan is repaired and
    the best feasible plan kept. Deterministic (``seed`` is not used for randomness; kept for signature parity).
    """
    t0 = time.perf_counter()
    n, k = problem.cand.shape
    M = problem.n_managers
    rows = np.arange(n)
    h = problem.hours
    cost = problem.masked_cost()
    cmg = np.where(problem.cand >= 0, problem.cand, 0)
    hc = h[:, None]
    P = problem.penalty
    beta = problem.balance_rate
    lam_u = np.zeros(M)
    mu_l = np.zeros(M)
    lam_t = np.zeros(M)
    nu = 0.0
    has_limit = problem.move_limit is not None
    moves = problem.moves

    best_choice = np.argmin(cost, axis=1)
    best_choice = repair(problem, best_choice)
    ub, _ = evaluate(problem, best_choice)
    lb = -np.inf
    theta = 1.0
    stall = 0
    best_pi = np.zeros(M)
    it = 0
    for it in range(1, iterations + 1):
        pi = lam_u - mu_l + lam_t
        rc = cost + hc * pi[cmg]
        if has_limit and nu > 0:
            rc = rc + nu * moves
        ch = np.argmin(rc, axis=1)
        rmin = rc[rows, ch]
        load = np.bincount(cmg[rows, ch], weights=h, minlength=M)
        dual = float(rmin.sum() - lam_u @ problem.upper + mu_l @ problem.lower - lam_t @ problem.target)
        moved = float(moves[rows, ch].sum()) if has_limit else 0.0
        if has_limit:
            dual -= nu * problem.move_limit
        if not np.isfinite(lb) or dual > lb + 1e-12 * max(abs(lb), 1.0):
            lb = dual
            best_pi = pi
            stall = 0
        else:
            stall += 1
            if stall >= 6:
                theta *= 0.5
                stall = 0
        if it % 10 == 0 or it == iterations:
            cand_plan = repair(problem, ch, prices=pi)
            val, _ = evaluate(problem, cand_plan)
            if val < ub:
                ub, best_choice = val, cand_plan
        if ub - lb <= target_gap * max(abs(ub), 1e-9):
            break
        g_u = load - problem.upper
        g_l = problem.lower - load
        g_t = load - problem.target
        # projected subgradient: components that would push a multiplier below 0 (or above its cap) are dropped
        g_u = np.where((lam_u <= 0) & (g_u < 0), 0, np.where((lam_u >= P) & (g_u > 0), 0, g_u))
        g_l = np.where((mu_l <= 0) & (g_l < 0), 0, np.where((mu_l >= P) & (g_l > 0), 0, g_l))
        g_t = np.where((lam_t <= 0) & (g_t < 0), 0, np.where((lam_t >= beta) & (g_t > 0), 0, g_t))
        g_n = moved - problem.move_limit if has_limit else 0.0
        if has_limit and nu <= 0 and g_n < 0:
            g_n = 0.0
        norm = float(g_u @ g_u + g_l @ g_l + g_t @ g_t + g_n * g_n)
        if norm <= 1e-18:
            break
        step = theta * max(ub - dual, 1e-9 * max(abs(ub), 1.0)) / norm
        lam_u = np.clip(lam_u + step * g_u, 0, P)
        mu_l = np.clip(mu_l + step * g_l, 0, P)
        lam_t = np.clip(lam_t + step * g_t, 0, beta)
        if has_limit:
            nu = float(np.clip(nu + step * g_n, 0, P))
    final = repair(problem, best_choice, prices=best_pi)
    val, viol = evaluate(problem, final)
    if val > ub:
        final, val = best_choice, ub
        _, viol = evaluate(problem, final)
    sol = Solution(choice=final, objective=val, lower_bound=lb, solver="lagrangian",
                   seconds=time.perf_counter() - t0, iterations=it, violations=viol)
    sol.status = "optimal" if sol.gap <= target_gap else "feasible"
    return sol


def _lp_matrices(problem: Problem):
    """Sparse LP over the valid candidate entries: x (one per valid entry), then per manager the balance
    slack s, the elastic over-band e+ and under-band e-, then one elastic move slack."""
    n, k = problem.cand.shape
    M = problem.n_managers
    valid = problem.cand >= 0
    ur, uc = np.nonzero(valid)
    nx = len(ur)
    mg = problem.cand[ur, uc].astype(np.int64)
    hx = problem.hours[ur]
    beta = problem.balance_rate
    has_limit = problem.move_limit is not None
    c = np.concatenate([problem.cost[ur, uc], np.full(M, beta), np.full(M, problem.penalty),
                        np.full(M, problem.penalty), [problem.penalty] if has_limit else []])
    n_var = len(c)
    s0, ep0, em0 = nx, nx + M, nx + 2 * M
    a_eq = sp.csr_matrix((np.ones(nx), (ur, np.arange(nx))), shape=(n, n_var))
    b_eq = np.ones(n)
    mi = np.arange(M)
    # rows 0..M-1: load - e+ <= upper; M..2M-1: -load - e- <= -lower; 2M..3M-1: load - s <= target
    r = [mg, np.full(M, 0) + mi, M + mg, M + mi, 2 * M + mg, 2 * M + mi]
    cc = [np.arange(nx), ep0 + mi, np.arange(nx), em0 + mi, np.arange(nx), s0 + mi]
    v = [hx, -np.ones(M), -hx, -np.ones(M), hx, -np.ones(M)]
    b_ub = [problem.upper, -problem.lower, problem.target]
    n_rows = 3 * M
    if has_limit:
        mvx = problem.moves[ur, uc]
        nz = mvx > 0
        r += [np.full(int(nz.sum()), n_rows), [n_rows]]
        cc += [np.flatnonzero(nz), [n_var - 1]]
        v += [mvx[nz], [-1.0]]
        b_ub.append([problem.move_limit])
        n_rows += 1
    a_ub = sp.csr_matrix((np.concatenate(v), (np.concatenate(r), np.concatenate(cc))), shape=(n_rows, n_var))
    return c, a_ub, np.concatenate(b_ub), a_eq, b_eq, ur, uc, nx


def solve_lp(problem: Problem, time_limit: float = 60.0) -> Solution:
    """HiGHS LP relaxation (exact lower bound), rounded to the largest share per unit, then repaired.

    A basic LP solution of this model has at most about as many fractional units as there are managers, so
    rounding moves few hours and the repair pass restores the band; the plan is typically within a fraction of
    a percent of the bound.
    """
    from scipy.optimize import linprog

    t0 = time.perf_counter()
    c, a_ub, b_ub, a_eq, b_eq, ur, uc, nx = _lp_matrices(problem)
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs",
                  options={"time_limit": time_limit, "presolve": True})
    if res.status != 0 or res.x is None:
        sol = solve_lagrangian(problem)
        sol.solver = f"lagrangian (LP failed: {res.message})"
        return sol
    n, k = problem.cand.shape
    share = np.full((n, k), -1.0)
    share[ur, uc] = res.x[:nx]
    choice = np.argmax(share, axis=1)
    M = problem.n_managers
    prices = None
    if getattr(res, "ineqlin", None) is not None and res.ineqlin.marginals is not None:
        mg = res.ineqlin.marginals
        prices = -(mg[:M] - mg[M:2 * M] + mg[2 * M:3 * M])
    final = repair(problem, choice, prices=prices)
    val, viol = evaluate(problem, final)
    sol = Solution(choice=final, objective=val, lower_bound=float(res.fun), solver="highs-lp",
                   seconds=time.perf_counter() - t0, violations=viol)
    sol.status = "optimal" if sol.gap <= 1e-6 else "feasible"
    return sol


def solve_exact(problem: Problem, time_limit: float = 60.0) -> Solution:
    """Exact integer program over the candidates with scipy ``milp`` (HiGHS branch and bound); small books."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    c, a_ub, b_ub, a_eq, b_eq, ur, uc, nx = _lp_matrices(problem)
    integrality = np.zeros(len(c))
    integrality[:nx] = 1
    cons = [LinearConstraint(a_eq, b_eq, b_eq), LinearConstraint(a_ub, -np.inf, b_ub)]
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(0, np.inf),
               options={"time_limit": time_limit, "mip_rel_gap": 1e-7})
    if res.x is None:
        raise RuntimeError(f"exact solver found no plan: {res.message}")
    n, k = problem.cand.shape
    share = np.full((n, k), -1.0)
    share[ur, uc] = res.x[:nx]
    choice = np.argmax(share, axis=1)
    val, viol = evaluate(problem, choice)
    bound = float(getattr(res, "mip_dual_bound", None) or res.fun)
    sol = Solution(choice=choice, objective=val, lower_bound=min(bound, val), solver="highs-milp",
                   seconds=time.perf_counter() - t0, violations=viol,
                   status="optimal" if res.status == 0 else "feasible")
    return sol


def solve(problem: Problem, mode: str = "auto", time_limit: float = 60.0, lp_max_entries: int = 120_000) -> Solution:
    """Pick the method: ``"exact"`` (MILP), ``"lp"`` (HiGHS LP + rounding), ``"lagrangian"``, or ``"auto"``
    (LP up to ``lp_max_entries`` candidate entries, Lagrangian above)."""
    if mode == "exact":
        return solve_exact(problem, time_limit)
    if mode == "lp":
        return solve_lp(problem, time_limit)
    if mode == "lagrangian":
        return solve_lagrangian(problem)
    if mode != "auto":
        raise ValueError(f"unknown solver mode {mode!r}; expected auto, exact, lp or lagrangian")
    entries = int((problem.cand >= 0).sum())
    return solve_lp(problem, time_limit) if entries <= lp_max_entries else solve_lagrangian(problem)

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
           "repair", "improve", "polish", "restore_band", "evaluate", "unit_loads"]

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
        """Cost with ``inf`` where a row has no candidate (computed once; treat as read-only)."""
        cached = self.__dict__.get("_masked")
        if cached is None:
            cached = np.where(self.cand >= 0, self.cost, np.inf)
            self.__dict__["_masked"] = cached
        return cached

    def entry_index(self) -> _EntryIndex:
        """Candidate entries grouped by manager (computed once)."""
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = _EntryIndex(np.where(self.cand >= 0, self.cand, 0), self.cand >= 0, self.n_managers)
            self.__dict__["_index"] = cached
        return cached


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
        # shared by the group: the two managers with most spare hours in the best tier and the one among all
        top = tier[np.argsort(-m_spare[tier], kind="stable")[:2]]
        wide = idx[np.argsort(-(m_spare[idx] + 1e-9 * score), kind="stable")[:1]]
        # per unit: a seeded sample, mostly from the best tier, and from all eligible managers weighted by fit
        # and spare hours so that thin tiers (one local manager) still give every unit real alternatives
        near = _sample(rng, tier, spare_w[tier] + spare_w[tier].mean(), len(rows), max(k // 2, 1))
        w_all = (4.0 ** score) * (spare_w[idx] + spare_w[idx].mean())
        far = _sample(rng, idx, w_all, len(rows), k)
        pool = np.concatenate([cand[rows, :1], near, np.broadcast_to(top, (len(rows), len(top))),
                               np.broadcast_to(wide, (len(rows), 1)), far], axis=1)
        cand[rows] = _first_distinct(pool, k)
    if lock is not None:
        locked = lock >= 0
        cand[locked] = -1
        cand[locked, 0] = lock[locked]
    return cand.astype(np.int32)


def _sample(rng: np.random.Generator, items: np.ndarray, weight: np.ndarray, rows: int, size: int) -> np.ndarray:
    """``rows × size`` draws (with replacement) from ``items`` with probability proportional to ``weight``."""
    cdf = np.cumsum(weight) / weight.sum()
    return items[np.minimum(np.searchsorted(cdf, rng.random((rows, size))), len(items) - 1)]


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
    pr = np.zeros(problem.n_managers) if prices is None else np.asarray(prices, dtype=float)
    steer = cost + h[:, None] * pr[cmg]
    hscale = max(float(h.mean()), 1e-9)
    index = problem.entry_index()
    for _ in range(rounds):
        mgr = cand[rows, choice]
        load = np.bincount(mgr, weights=h, minlength=problem.n_managers)
        excess = load - problem.upper
        deficit = problem.lower - load
        changed = False
        if (excess > _TOL * hscale).any():
            changed |= _shed(problem, choice, mgr, load, excess, steer, valid, cmg, index)
            mgr = cand[rows, choice]
            load = np.bincount(mgr, weights=h, minlength=problem.n_managers)
            deficit = problem.lower - load
        if (deficit > _TOL * hscale).any():
            changed |= _pull(problem, choice, mgr, load, deficit, steer, valid, cmg, index)
        if not changed:
            break
    if problem.move_limit is not None:
        choice = _trim_moves(problem, choice, cost, rows)
    return choice


def improve(problem: Problem, choice: np.ndarray, rounds: int = 30) -> np.ndarray:
    """Local search that keeps every band edge: move single units to a cheaper candidate while the source stays
    above its lower edge and the destination below its upper edge (cost, balance and move limit included).

    Only units that are not on their cheapest candidate are considered (a unit already there cannot gain
    more than the balance term, which is far smaller than any move cost). Each round takes, per unit, its best
    improving move, then accepts the best moves in order as long as the cumulative hours fit each
    destination's room and each source's spare hours; managers that receive in a round do not give in it, so
    the estimated gains are exact. A round that does not lower the objective is undone and the search stops.
    """
    choice = choice.copy()
    n, k = problem.cand.shape
    rows = np.arange(n)
    h = problem.hours
    cost = problem.masked_cost()
    cmg_all = np.where(problem.cand >= 0, problem.cand, 0)
    row_min = cost.min(axis=1)
    beta = problem.balance_rate
    best_val, _ = evaluate(problem, choice)
    eps = 1e-9 * max(abs(best_val), 1.0)
    for _ in range(rounds):
        mgr_all = cmg_all[rows, choice]
        load = np.bincount(mgr_all, weights=h, minlength=problem.n_managers)
        mv_all = problem.moves[rows, choice]
        act = np.flatnonzero(cost[rows, choice] > row_min + 1e-9)
        if not len(act):
            break
        cmg, hh, cc, mg = cmg_all[act], h[act], cost[act], mgr_all[act]
        over_t = np.clip(load - problem.target, 0, None)
        cur = cc[np.arange(len(act)), choice[act]]
        src_gain = np.minimum(hh, over_t[mg])
        dst_load = load[cmg] + hh[:, None]
        dst_inc = np.clip(dst_load - problem.target[cmg], 0, None) - over_t[cmg]
        delta = cc - cur[:, None] + beta * (dst_inc - src_gain[:, None])
        ok = (problem.cand[act] >= 0) & (cmg != mg[:, None]) & (dst_load <= problem.upper[cmg] + 1e-9)
        ok &= (load[mg] - hh >= problem.lower[mg] - 1e-9)[:, None]
        if problem.move_limit is not None:
            slack = problem.move_limit - float(mv_all.sum())
            ok &= (problem.moves[act] <= mv_all[act][:, None]) | (slack > 0)
        delta = np.where(ok, delta, np.inf)
        best = np.argmin(delta, axis=1)
        gain = delta[np.arange(len(act)), best]
        sel = np.flatnonzero(gain < -eps)
        if not len(sel):
            break
        sel = sel[np.argsort(gain[sel], kind="stable")]
        u, b = act[sel], best[sel]
        dest, src = cmg_all[u, b], mgr_all[u]
        receives = np.zeros(problem.n_managers, dtype=bool)
        receives[dest] = True
        keep = ~receives[src]
        u, b, dest, src = u[keep], b[keep], dest[keep], src[keep]
        fits = _fit_room(dest, h[u], problem.upper - load) & _fit_room(src, h[u], load - problem.lower)
        if problem.move_limit is not None:
            extra = np.clip(problem.moves[u, b] - mv_all[u], 0, None)
            fits &= np.cumsum(np.where(fits, extra, 0)) <= max(problem.move_limit - float(mv_all.sum()), 0) + 1e-9
        u, b = u[fits], b[fits]
        if not len(u):
            break
        old = choice[u].copy()
        choice[u] = b
        val, _ = evaluate(problem, choice)
        if val >= best_val - eps:
            choice[u] = old
            break
        best_val = val
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


def _choose(group: np.ndarray, u: np.ndarray, d: np.ndarray, hu: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Per group (the manager whose violation is being fixed) pick the moves that cover ``need[group]`` hours:
    the cheapest-per-hour prefix, or a single move that covers the need alone when that costs less (so a
    one-hour excess is not fixed by moving a 60-hour account). Returns a mask over the rows."""
    n_m = len(need)
    order = np.lexsort((u, d / np.maximum(hu, 1e-9), group))
    g_s, d_s, h_s = group[order], d[order], hu[order]
    take = _group_prefix(g_s, h_s, need)
    prefix_cost = np.bincount(g_s[take], weights=d_s[take], minlength=n_m)
    covered = np.bincount(g_s[take], weights=h_s[take], minlength=n_m) >= need - 1e-9
    cover = np.flatnonzero(h_s >= need[g_s] - 1e-9)
    single_cost = np.full(n_m, np.inf)
    single_row = np.full(n_m, -1)
    if len(cover):
        o2 = cover[np.lexsort((d_s[cover], g_s[cover]))]
        first = np.r_[True, g_s[o2][1:] != g_s[o2][:-1]]
        single_cost[g_s[o2[first]]] = d_s[o2[first]]
        single_row[g_s[o2[first]]] = o2[first]
    use_single = (single_row >= 0) & ((single_cost < prefix_cost - 1e-9) | ~covered)
    mask_s = take & ~use_single[g_s]
    mask_s[single_row[use_single]] = True
    mask = np.zeros(len(group), dtype=bool)
    mask[order] = mask_s
    return mask


def _shed(problem, choice, mgr, load, excess, steer, valid, cmg, index) -> bool:
    h = problem.hours
    u = np.flatnonzero(excess[mgr] > 1e-9)
    if not len(u):
        return False
    room = problem.upper - load
    k = problem.cand.shape[1]
    ok = valid[u] & (room[cmg[u]] >= h[u, None] - 1e-9) & (np.arange(k)[None, :] != choice[u, None])
    alt = np.where(ok, steer[u], np.inf)
    best = np.argmin(alt, axis=1)
    has = np.isfinite(alt[np.arange(len(u)), best])
    u, best = u[has], best[has]
    if not len(u):
        return False
    d = steer[u, best] - steer[u, choice[u]]
    pick = _choose(mgr[u], u, d, h[u], np.clip(excess, 0, None))
    u, best, d = u[pick], best[pick], d[pick]
    o = np.argsort(d / np.maximum(h[u], 1e-9), kind="stable")
    u, best = u[o], best[o]
    fits = _fit_room(cmg[u, best], h[u], room)
    u, best = u[fits], best[fits]
    if not len(u):
        return False
    choice[u] = best
    return True


def _pull(problem, choice, mgr, load, deficit, steer, valid, cmg, index) -> bool:
    h = problem.hours
    k = problem.cand.shape[1]
    short = deficit > 1e-9
    room = problem.upper - load
    spare_src = load - np.maximum(problem.lower, 0)
    flat = index.entries_of(np.flatnonzero(short))
    u, c = np.divmod(flat, k)
    ok = (c != choice[u]) & (room[cmg[u, c]] >= h[u] - 1e-9) & (spare_src[mgr[u]] >= h[u] - 1e-9) & ~short[mgr[u]]
    u, c = u[ok], c[ok]
    if not len(u):
        return False
    d = steer[u, c] - steer[u, choice[u]]
    o = np.lexsort((d, u))  # one entry per unit: its cheapest short destination
    u, c, d = u[o], c[o], d[o]
    first = np.r_[True, u[1:] != u[:-1]]
    u, c, d = u[first], c[first], d[first]
    dest = cmg[u, c]
    pick = _choose(dest, u, d, h[u], np.clip(deficit, 0, None))
    u, c, d = u[pick], c[pick], d[pick]
    o = np.argsort(d / np.maximum(h[u], 1e-9), kind="stable")
    u, c = u[o], c[o]
    fits = _fit_room(cmg[u, c], h[u], room) & _fit_room(mgr[u], h[u], spare_src)
    u, c = u[fits], c[fits]
    if not len(u):
        return False
    choice[u] = c
    return True


class _EntryIndex:
    """Flat (unit, candidate) entries grouped by manager, to find every unit that could go to given managers."""

    def __init__(self, cmg: np.ndarray, valid: np.ndarray, n_managers: int):
        flat_m = np.where(valid, cmg, n_managers).ravel()
        self.order = np.argsort(flat_m, kind="stable")
        self.start = np.searchsorted(flat_m[self.order], np.arange(n_managers + 1))

    def entries_of(self, managers: np.ndarray) -> np.ndarray:
        if not len(managers):
            return np.zeros(0, dtype=np.int64)
        lo, hi = self.start[managers], self.start[managers + 1]
        lens = hi - lo
        total = int(lens.sum())
        offs = np.repeat(lo - np.r_[0, np.cumsum(lens)[:-1]], lens)
        return self.order[offs + np.arange(total)]


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


def _price_scale(problem: Problem) -> float:
    """Typical cost per hour of a move (median over entries that cost more than the unit's cheapest)."""
    cost = problem.masked_cost()
    extra = cost - cost.min(axis=1, keepdims=True)
    per_h = extra / np.maximum(problem.hours, 1e-9)[:, None]
    vals = per_h[np.isfinite(per_h) & (extra > 0)]
    if not len(vals):
        return max(problem.balance_rate, 1.0)
    return float(np.median(vals[:: max(len(vals) // 200_000, 1)]))


def _dual_value(problem: Problem, pi: np.ndarray, nu: float = 0.0) -> float:
    """Lagrangian dual value (float64) at manager prices ``pi`` (split into band/target multipliers) and move
    price ``nu``: a valid lower bound on the LP over the same candidates."""
    cmg = np.where(problem.cand >= 0, problem.cand, 0)
    rc = problem.masked_cost() + problem.hours[:, None] * pi[cmg]
    if problem.move_limit is not None and nu > 0:
        rc = rc + nu * problem.moves
    # split pi into lam_u - mu_l + lam_t with lam_t in [0, beta]: the split that maximises the dual
    beta = problem.balance_rate
    lam_t = np.clip(pi, 0, beta)
    lam_u = np.clip(pi - beta, 0, None)
    mu_l = np.clip(-pi, 0, None)
    val = float(rc.min(axis=1).sum() - lam_u @ problem.upper + mu_l @ problem.lower - lam_t @ problem.target)
    if problem.move_limit is not None:
        val -= nu * problem.move_limit
    return val


def _violated(problem: Problem, viol: dict) -> np.ndarray:
    tol = 1e-6 * np.maximum(problem.target, 1.0)
    return np.flatnonzero((viol["over_band_hours"] > tol) | (viol["under_band_hours"] > tol))


def restore_band(problem: Problem, choice: np.ndarray, prices: np.ndarray | None = None,
                 max_units: int = 4000) -> np.ndarray:
    """When repair leaves managers outside the band (it moves one unit at a time and cannot see chains),
    re-solve exactly around them: every unit that is on, or could go to, a violated manager or one of that
    unit's other candidates is freed (up to ``max_units``) and the band is restored by the MILP polish."""
    _, viol = evaluate(problem, choice)
    bad = _violated(problem, viol)
    if not len(bad):
        return choice
    cmg = np.where(problem.cand >= 0, problem.cand, 0)
    valid = problem.cand >= 0
    rows = np.arange(problem.n_units)
    cur = cmg[rows, choice]
    ring = np.zeros(problem.n_managers, dtype=bool)
    ring[bad] = True
    for _ in range(2):  # violated managers, then the managers their units could go to
        touch = ring[cur] | (ring[cmg] & valid).any(axis=1)
        nxt = ring.copy()
        nxt[cmg[touch][valid[touch]]] = True
        if int(touch.sum()) > max_units:
            break
        ring = nxt
    touch = np.flatnonzero(ring[cur] | (ring[cmg] & valid).any(axis=1))
    if len(touch) > max_units:
        touch = touch[np.argsort(~np.isin(cur[touch], bad), kind="stable")[:max_units]]
    return polish(problem, choice, prices=prices, max_entries=0, node_limit=100, time_limit=3.0,
                  free_units=touch)


def solve_lagrangian(problem: Problem, iterations: int | None = None, step0: float = 0.5, decay: float | None = None,
                     seed: int = 0, polish_entries: int = 0, polish_seconds: float = 1.0) -> Solution:
    """Lagrangian prices on the manager bands plus a repair pass and a local search.

    Prices (currency per hour, one per manager) follow a diagonally scaled subgradient: each manager's price
    moves by ``step × typical cost per hour × (load − bound) / target``, with a geometric step decay, so a
    thousand managers converge together. Every iteration is a few numpy operations over the candidate columns
    (stored column-major): reduced cost = cost + hours × price; each unit takes its cheapest candidate; loads
    are summed with ``bincount``. The dual value at any prices is a valid lower bound on the LP; the plan is
    recovered from the best prices and from the average of the late iterations' plans, repaired into the band
    and improved by local search; the cheaper one is returned. ``seed`` is unused (the method is
    deterministic) and kept for signature parity.
    """
    t0 = time.perf_counter()
    n, k = problem.cand.shape
    if iterations is None:
        # small books can afford a finer price search; large ones stop at 60 iterations (see bench/allocate.py)
        iterations = 150 if n * k <= 150_000 else 60
    if decay is None:
        decay = 0.97 if iterations > 100 else 0.95
    M = problem.n_managers
    h = problem.hours
    cost = problem.masked_cost()
    # the hot loop runs in float32 over column-major candidate arrays (half the memory traffic); the bound that
    # is reported is recomputed in float64 at the best prices
    cT = np.ascontiguousarray(cost.T, dtype=np.float32)
    mT = np.ascontiguousarray(np.where(problem.cand >= 0, problem.cand, 0).T, dtype=np.int32)
    h32 = h.astype(np.float32)
    mvT = np.ascontiguousarray(problem.moves.T, dtype=np.float32) if problem.move_limit is not None else None
    P, beta = problem.penalty, problem.balance_rate
    U, L, T = problem.upper, problem.lower, problem.target
    scale = np.maximum(T, float(h.mean()) if n else 1.0)
    p0 = _price_scale(problem)
    lam_u, mu_l, lam_t = np.zeros(M), np.zeros(M), np.zeros(M)
    nu = 0.0
    nu_scale = p0 * float(h.mean()) if mvT is not None else 0.0
    lb, best_pi, best_arg, best_nu = -np.inf, np.zeros(M), np.zeros(n, dtype=np.int64), 0.0
    votes = np.zeros((k, n), dtype=np.float32)
    step = step0
    it = 0
    rng_idx = np.arange(n)
    best_v = np.empty(n, dtype=np.float32)
    v = np.empty(n, dtype=np.float32)
    for it in range(1, iterations + 1):
        pi = lam_u - mu_l + lam_t
        pi32 = pi.astype(np.float32)
        arg = np.zeros(n, dtype=np.int64)
        for j in range(k):
            np.take(pi32, mT[j], out=v)
            v *= h32
            v += cT[j]
            if mvT is not None and nu > 0:
                v += np.float32(nu) * mvT[j]
            if j == 0:
                best_v[:] = v
            else:
                arg[v < best_v] = j
                np.minimum(best_v, v, out=best_v)
        mg = mT[arg, rng_idx]
        load = np.bincount(mg, weights=h, minlength=M)
        dual = float(best_v.sum(dtype=np.float64) - lam_u @ U + mu_l @ L - lam_t @ T)
        moved = 0.0
        if mvT is not None:
            moved = float(mvT[arg, rng_idx].sum(dtype=np.float64))
            dual -= nu * problem.move_limit
        if dual > lb:
            lb, best_pi, best_arg, best_nu = dual, pi, arg, nu
        if it > (3 * iterations) // 4:
            votes[arg, rng_idx] += 1.0
        st = step * p0 / scale
        lam_u = np.clip(lam_u + st * (load - U), 0, P)
        mu_l = np.clip(mu_l + st * (L - load), 0, P)
        lam_t = np.clip(lam_t + st * (load - T), 0, beta)
        if mvT is not None:
            nu = float(np.clip(nu + step * nu_scale * (moved - problem.move_limit) / max(problem.move_limit, 1.0),
                               0, P))
        step *= decay
    if np.isfinite(lb):
        lb = _dual_value(problem, best_pi, best_nu)
    plans = [repair(problem, best_arg, prices=best_pi)]
    if votes.any():
        plans.append(repair(problem, np.argmax(votes, axis=0), prices=best_pi))
    scored = [(evaluate(problem, pl)[0], i) for i, pl in enumerate(plans)]
    final = improve(problem, plans[min(scored)[1]])
    if len(_violated(problem, evaluate(problem, final)[1])):
        final = restore_band(problem, final, prices=best_pi)
    elif polish_entries:  # only a plan inside the band is polished (the MILP without elastic slacks is quick)
        final = polish(problem, final, prices=best_pi, max_entries=polish_entries, time_limit=polish_seconds)
    val, viol = evaluate(problem, final)
    sol = Solution(choice=final, objective=val, lower_bound=lb, solver="lagrangian",
                   seconds=time.perf_counter() - t0, iterations=it, violations=viol)
    sol.status = "optimal" if sol.gap <= 1e-6 else "feasible"
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


def solve_lp(problem: Problem, time_limit: float = 60.0, polish_entries: int = 3000,
             polish_seconds: float = 2.0) -> Solution:
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
    plans = [repair(problem, choice, prices=prices)]
    if prices is not None:
        cmg = np.where(problem.cand >= 0, problem.cand, 0)
        at_duals = np.argmin(problem.masked_cost() + problem.hours[:, None] * prices[cmg], axis=1)
        plans.append(repair(problem, at_duals, prices=prices))
    final = min((improve(problem, pl) for pl in plans), key=lambda pl: evaluate(problem, pl)[0])
    if polish_entries:
        final = polish(problem, final, prices=prices, max_entries=polish_entries, time_limit=polish_seconds)
    if len(_violated(problem, evaluate(problem, final)[1])):
        final = restore_band(problem, final, prices=prices)
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


def polish(problem: Problem, choice: np.ndarray, prices: np.ndarray | None = None, max_entries: int = 3000,
           time_limit: float = 2.0, node_limit: int = 100, free_units: np.ndarray | None = None) -> np.ndarray:
    """Re-optimise the plan exactly (HiGHS MILP) over the entries that matter, with everything else fixed.

    The entries kept free are each unit's current choice plus the ``max_entries`` entries with the smallest
    reduced cost (cost + hours × price, minus the unit's cheapest); a unit left with one entry is fixed and its
    hours are taken off its manager's band. The current plan is feasible in the restricted program, so the
    result is never worse. ``free_units`` (indices) get all their candidates. The branch and bound stops after ``node_limit`` nodes (a count, not a clock, so
    the result does not depend on machine load; ``time_limit`` is only a safety stop).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, k = problem.cand.shape
    rows = np.arange(n)
    valid = problem.cand >= 0
    cmg = np.where(valid, problem.cand, 0)
    pr = np.zeros(problem.n_managers) if prices is None else np.asarray(prices, dtype=float)
    rc = np.where(valid, problem.cost + problem.hours[:, None] * pr[cmg], np.inf)
    rc = rc - rc[rows, choice][:, None]
    rc[rows, choice] = -np.inf
    flat = rc.ravel()
    others = np.flatnonzero(np.isfinite(flat) & (flat > -np.inf))
    if len(others) > max_entries:
        others = others[np.argpartition(flat[others], max_entries)[:max_entries]] if max_entries > 0 else others[:0]
    keep = np.zeros(n * k, dtype=bool)
    keep[others] = True
    keep[rows * k + choice] = True
    keep = keep.reshape(n, k)
    if free_units is not None:  # every entry of these units is free (used to restore the band locally)
        keep[free_units] |= valid[free_units]
    free = keep.sum(axis=1) > 1
    if not free.any():
        return choice
    fixed_mgr = cmg[rows[~free], choice[~free]]
    fixed_load = np.bincount(fixed_mgr, weights=problem.hours[~free], minlength=problem.n_managers)
    fixed_moves = float(problem.moves[rows[~free], choice[~free]].sum())
    fu = np.flatnonzero(free)
    sub = Problem(hours=problem.hours[fu], cand=np.where(keep[fu], problem.cand[fu], -1), cost=problem.cost[fu],
                  moves=problem.moves[fu], upper=problem.upper - fixed_load, lower=problem.lower - fixed_load,
                  target=problem.target - fixed_load, capacity=problem.capacity - fixed_load,
                  balance_rate=problem.balance_rate,
                  move_limit=None if problem.move_limit is None else problem.move_limit - fixed_moves,
                  penalty=problem.penalty)
    c, a_ub, b_ub, a_eq, b_eq, ur, uc, nx = _lp_matrices(sub)
    integrality = np.zeros(len(c))
    integrality[:nx] = 1
    upper = np.full(len(c), np.inf)
    if not len(_violated(problem, evaluate(problem, choice)[1])) and evaluate(problem, choice)[1][
            "moves_over_limit"] <= 1e-9:
        # the current plan meets the band: the elastic slacks (huge penalties, hard on the MILP) are fixed at 0
        upper[nx + sub.n_managers:] = 0.0
    res = milp(c, constraints=[LinearConstraint(a_eq, b_eq, b_eq), LinearConstraint(a_ub, -np.inf, b_ub)],
               integrality=integrality, bounds=Bounds(0, upper),
               options={"time_limit": time_limit, "node_limit": node_limit, "mip_rel_gap": 1e-6})
    if res.x is None:
        return choice
    share = np.full((len(fu), k), -1.0)
    share[ur, uc] = res.x[:nx]
    out = choice.copy()
    out[fu] = np.argmax(share, axis=1)
    return out if evaluate(problem, out)[0] < evaluate(problem, choice)[0] else choice


def solve(problem: Problem, mode: str = "auto", time_limit: float = 60.0, polish_seconds: float = 2.0,
          polish_units: int = 400) -> Solution:
    """Pick the method.

    ``"exact"``: MILP over the candidates (small books; stops at ``time_limit``). ``"lp"``: HiGHS LP (exact
    bound), rounding and plans at the LP duals, repair, local search and a MILP polish of at most
    ``polish_seconds``. ``"lagrangian"``: Lagrangian prices, repair and local search — the fastest.
    ``"thorough"``: the Lagrangian route plus a MILP polish of the 1,000 most promising alternative entries
    (about a second more; for batch runs). ``"auto"``: the Lagrangian route, plus a MILP polish of at most 0.5 s on books of up to ``polish_units`` units
    (where a few lumpy accounts decide the last per cent).
    """
    if mode == "exact":
        return solve_exact(problem, time_limit)
    if mode == "lp":
        return solve_lp(problem, time_limit, polish_seconds=polish_seconds)
    if mode == "lagrangian":
        return solve_lagrangian(problem)
    if mode == "thorough":
        sol = solve_lagrangian(problem, polish_entries=1000, polish_seconds=max(polish_seconds, 10.0))
        sol.solver = "lagrangian+milp-polish"
        return sol
    if mode != "auto":
        raise ValueError(f"unknown solver mode {mode!r}; expected auto, thorough, exact, lp or lagrangian")
    if problem.n_units <= polish_units:
        sol = solve_lagrangian(problem, polish_entries=1000, polish_seconds=max(polish_seconds, 5.0))
        sol.solver = "lagrangian+milp-polish"
        return sol
    return solve_lagrangian(problem)

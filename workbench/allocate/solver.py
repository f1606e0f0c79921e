"""Array-level capacitated assignment: candidate managers per unit, Lagrangian prices, HiGHS LP, exact MILP, repair.

Nothing here knows about books or data frames. A ``Problem`` holds numpy arrays (one row per account unit,
one column per candidate manager) and every solver returns a candidate column per unit. The book-level
``workbench.allocate.reallocate`` builds the arrays; ``bench/allocate.py`` builds them with numpy directly.

The model: each unit ``u`` goes to exactly one of its candidates ``c``; manager ``m``'s load in hours
``sum h_u x_uc`` must lie in ``[lower_m, upper_m]`` (the balance band, capped at capacity); hours above the
manager's target cost ``balance_rate`` per hour; optionally at most ``move_limit`` accounts change owner.
Optionally one auxiliary quantity per unit (revenue or potential, ``aux``) must also lie in a band per manager,
``[aux_lower_m, aux_upper_m]``. Band and move-limit violations are elastic at ``penalty`` per hour (per account;
``aux_penalty`` per unit of the auxiliary quantity) so that an infeasible input still yields a plan *and* the size
of each violation, which the caller turns into a diagnosis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

__all__ = ["Problem", "Solution", "build_candidates", "solve", "solve_lagrangian", "solve_lp", "solve_exact",
           "repair", "improve", "exchange", "polish", "refine", "windows", "core", "components", "restore_band",
           "evaluate", "unit_loads", "aux_loads"]

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
    move_limit : at most this many accounts may change owner (``None`` = no limit). ``moves`` and ``move_limit``
        may count any additive quantity (revenue moved in account-equivalents, say); only their ratio matters.
    penalty : elastic cost (currency) per hour outside the band / per account beyond the move limit.
    aux : (n,) optional second balanced quantity per unit (revenue or potential; ``None`` = hours only).
    aux_upper, aux_lower : (M,) band of ``aux`` per manager (required with ``aux``).
    aux_penalty : elastic cost (currency) per unit of ``aux`` outside its band; ``None`` = ``penalty`` / 10 ×
        mean hours ÷ mean aux per unit: missing the aux band by one average unit's aux costs a tenth of missing the
        hours band by one average unit's hours (the workload band comes first), still far above any move cost.
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
    aux: np.ndarray | None = None
    aux_upper: np.ndarray | None = None
    aux_lower: np.ndarray | None = None
    aux_penalty: float | None = None

    def __post_init__(self) -> None:
        if self.aux is None:
            return
        if self.aux_upper is None or self.aux_lower is None:
            raise ValueError("aux needs aux_upper and aux_lower (one band per manager)")
        if self.aux_penalty is None:
            a = float(np.mean(self.aux)) if len(self.aux) else 0.0
            h = float(np.mean(self.hours)) if len(self.hours) else 1.0
            self.aux_penalty = 0.1 * self.penalty * max(h, 1e-9) / max(a, 1e-9)

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
    prices: np.ndarray | None = None  # currency per hour per manager at the bound (Lagrangian prices / LP duals)
    aux_prices: np.ndarray | None = None  # currency per unit of aux per manager (only with an aux band)
    # repair left managers outside the band and restore_band re-solved around them: the candidates are tight for
    # this band, and wider ones may give a cheaper plan (reallocate then tries them on small books)
    band_restored: bool = False

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


def aux_loads(problem: Problem, choice: np.ndarray) -> np.ndarray:
    """Aux quantity per manager for ``choice`` (zeros when the problem has no aux band)."""
    if problem.aux is None:
        return np.zeros(problem.n_managers)
    mgr = problem.cand[np.arange(problem.n_units), choice]
    return np.bincount(mgr, weights=problem.aux, minlength=problem.n_managers)


def evaluate(problem: Problem, choice: np.ndarray) -> tuple[float, dict]:
    """Objective of a plan and its violations (hours over band/capacity, hours under band, moves over limit, aux
    over/under its band)."""
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
    if problem.aux is not None:
        aload = aux_loads(problem, choice)
        aux_over = np.clip(aload - problem.aux_upper, 0, None)
        aux_under = np.clip(problem.aux_lower - aload, 0, None)
        pen += problem.aux_penalty * float(aux_over.sum() + aux_under.sum())
    else:
        aux_over = aux_under = np.zeros(problem.n_managers)
    viol = {"over_band_hours": over_band, "under_band_hours": under_band, "over_capacity_hours": over_cap,
            "moves": moved, "moves_over_limit": over_moves, "assignment_cost": base, "balance_cost": balance,
            "aux_over_band": aux_over, "aux_under_band": aux_under}
    return base + balance + pen, viol


def _aux_tol(problem: Problem) -> float:
    return 1e-6 * max(float(np.abs(problem.aux).sum()), 1.0) if problem.aux is not None else 0.0


def _is_clean(viol: dict, problem: Problem) -> bool:
    tol = 1e-6 * max(float(problem.hours.sum()), 1.0)
    return (viol["over_band_hours"].sum() <= tol and viol["under_band_hours"].sum() <= tol
            and viol["moves_over_limit"] <= 1e-9
            and (problem.aux is None
                 or viol["aux_over_band"].sum() + viol["aux_under_band"].sum() <= _aux_tol(problem)))


def repair(problem: Problem, choice: np.ndarray, prices: np.ndarray | None = None, rounds: int = 60,
           aux_prices: np.ndarray | None = None) -> np.ndarray:
    """Move units until every manager is inside its band (as far as the candidates allow), cheapest first.

    Each round is vectorised: units on managers above their upper bound move to their cheapest candidate
    with room (cost per hour freed, ascending, until the excess is gone); managers under their lower bound
    pull units from managers that can spare them; with an aux band the same two passes then run on the aux
    quantity, moving only where both managers keep their hours band. If the move limit is exceeded, the moves
    that save least per account are undone where the bands allow. ``prices`` (currency per hour, per manager)
    and ``aux_prices`` (currency per unit of aux) break ties towards managers the price signal marks as short.
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
    if problem.aux is not None and aux_prices is not None:
        steer = steer + problem.aux[:, None] * np.asarray(aux_prices, dtype=float)[cmg]
    hscale = max(float(h.mean()), 1e-9)
    ascale = max(float(np.abs(problem.aux).mean()), 1e-9) if problem.aux is not None and n else 1.0
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
        if problem.aux is not None:
            for side in ("over", "under"):
                mgr = cand[rows, choice]
                load = np.bincount(mgr, weights=h, minlength=problem.n_managers)
                aload = np.bincount(mgr, weights=problem.aux, minlength=problem.n_managers)
                gap = aload - problem.aux_upper if side == "over" else problem.aux_lower - aload
                if (gap > _TOL * ascale).any():
                    changed |= _aux_move(problem, choice, mgr, load, aload, side, steer, valid, cmg, index, ascale)
            if not changed:  # single moves are stuck at an hours edge: swaps keep the hours and shift the aux
                changed = _aux_swap(problem, choice, cmg, valid, index, ascale)
        if not changed:
            break
    if problem.move_limit is not None:
        choice = _trim_moves(problem, choice, cost, rows)
    return choice


def improve(problem: Problem, choice: np.ndarray, rounds: int = 30) -> np.ndarray:
    """Local search that keeps every band edge: move single units to a cheaper candidate while the source stays
    above its lower edge and the destination below its upper edge (cost, balance and move limit included; with
    an aux band, its edges too).

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
        if problem.aux is not None:  # the aux band binds single moves the same way
            aload = np.bincount(mgr_all, weights=problem.aux, minlength=problem.n_managers)
            aa, atol = problem.aux[act], _aux_tol(problem) / max(n, 1)
            ok &= (aload[cmg] + aa[:, None] <= problem.aux_upper[cmg] + atol)
            ok &= (aload[mg] - aa >= problem.aux_lower[mg] - atol)[:, None]
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
        if problem.aux is not None:
            fits &= (_fit_room(dest, problem.aux[u], problem.aux_upper - aload)
                     & _fit_room(src, problem.aux[u], aload - problem.aux_lower))
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


def exchange(problem: Problem, choice: np.ndarray, width: int = 32, rounds: int = 30) -> np.ndarray:
    """Local search over two-move chains that keep every band edge, then ``improve``.

    A single move is often blocked by a band edge: the receiving manager would go over its upper edge, or the
    giving one under its lower edge. A *push* chain moves unit u from A to B and, in the same step, unit v from
    B to C so that B stays inside its band; a *pull* chain moves u from B to A and refills B with v from C. Per
    pivot manager B the ``width`` cheapest blocked moves are paired with its ``width`` cheapest compensating
    moves in one (managers × width × width) array; every manager's best improving pair is taken, and pairs that
    share a manager or a unit are applied once per round (a loop over pivot managers, never over units). The
    plan must meet the band on entry; it still does on exit, and it is never worse.
    """
    choice = choice.copy()
    best_val, viol = evaluate(problem, choice)
    if not _is_clean(viol, problem) or problem.n_managers < 2:
        return improve(problem, choice)
    for _ in range(3):
        start_val = best_val
        for kind in ("push", "pull"):
            for _ in range(rounds):
                new = _chain_round(problem, choice, kind, width)
                if new is None:
                    break
                val, new_viol = evaluate(problem, new)
                # disjoint chains keep the bands; together they could overrun a move limit counted in revenue
                if val >= best_val - 1e-9 * max(abs(best_val), 1.0) or not _is_clean(new_viol, problem):
                    break
                choice, best_val = new, val
        choice = improve(problem, choice)
        best_val = evaluate(problem, choice)[0]
        if best_val >= start_val - 1e-9 * max(abs(start_val), 1.0):
            break
    return choice


def _chain_round(problem: Problem, choice: np.ndarray, kind: str, width: int) -> np.ndarray | None:
    """One round of ``exchange``: the best push (or pull) chain per pivot manager, applied where disjoint."""
    n, k = problem.cand.shape
    M = problem.n_managers
    rows = np.arange(n)
    h = problem.hours
    valid = problem.cand >= 0
    cmg = np.where(valid, problem.cand, 0)
    T, U, L = problem.target, problem.upper, problem.lower
    cur = cmg[rows, choice]
    load = np.bincount(cur, weights=h, minlength=M)
    cost = problem.masked_cost()
    d = cost - cost[rows, choice][:, None]
    ok = valid & (cmg != cur[:, None])
    if problem.move_limit is not None:  # chains may not add moves once the limit is reached
        slack = problem.move_limit - float(problem.moves[rows, choice].sum())
        ok &= (problem.moves <= problem.moves[rows, choice][:, None]) | (slack >= 2)
    gives = (load[cur] - h >= L[cur] - 1e-9)[:, None]  # the source keeps its lower edge
    fits = load[cmg] + h[:, None] <= U[cmg] + 1e-9     # the destination keeps its upper edge
    # only a blocked move that saves on its own can start a chain (a chain whose compensating move saves is the
    # other kind's blocked move), and a compensating move costing more than the best saving cannot pay
    if kind == "push":   # blocked u: A→B (B would overflow), compensating v: B→C
        blocked, comp = ok & gives & ~fits & (d < 0), ok & fits
    else:                # blocked u: B→A (B would underflow), compensating v: C→B
        blocked, comp = ok & ~gives & fits & (d < 0), ok & gives
    bu, bc = np.nonzero(blocked)
    if not len(bu):
        return None
    comp &= d < -float(d[bu, bc].min())
    if kind == "push":  # v leaves the pivot: its cheapest fitting destination is enough
        dc = np.where(comp, d, np.inf)
        cc = np.argmin(dc, axis=1)
        cu = np.flatnonzero(np.isfinite(dc[rows, cc]))
        cc = cc[cu]
    else:
        cu, cc = np.nonzero(comp)
    if not len(cu):
        return None
    b_piv = cmg[bu, bc] if kind == "push" else cur[bu]
    c_piv = cur[cu] if kind == "push" else cmg[cu, cc]
    b_u, b_c = _top_per_manager(b_piv, d[bu, bc], bu, bc, M, width)
    c_u, c_c = _top_per_manager(c_piv, d[cu, cc], cu, cc, M, width)
    live = np.flatnonzero((b_u[:, 0] >= 0) & (c_u[:, 0] >= 0))  # pivots with both kinds of move
    if not len(live):
        return None
    b_u, b_c, c_u, c_c = b_u[live], b_c[live], c_u[live], c_c[live]
    P = len(live)
    piv = live[:, None, None]
    u, cu_ = b_u[:, :, None], b_c[:, :, None]
    v, cv_ = c_u[:, None, :], c_c[:, None, :]
    good = (u >= 0) & (v >= 0) & (u != v)
    u, v = np.clip(u, 0, None), np.clip(v, 0, None)
    hu, hv = h[u], h[v]
    if kind == "push":
        a, c, sa, sc = cur[u], cmg[v, cv_], -1.0, 1.0
        load_b = load[piv] + hu - hv
    else:
        a, c, sa, sc = cmg[u, cu_], cur[v], 1.0, -1.0
        load_b = load[piv] - hu + hv
    same = a == c
    load_a = load[a] + sa * hu + np.where(same, sc * hv, 0.0)
    load_c = load[c] + sc * hv + np.where(same, sa * hu, 0.0)
    good &= (a != piv) & (c != piv)
    good &= (load_b <= U[piv] + 1e-9) & (load_b >= L[piv] - 1e-9)
    good &= (load_a <= U[a] + 1e-9) & (load_a >= L[a] - 1e-9) & (load_c <= U[c] + 1e-9) & (load_c >= L[c] - 1e-9)
    if problem.aux is not None:
        good &= _aux_chain_ok(problem, cur, piv, a, c, u, v, same, sa, sc)
    over = lambda x, t: np.clip(x - t, 0, None)  # noqa: E731
    bal = (over(load_a, T[a]) - over(load[a], T[a]) + over(load_b, T[piv]) - over(load[piv], T[piv])
           + np.where(same, 0.0, over(load_c, T[c]) - over(load[c], T[c])))
    gain = np.where(good, d[u, cu_] + d[v, cv_] + problem.balance_rate * bal, np.inf).reshape(P, -1)
    best = np.argmin(gain, axis=1)
    best_gain = gain[np.arange(P), best]
    pivots = np.flatnonzero(best_gain < -1e-9 * max(float(np.abs(cost[rows, choice]).sum()), 1.0))
    if not len(pivots):
        return None
    pivots = pivots[np.argsort(best_gain[pivots], kind="stable")]
    i, j = np.divmod(best[pivots], width)
    uu, vv = b_u[pivots, i], c_u[pivots, j]
    ucol, vcol = b_c[pivots, i], c_c[pivots, j]
    a, c = np.broadcast_to(a, good.shape), np.broadcast_to(c, good.shape)
    mgrs = np.stack([a[pivots, i, j], live[pivots], c[pivots, i, j]], axis=1)
    new = choice.copy()
    used_m = np.zeros(M, dtype=bool)
    used_u = np.zeros(n, dtype=bool)
    for t in range(len(pivots)):  # at most one pass over pivot managers
        if used_m[mgrs[t]].any() or used_u[uu[t]] or used_u[vv[t]]:
            continue
        used_m[mgrs[t]] = True
        used_u[[uu[t], vv[t]]] = True
        new[uu[t]], new[vv[t]] = ucol[t], vcol[t]
    return new


def _aux_chain_ok(problem: Problem, cur: np.ndarray, piv: np.ndarray, a: np.ndarray, c: np.ndarray, u: np.ndarray,
                  v: np.ndarray, same: np.ndarray, sa: float, sc: float) -> np.ndarray:
    """Which chains of ``_chain_round`` keep the aux band of all three managers (A, the pivot B, C); the signs
    ``sa``/``sc`` say whether A and C receive (+1) or give (-1)."""
    aux, up, lo = problem.aux, problem.aux_upper, problem.aux_lower
    tol = _aux_tol(problem) / max(problem.n_units, 1)
    aload = np.bincount(cur, weights=aux, minlength=problem.n_managers)
    au, av = aux[u], aux[v]
    at_b = aload[piv] - sa * au - sc * av
    at_a = aload[a] + sa * au + np.where(same, sc * av, 0.0)
    at_c = aload[c] + sc * av + np.where(same, sa * au, 0.0)
    return ((at_b <= up[piv] + tol) & (at_b >= lo[piv] - tol) & (at_a <= up[a] + tol) & (at_a >= lo[a] - tol)
            & (at_c <= up[c] + tol) & (at_c >= lo[c] - tol))


def _top_per_manager(manager: np.ndarray, delta: np.ndarray, unit: np.ndarray, col: np.ndarray, n_managers: int,
                     width: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``width`` cheapest moves per manager as (managers × width) unit and column arrays (``-1`` padded)."""
    order = np.lexsort((unit, delta, manager))
    manager, unit, col = manager[order], unit[order], col[order]
    rank = np.arange(len(manager)) - np.searchsorted(manager, manager)
    keep = rank < width
    out_u = np.full((n_managers, width), -1, dtype=np.int64)
    out_c = np.zeros((n_managers, width), dtype=np.int64)
    out_u[manager[keep], rank[keep]] = unit[keep]
    out_c[manager[keep], rank[keep]] = col[keep]
    return out_u, out_c


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


def _aux_move(problem, choice, mgr, load, aload, side, steer, valid, cmg, index, ascale) -> bool:
    """One vectorised aux repair pass: ``side="over"`` moves units off managers above their aux upper edge,
    ``"under"`` pulls units onto managers below their aux lower edge. Every move keeps both managers inside
    their hours band and within their aux edges (the receiver's upper, the giver's lower), cheapest per unit of
    aux first."""
    h, a = problem.hours, problem.aux
    k = problem.cand.shape[1]
    tol = _TOL * ascale
    room_h = problem.upper - load
    spare_h = load - problem.lower
    room_a = problem.aux_upper - aload
    spare_a = aload - problem.aux_lower
    if side == "over":
        need = np.clip(aload - problem.aux_upper, 0, None)
        u = np.flatnonzero((need[mgr] > tol) & (a > 0))
        u, c = np.repeat(u, k), np.tile(np.arange(k), len(u))
    else:
        need = np.clip(problem.aux_lower - aload, 0, None)
        short = need > tol
        u, c = np.divmod(index.entries_of(np.flatnonzero(short)), k)
        keep = ~short[mgr[u]] & (a[u] > 0)
        u, c = u[keep], c[keep]
    dest, src = cmg[u, c], mgr[u]
    ok = (valid[u, c] & (c != choice[u]) & (room_h[dest] >= h[u] - 1e-9) & (spare_h[src] >= h[u] - 1e-9)
          & (room_a[dest] >= a[u] - tol) & (spare_a[src] >= a[u] - tol))
    u, c = u[ok], c[ok]
    if not len(u):
        return False
    d = steer[u, c] - steer[u, choice[u]]
    o = np.lexsort((c, d, u))  # one entry per unit: its cheapest destination
    u, c, d = u[o], c[o], d[o]
    first = np.r_[True, u[1:] != u[:-1]]
    u, c, d = u[first], c[first], d[first]
    dest, src = cmg[u, c], mgr[u]
    pick = _choose(src if side == "over" else dest, u, d, a[u], need)
    u, c, d = u[pick], c[pick], d[pick]
    o = np.argsort(d / np.maximum(a[u], 1e-12), kind="stable")
    u, c = u[o], c[o]
    dest, src = cmg[u, c], mgr[u]
    fits = (_fit_room(dest, h[u], room_h) & _fit_room(src, h[u], spare_h) & _fit_room(dest, a[u], room_a)
            & _fit_room(src, a[u], spare_a))
    u, c = u[fits], c[fits]
    if not len(u):
        return False
    choice[u] = c
    return True


def _aux_swap(problem: Problem, choice: np.ndarray, cmg: np.ndarray, valid: np.ndarray, index: _EntryIndex,
              ascale: float, width: int = 256) -> bool:
    """Swaps for managers outside their aux band: unit u leaves the violated manager B for one of its candidates
    A while unit v comes to B from its owner C (A may be C). Every (u, v) pair of B is scored at once (up to
    ``width`` of each, the ones with most and least aux); the pair that lowers the objective most is applied if
    it reduces the aux violation, keeps the hours band of A, B and C and does not worsen A's or C's aux. The loop
    runs over violated managers, never over units."""
    n, k = problem.cand.shape
    rows = np.arange(n)
    h, a = problem.hours, problem.aux
    U, L, AU, AL = problem.upper, problem.lower, problem.aux_upper, problem.aux_lower
    cost = problem.masked_cost()
    tol = _TOL * ascale
    mgr = cmg[rows, choice]
    load = np.bincount(mgr, weights=h, minlength=problem.n_managers)
    aload = np.bincount(mgr, weights=a, minlength=problem.n_managers)
    moved = float(problem.moves[rows, choice].sum()) if problem.move_limit is not None else 0.0

    def off(x, lo, hi):
        return np.clip(x - hi, 0, None) + np.clip(lo - x, 0, None)

    gap = off(aload, AL, AU)
    changed = False
    for b in np.flatnonzero(gap > tol)[np.argsort(-gap[gap > tol], kind="stable")]:
        sign = 1.0 if aload[b] > AU[b] else -1.0  # +1: B gives aux away, -1: B takes aux in
        out_u, out_c = np.nonzero(valid & (mgr == b)[:, None] & (cmg != b))
        in_u, in_c = np.divmod(index.entries_of(np.array([b])), k)
        keep = mgr[in_u] != b
        in_u, in_c = in_u[keep], in_c[keep]
        if not len(out_u) or not len(in_u):
            continue
        # the most useful candidates for the aux, plus the cheapest ones
        out_sel = _extremes(sign * a[out_u], cost[out_u, out_c] - cost[out_u, choice[out_u]], width)
        in_sel = _extremes(-sign * a[in_u], cost[in_u, in_c] - cost[in_u, choice[in_u]], width)
        u, cu = out_u[out_sel][:, None], out_c[out_sel][:, None]
        v, cv = in_u[in_sel][None, :], in_c[in_sel][None, :]
        dst, src = cmg[u, cu], mgr[v]
        same = dst == src
        hb = load[b] - h[u] + h[v]
        hd = load[dst] + h[u] - np.where(same, h[v], 0.0)
        hs = load[src] - h[v] + np.where(same, h[u], 0.0)
        ab = aload[b] - a[u] + a[v]
        ad = aload[dst] + a[u] - np.where(same, a[v], 0.0)
        as_ = aload[src] - a[v] + np.where(same, a[u], 0.0)
        ok = ((hb <= U[b] + 1e-9) & (hb >= L[b] - 1e-9) & (hd <= U[dst] + 1e-9) & (hd >= L[dst] - 1e-9)
              & (hs <= U[src] + 1e-9) & (hs >= L[src] - 1e-9) & (dst != b) & (src != b))
        d_off = off(ad, AL[dst], AU[dst]) - gap[dst]
        s_off = off(as_, AL[src], AU[src]) - gap[src]
        ok &= (d_off <= tol) & (s_off <= tol)
        gain = off(ab, AL[b], AU[b]) - gap[b] + d_off + np.where(same, 0.0, s_off)
        ok &= gain < -tol
        if problem.move_limit is not None:
            extra = (problem.moves[u, cu] - problem.moves[u, choice[u]] + problem.moves[v, cv]
                     - problem.moves[v, choice[v]])
            ok &= (extra <= 0) | (moved + extra <= problem.move_limit + 1e-9)
        delta = np.where(ok, cost[u, cu] - cost[u, choice[u]] + cost[v, cv] - cost[v, choice[v]]
                         + problem.aux_penalty * gain, np.inf)
        best = int(np.argmin(delta))
        if not np.isfinite(delta.flat[best]):
            continue
        i, j = np.divmod(best, delta.shape[1])
        uu, vv, d_, s_ = int(u[i, 0]), int(v[0, j]), int(dst[i, 0]), int(src[0, j])
        choice[uu], choice[vv] = cu[i, 0], cv[0, j]
        load[b] += h[vv] - h[uu]
        load[d_] += h[uu]
        load[s_] -= h[vv]
        aload[b] += a[vv] - a[uu]
        aload[d_] += a[uu]
        aload[s_] -= a[vv]
        mgr[uu], mgr[vv] = d_, b
        if problem.move_limit is not None:
            moved = float(problem.moves[rows, choice].sum())
        gap = off(aload, AL, AU)
        changed = True
    return changed


def _extremes(score: np.ndarray, cost: np.ndarray, width: int) -> np.ndarray:
    """Indices of the ``width // 2`` largest ``score`` entries and the ``width // 2`` cheapest (distinct)."""
    if len(score) <= width:
        return np.arange(len(score))
    half = width // 2
    top = np.argsort(-score, kind="stable")[:half]
    cheap = np.argsort(cost, kind="stable")
    cheap = cheap[~np.isin(cheap, top)][:width - half]
    return np.sort(np.concatenate([top, cheap]))


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
        if problem.aux is not None:  # undoing a move must keep the aux band too
            aload = np.bincount(mgr, weights=problem.aux, minlength=problem.n_managers)
            a = problem.aux[u]
            fits &= _fit_room(dest, a, problem.aux_upper - aload) & _fit_room(mgr[u], a, aload - problem.aux_lower)
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


def _dual_value(problem: Problem, pi: np.ndarray, nu: float = 0.0, pi_aux: np.ndarray | None = None) -> float:
    """Lagrangian dual value (float64) at manager prices ``pi`` (split into band/target multipliers), move
    price ``nu`` and aux prices ``pi_aux`` (split into aux upper/lower multipliers, each at most
    ``aux_penalty``): a valid lower bound on the LP over the same candidates."""
    cmg = np.where(problem.cand >= 0, problem.cand, 0)
    rc = problem.masked_cost() + problem.hours[:, None] * pi[cmg]
    aux_term = 0.0
    if problem.aux is not None and pi_aux is not None:
        # the multipliers of the elastic aux rows live in [0, aux_penalty]; beyond that the dual is -inf
        pa = np.clip(pi_aux, -problem.aux_penalty, problem.aux_penalty)
        rc = rc + problem.aux[:, None] * pa[cmg]
        aux_term = float(-np.clip(pa, 0, None) @ problem.aux_upper + np.clip(-pa, 0, None) @ problem.aux_lower)
    if problem.move_limit is not None and nu > 0:
        rc = rc + nu * problem.moves
    # split pi into lam_u - mu_l + lam_t with lam_t in [0, beta]: the split that maximises the dual
    beta = problem.balance_rate
    lam_t = np.clip(pi, 0, beta)
    lam_u = np.clip(pi - beta, 0, None)
    mu_l = np.clip(-pi, 0, None)
    val = float(rc.min(axis=1).sum() - lam_u @ problem.upper + mu_l @ problem.lower - lam_t @ problem.target)
    val += aux_term
    if problem.move_limit is not None:
        val -= nu * problem.move_limit
    return val


def _violated(problem: Problem, viol: dict) -> np.ndarray:
    """Managers outside their hours band or, with an aux band, outside that one."""
    tol = 1e-6 * np.maximum(problem.target, 1.0)
    bad = (viol["over_band_hours"] > tol) | (viol["under_band_hours"] > tol)
    if problem.aux is not None:
        atol = 1e-6 * np.maximum(problem.aux_upper, 1.0)
        bad |= (viol["aux_over_band"] > atol) | (viol["aux_under_band"] > atol)
    return np.flatnonzero(bad)


def band_reachable(problem: Problem, max_entries: int = 200_000) -> bool | None:
    """Whether some plan over the candidates could meet every band (hours, and aux if set); the move limit is
    left out. ``False`` is a proof that none can: a unit too big for every band it could join, or a band that
    not even the LP relaxation meets (HiGHS minimises the total violation, hours plus aux in hour-like units).
    ``True`` says only that the LP meets the bands (an integer plan may still miss them); ``None``: not checked,
    the problem has more than ``max_entries`` candidate entries or the LP did not solve. The answer is kept on the
    problem (treat it as read-only), so the diagnosis after ``restore_band`` does not solve the LP again."""
    key = ("_reachable", int(max_entries))
    if key not in problem.__dict__:
        problem.__dict__[key] = _band_reachable(problem, max_entries)
    return problem.__dict__[key]


def _band_reachable(problem: Problem, max_entries: int) -> bool | None:
    import highspy

    valid = problem.cand >= 0
    cmg = np.where(valid, problem.cand, 0)
    fits = problem.hours[:, None] <= problem.upper[cmg] + 1e-9
    if problem.aux is not None:
        fits &= problem.aux[:, None] <= problem.aux_upper[cmg] + 1e-9
    if not (fits & valid).any(axis=1).all():
        return False
    if int(valid.sum()) > max_entries:
        return None
    c, a_ub, b_ub, a_eq, b_eq, ur, uc, nx = _lp_matrices(problem)
    M = problem.n_managers
    # phase one: cost only on the band slacks (the balance and move slacks are free)
    band = np.zeros(len(c), dtype=bool)
    band[nx + M:nx + 3 * M] = True
    if problem.aux is not None:
        band[nx + 3 * M:nx + 5 * M] = True
    h, _ = _highs_model(band.astype(float), a_ub, b_ub, a_eq, b_eq, np.where(np.arange(len(c)) < nx, 1.0, np.inf),
                        solver="simplex", time_limit=10.0)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(h.getInfo().objective_function_value) <= 1e-6 * max(float(problem.hours.sum()), 1.0)


def restore_band(problem: Problem, choice: np.ndarray, prices: np.ndarray | None = None,
                 max_units: int = 4000) -> np.ndarray:
    """When repair leaves managers outside the band (it moves one unit at a time and cannot see chains),
    re-solve exactly around them: every unit that is on, or could go to, a violated manager or one of that
    unit's other candidates is freed (up to ``max_units``) and the band is restored by the MILP polish.

    A manager outside an aux band usually needs a swap with a neighbour (its hours are in band, its revenue is
    not), so then the units on or able to reach the violated managers are tried first, on their own: a small
    MILP that finds the swaps quickly where the wide one would run out of nodes."""
    _, viol = evaluate(problem, choice)
    bad = _violated(problem, viol)
    if not len(bad) or band_reachable(problem) is False:
        # no plan over these candidates meets the band: the MILPs below could only trade one violation for
        # another, and would do it until their clocks stopped them (8 s, and a plan that depends on machine load)
        return choice
    cmg = np.where(problem.cand >= 0, problem.cand, 0)
    valid = problem.cand >= 0
    rows = np.arange(problem.n_units)
    cur = cmg[rows, choice]
    if problem.aux is not None and (viol["aux_over_band"][bad] + viol["aux_under_band"][bad]).any():
        near = np.zeros(problem.n_managers, dtype=bool)
        near[bad] = True
        touch = np.flatnonzero(near[cur] | (near[cmg] & valid).any(axis=1))
        if len(touch) > max_units:
            touch = touch[np.argsort(~near[cur[touch]], kind="stable")[:max_units]]
        choice = _band_first(problem, choice, prices, touch, node_limit=200)
        _, viol = evaluate(problem, choice)
        bad = _violated(problem, viol)
        if not len(bad):
            return choice
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
    return _band_first(problem, choice, prices, touch, node_limit=100)


def _band_first(problem: Problem, choice: np.ndarray, prices: np.ndarray | None, free_units: np.ndarray,
                node_limit: int) -> np.ndarray:
    """The MILP of ``restore_band`` over ``free_units`` in two steps. First the band alone: the same program with
    no costs and a violation costing 1 per hour (aux: per hour-like unit), which HiGHS ends at its node limit or as
    soon as it meets the band; with the real costs the huge elastic penalties made the root so slow that the old
    single MILP stopped at its clock (5 s; a plan that depended on machine load). Then, if the band is met, the
    costs: a root-node MILP over the units that step moved plus the 1,000 most promising alternatives, the elastic
    slacks fixed at 0, and the local search. Never worse."""
    band_only = replace(problem, cost=np.zeros_like(problem.cost), balance_rate=0.0, move_limit=None, penalty=1.0,
                        aux_penalty=None if problem.aux is None else 1.0 / _aux_scale(problem))
    # the clocks are safety stops: the node limits end these MILPs (about 2 s on the 2,000-account sample; 46 s for
    # 4,000 free units on a generated 100k book at a ±5 % band, where a 30 s clock used to stop the root's cuts and
    # made the plan depend on machine load)
    out = polish(band_only, choice, max_entries=0, node_limit=node_limit, time_limit=300.0, free_units=free_units)
    if _is_clean(evaluate(problem, out)[1], problem):
        # the costs, around what the band step changed (all free units at once: a 13 s root on the sample book)
        changed = np.flatnonzero(out != choice)
        out = improve(problem, polish(problem, out, prices=prices, max_entries=1000, node_limit=1, time_limit=30.0,
                                      free_units=changed))
    return out if evaluate(problem, out)[0] < evaluate(problem, choice)[0] else choice


def restore_moves(problem: Problem, choice: np.ndarray, prices: np.ndarray | None = None,
                  max_units: int = 4000, rc_entries: int = 2000) -> np.ndarray:
    """When the plan moves more accounts than the limit allows (the price on moves and the greedy trim undo one
    move at a time, and undoing one often needs another account to make room), re-solve exactly: every moved
    unit (at most ``max_units``, the ones that save least per move first) keeps all its candidates, including going
    back to its owner, and the ``rc_entries`` cheapest alternatives elsewhere are freed to make room. Never worse."""
    if problem.move_limit is None:
        return choice
    rows = np.arange(problem.n_units)
    mv = problem.moves[rows, choice]
    if float(mv.sum()) <= problem.move_limit + 1e-9:
        return choice
    moved = np.flatnonzero(mv > 0)
    if len(moved) > max_units:
        home = np.where((problem.cand >= 0) & (problem.moves == 0), problem.cost, np.inf).min(axis=1)
        saving = (home[moved] - problem.cost[moved, choice[moved]]) / mv[moved]
        moved = moved[np.argsort(saving, kind="stable")[:max_units]]
    keep = _cheapest_entries(problem, choice, prices, rc_entries)
    keep[moved] = problem.cand[moved] >= 0
    viol = evaluate(problem, choice)[1]
    # with the band met, the limit is a hard row (no elastic slacks: their huge costs make the MILP slow); a
    # plan outside the band keeps them, so the MILP trades the two violations. It stops within 0.1 % of the
    # plan's cost: the root's sub-MIP heuristics would otherwise run to the clock
    out = _restricted_milp(problem, choice, keep, node_limit=50, time_limit=5.0, hard_moves=True,
                           abs_gap=1e-3 * abs(viol["assignment_cost"] + viol["balance_cost"]))
    if float(problem.moves[rows, out].sum()) > problem.move_limit + 1e-9 and _is_clean(
            {**evaluate(problem, out)[1], "moves_over_limit": 0.0}, problem):
        # the limit cannot be met here (the hard row had no solution): make as few moves as the band allows, so
        # the diagnosis quotes what keeping the band really needs (the greedy trim's count rose as the limit
        # fell: 148 moves needed at a 5 % limit, 191 at 3 %, on the sample book). A quarter of the alternatives
        # gives as few moves there as all of them, in a third of the time (the root node is what costs)
        keep = _cheapest_entries(problem, choice, prices, rc_entries // 4)
        keep[moved] = problem.cand[moved] >= 0
        fewest = replace(problem, cost=problem.moves.astype(float), balance_rate=0.0, move_limit=None)
        least = _restricted_milp(fewest, out, keep, node_limit=50, time_limit=30.0, abs_gap=0.5)
        if evaluate(problem, least)[0] < evaluate(problem, out)[0]:
            out = least
    return out


def _restore(problem: Problem, choice: np.ndarray, prices: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """The last step of every route: ``restore_band`` when repair left a manager outside a band, then
    ``restore_moves``. Returns the plan and whether the band had to be restored (``Solution.band_restored``)."""
    restored = bool(len(_violated(problem, evaluate(problem, choice)[1])))
    if restored:
        choice = restore_band(problem, choice, prices=prices)
    return restore_moves(problem, choice, prices=prices), restored


def solve_lagrangian(problem: Problem, iterations: int | None = None, step0: float = 0.5, decay: float | None = None,
                     seed: int = 0) -> Solution:
    """Lagrangian prices on the manager bands plus a repair pass and a local search.

    Prices (currency per hour, one per manager) follow a diagonally scaled subgradient: each manager's price
    moves by ``step × typical cost per hour × (load − bound) / target``, with a geometric step decay, so a
    thousand managers converge together. Every iteration is a few numpy operations over the candidate columns
    (stored column-major): reduced cost = cost + hours × price; each unit takes its cheapest candidate; loads
    are summed with ``bincount``. With an aux band a second price per manager (currency per unit of aux) is
    added the same way (reduced cost += aux × aux price). The dual value at any prices is a valid lower bound on
    the LP; the plan is
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
    # aux band prices (currency per unit of aux): an upper and a lower multiplier per manager, each in
    # [0, aux_penalty]; their step is the hours step converted at the book's hours per unit of aux
    has_aux = problem.aux is not None
    alpha_u, alpha_l, best_pa = np.zeros(M), np.zeros(M), np.zeros(M)
    if has_aux:
        a = problem.aux
        a32 = a.astype(np.float32)
        AU, AL, Pa = problem.aux_upper, problem.aux_lower, problem.aux_penalty
        a_mean = max(float(np.abs(a).mean()), 1e-9) if n else 1.0
        a_scale = np.maximum(0.5 * (AU + AL), a_mean)
        p0_aux = p0 * max(float(h.mean()), 1e-9) / a_mean if n else 0.0
        va = np.empty(n, dtype=np.float32)
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
        if has_aux:
            pa = alpha_u - alpha_l
            pa32 = pa.astype(np.float32)
        arg = np.zeros(n, dtype=np.int64)
        for j in range(k):
            np.take(pi32, mT[j], out=v)
            v *= h32
            v += cT[j]
            if has_aux:
                np.take(pa32, mT[j], out=va)
                va *= a32
                v += va
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
        if has_aux:
            aload = np.bincount(mg, weights=a, minlength=M)
            dual += float(-alpha_u @ AU + alpha_l @ AL)
        moved = 0.0
        if mvT is not None:
            moved = float(mvT[arg, rng_idx].sum(dtype=np.float64))
            dual -= nu * problem.move_limit
        if dual > lb:
            lb, best_pi, best_arg, best_nu = dual, pi, arg, nu
            if has_aux:
                best_pa = pa
        if it > (3 * iterations) // 4:
            votes[arg, rng_idx] += 1.0
        st = step * p0 / scale
        lam_u = np.clip(lam_u + st * (load - U), 0, P)
        mu_l = np.clip(mu_l + st * (L - load), 0, P)
        lam_t = np.clip(lam_t + st * (load - T), 0, beta)
        if has_aux:
            st_a = step * p0_aux / a_scale
            alpha_u = np.clip(alpha_u + st_a * (aload - AU), 0, Pa)
            alpha_l = np.clip(alpha_l + st_a * (AL - aload), 0, Pa)
        if mvT is not None:
            nu = float(np.clip(nu + step * nu_scale * (moved - problem.move_limit) / max(problem.move_limit, 1.0),
                               0, P))
        step *= decay
    aux_pr = best_pa if has_aux else None
    if np.isfinite(lb):
        lb = _dual_value(problem, best_pi, best_nu, aux_pr)
    plans = [repair(problem, best_arg, prices=best_pi, aux_prices=aux_pr)]
    if votes.any():
        plans.append(repair(problem, np.argmax(votes, axis=0), prices=best_pi, aux_prices=aux_pr))
    scored = [(evaluate(problem, pl)[0], i) for i, pl in enumerate(plans)]
    final = improve(problem, plans[min(scored)[1]])
    final, restored = _restore(problem, final, best_pi)
    val, viol = evaluate(problem, final)
    sol = Solution(choice=final, objective=val, lower_bound=lb, solver="lagrangian",
                   seconds=time.perf_counter() - t0, iterations=it, violations=viol, prices=best_pi,
                   aux_prices=aux_pr, band_restored=restored)
    sol.status = "optimal" if sol.gap <= 1e-6 else "feasible"
    return sol


def _aux_scale(problem: Problem) -> float:
    """Aux per hour of the average unit: the factor that brings aux rows to the magnitude of hours rows."""
    a = float(np.abs(problem.aux).mean()) if problem.n_units else 1.0
    h = float(problem.hours.mean()) if problem.n_units else 1.0
    return max(a, 1e-9) / max(h, 1e-9)


def _lp_matrices(problem: Problem):
    """Sparse LP over the valid candidate entries. Columns: x (one per valid entry), then per manager the
    balance slack s, the elastic over-band e+ and under-band e-, then (with an aux band) per manager the elastic
    aux over-band a+ and under-band a-, then one elastic move slack last. Every column after ``nx + M`` is an
    elastic slack. Rows of ``a_ub``: upper band, lower band, target (M each), then aux upper and aux lower (M
    each, with an aux band), then the move limit."""
    n, k = problem.cand.shape
    M = problem.n_managers
    valid = problem.cand >= 0
    ur, uc = np.nonzero(valid)
    nx = len(ur)
    mg = problem.cand[ur, uc].astype(np.int64)
    hx = problem.hours[ur]
    beta = problem.balance_rate
    has_limit = problem.move_limit is not None
    has_aux = problem.aux is not None
    # aux rows are scaled to hours-like magnitudes (revenue is 10^4 times larger), which HiGHS needs to stay quick;
    # their slacks are in scaled units, so they cost aux_penalty × scale
    a_sc = _aux_scale(problem) if has_aux else 1.0
    aux_cols = [np.full(2 * M, problem.aux_penalty * a_sc)] if has_aux else []
    c = np.concatenate([problem.cost[ur, uc], np.full(M, beta), np.full(M, problem.penalty),
                        np.full(M, problem.penalty), *aux_cols, [problem.penalty] if has_limit else []])
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
    if has_aux:
        # rows 3M..4M-1: aux load - a+ <= aux upper; 4M..5M-1: -aux load - a- <= -aux lower
        ap0, am0 = nx + 3 * M, nx + 4 * M
        ax = problem.aux[ur] / a_sc
        r += [3 * M + mg, 3 * M + mi, 4 * M + mg, 4 * M + mi]
        cc += [np.arange(nx), ap0 + mi, np.arange(nx), am0 + mi]
        v += [ax, -np.ones(M), -ax, -np.ones(M)]
        b_ub += [problem.aux_upper / a_sc, -problem.aux_lower / a_sc]
        n_rows += 2 * M
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
    prices = aux_prices = None
    if getattr(res, "ineqlin", None) is not None and res.ineqlin.marginals is not None:
        mg = res.ineqlin.marginals
        prices = -(mg[:M] - mg[M:2 * M] + mg[2 * M:3 * M])
        if problem.aux is not None:  # rows 3M..5M are the aux band, scaled (see _lp_matrices)
            aux_prices = -(mg[3 * M:4 * M] - mg[4 * M:5 * M]) / _aux_scale(problem)
    plans = [repair(problem, choice, prices=prices, aux_prices=aux_prices)]
    if prices is not None:
        cmg = np.where(problem.cand >= 0, problem.cand, 0)
        rc = problem.masked_cost() + problem.hours[:, None] * prices[cmg]
        if aux_prices is not None:
            rc = rc + problem.aux[:, None] * aux_prices[cmg]
        plans.append(repair(problem, np.argmin(rc, axis=1), prices=prices, aux_prices=aux_prices))
    final = min((improve(problem, pl) for pl in plans), key=lambda pl: evaluate(problem, pl)[0])
    if polish_entries:
        final = polish(problem, final, prices=prices, max_entries=polish_entries, time_limit=polish_seconds)
    final, restored = _restore(problem, final, prices)
    val, viol = evaluate(problem, final)
    sol = Solution(choice=final, objective=val, lower_bound=float(res.fun), solver="highs-lp",
                   seconds=time.perf_counter() - t0, violations=viol, prices=prices, aux_prices=aux_prices,
                   band_restored=restored)
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


_HIGHS_QUIET = False


def _highs():
    """A silent ``highspy.Highs``. HiGHS prints a banner on stdout the first time one is made in a process,
    whatever its options; that once, file descriptor 1 is pointed at /dev/null."""
    import os

    import highspy

    global _HIGHS_QUIET
    if _HIGHS_QUIET:
        h = highspy.Highs()
    else:
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _HIGHS_QUIET = True
    h.setOptionValue("output_flag", False)
    return h


def _highs_model(c: np.ndarray, a_ub, b_ub: np.ndarray, a_eq, b_eq: np.ndarray, col_upper: np.ndarray,
                 **options) -> tuple:
    """A silent HiGHS holding the LP ``min c·x, a_eq x = b_eq, a_ub x <= b_ub, 0 <= x <= col_upper`` with the
    columns whose upper bound is 0 left out (the elastic slacks of a plan that meets the band: their huge costs
    only hurt the scaling). Single-threaded, seed 0, plus ``options``. Returns the solver and the kept columns."""
    import highspy

    live = np.flatnonzero(np.asarray(col_upper) > 0)
    a = sp.vstack([a_eq, a_ub]).tocsc()[:, live]
    h = _highs()
    for key, value in {"random_seed": 0, "threads": 1, **options}.items():
        h.setOptionValue(key, value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(live), a.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=float)[live]
    lp.col_lower_ = np.zeros(len(live))
    lp.col_upper_ = np.asarray(col_upper, dtype=float)[live]
    lp.row_lower_ = np.r_[b_eq, np.full(len(b_ub), -np.inf)]
    lp.row_upper_ = np.r_[b_eq, b_ub]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    h.passModel(lp)
    return h, live


def lp_prices(problem: Problem, time_limit: float = 120.0) -> tuple[float, np.ndarray, np.ndarray | None, float] | None:
    """``exact_lp`` without the primal: (bound, hour prices, aux prices, move price), or ``None``."""
    exact = exact_lp(problem, time_limit)
    return None if exact is None else exact[:4]


def exact_lp(problem: Problem, time_limit: float = 120.0
             ) -> tuple[float, np.ndarray, np.ndarray | None, float, np.ndarray] | None:
    """The exact LP over the candidates, by HiGHS' dual simplex, for a problem whose bands can be met: returns the
    LP's Lagrangian dual value (a valid lower bound, equal to the LP optimum), the hour price per manager, the aux
    price per manager (``None`` without an aux band) and the move price, all from the row duals, and the LP's
    (n, k) share of each entry (the primal); ``None`` when it does not solve within ``time_limit``.

    The elastic slacks are dropped (their huge costs make the simplex crawl: scipy's ``highs-ds`` with them did not
    finish the 56k-account role of the 100k bench instance in 6 minutes, without them it takes 12 s)."""
    import highspy

    c, a_ub, b_ub, a_eq, b_eq, ur, uc, nx = _lp_matrices(problem)
    n, M = problem.n_units, problem.n_managers
    upper = np.full(len(c), np.inf)
    upper[:nx] = 1.0
    upper[nx + M:] = 0.0
    h, live = _highs_model(c, a_ub, b_ub, a_eq, b_eq, upper, solver="simplex", time_limit=float(time_limit))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    dual = np.asarray(h.getSolution().row_dual)[n:]  # the a_ub rows; HiGHS' duals of <= rows are <= 0
    # a unit's reduced cost is cost + hours × (-(upper dual) + (lower dual) - (target dual))
    prices = -(dual[:M] - dual[M:2 * M] + dual[2 * M:3 * M])
    aux_prices = None
    if problem.aux is not None:
        aux_prices = -(dual[3 * M:4 * M] - dual[4 * M:5 * M]) / _aux_scale(problem)
    nu = max(0.0, -float(dual[-1])) if problem.move_limit is not None else 0.0
    x = np.zeros(len(c))
    x[live] = h.getSolution().col_value
    share = np.zeros(problem.cand.shape)
    share[ur, uc] = x[:nx]
    return _dual_value(problem, prices, nu, aux_prices), prices, aux_prices, nu, share


def _highs_milp(c: np.ndarray, a_ub, b_ub: np.ndarray, a_eq, b_eq: np.ndarray, nx: int, col_upper: np.ndarray,
                node_limit: int = 200, rel_gap: float = 1e-6, time_limit: float = 10.0,
                start: np.ndarray | None = None, heuristics: float = 0.05) -> np.ndarray | None:
    """Solve the assignment MILP with HiGHS (highspy): the first ``nx`` columns binary, the rest continuous.

    Columns fixed at 0 (the elastic slacks of a plan that meets the band) are dropped first: their huge costs
    would only hurt the scaling. The search stops at ``node_limit`` nodes or at ``rel_gap``: counts and gaps, not
    clocks, so the result does not depend on machine load; ``time_limit`` is only a safety stop. Restarts after
    root presolve are off: on these models they double the root time for a gain in the fifth digit. Returns the
    column values, or ``None`` when no plan was found. ``start``: a feasible point (all columns), handed to
    HiGHS as its first incumbent, so the root spends its effort on improving it rather than on finding one.
    ``heuristics``: HiGHS' ``mip_heuristic_effort`` (its default 0.05; a long search gains from more sub-MIPs).
    """
    import highspy

    h, live = _highs_model(c, a_ub, b_ub, a_eq, b_eq, col_upper,
                           mip_max_nodes=int(node_limit), time_limit=float(time_limit),
                           mip_rel_gap=float(max(rel_gap, 1e-9)), mip_allow_restart=False,
                           mip_heuristic_effort=float(heuristics))
    n_int = int((live < nx).sum())  # the binaries come first among the live columns
    if n_int:
        h.changeColsIntegrality(n_int, np.arange(n_int, dtype=np.int32), np.ones(n_int, dtype=np.uint8))
    if start is not None:
        first = highspy.HighsSolution()
        first.col_value = np.asarray(start, dtype=float)[live]
        first.value_valid = True
        h.setSolution(first)
    h.run()
    if h.getInfo().primal_solution_status != 2:  # 2 = a feasible point exists
        return None
    x = np.zeros(len(c))
    x[live] = h.getSolution().col_value
    return x


def _restricted_milp(problem: Problem, choice: np.ndarray, keep: np.ndarray, node_limit: int = 200,
                     abs_gap: float = 0.0, time_limit: float = 10.0, hard_moves: bool = False,
                     heuristics: float = 0.05) -> np.ndarray:
    """Re-optimise exactly over the entries ``keep`` (each unit's current entry is always kept); every unit left
    with one entry is fixed and its hours are taken off its manager's band. The current plan is feasible in the
    restricted program and the better of the two is returned, so the result is never worse. ``hard_moves``: a plan
    over the move limit but inside the band gets the limit as a hard row (no elastic slacks)."""
    n, k = problem.cand.shape
    rows = np.arange(n)
    keep = keep & (problem.cand >= 0)
    keep[rows, choice] = True
    if not (keep.sum(axis=1) > 1).any():
        return choice
    before, viol = evaluate(problem, choice)
    clean = _is_clean({**viol, "moves_over_limit": 0.0} if hard_moves else viol, problem)
    share = _solve_entries(problem, choice, keep, clean, node_limit=node_limit, abs_gap=abs_gap,
                           time_limit=time_limit, heuristics=heuristics)
    if share is None:
        return choice
    out = np.argmax(share, axis=1)
    return out if evaluate(problem, out)[0] < before else choice


def _solve_entries(problem: Problem, choice: np.ndarray, keep: np.ndarray, clean: bool, node_limit: int = 200,
                   abs_gap: float = 0.0, time_limit: float = 10.0, heuristics: float = 0.05) -> np.ndarray | None:
    """MILP over the entries ``keep``: a unit with one kept entry is fixed there and
    its hours are taken off that manager's band. Returns the (n, k) share of each entry (fixed units: 1 at
    their entry), or ``None`` when the program has no solution. ``clean``: the elastic slacks are fixed at 0."""
    n, k = problem.cand.shape
    rows = np.arange(n)
    free = keep.sum(axis=1) > 1
    cmg = np.where(problem.cand >= 0, problem.cand, 0)
    fixed_col = np.argmax(keep, axis=1)
    fixed_mgr = cmg[rows[~free], fixed_col[~free]]
    fixed_load = np.bincount(fixed_mgr, weights=problem.hours[~free], minlength=problem.n_managers)
    fixed_moves = float(problem.moves[rows[~free], fixed_col[~free]].sum())
    share = np.zeros((n, k))
    share[rows[~free], fixed_col[~free]] = 1.0
    fu = np.flatnonzero(free)
    if not len(fu):
        return share
    sub = Problem(hours=problem.hours[fu], cand=np.where(keep[fu], problem.cand[fu], -1), cost=problem.cost[fu],
                  moves=problem.moves[fu], upper=problem.upper - fixed_load, lower=problem.lower - fixed_load,
                  target=problem.target - fixed_load, capacity=problem.capacity - fixed_load,
                  balance_rate=problem.balance_rate,
                  move_limit=None if problem.move_limit is None else problem.move_limit - fixed_moves,
                  penalty=problem.penalty, **_aux_part(problem, fixed_mgr, ~free, fu))
    c, a_ub, b_ub, a_eq, b_eq, ur, uc, nx = _lp_matrices(sub)
    upper = np.full(len(c), np.inf)
    upper[:nx] = 1.0
    if clean:
        # the current plan meets the band: the elastic slacks (huge penalties, hard on the MILP) are fixed at 0
        upper[nx + sub.n_managers:] = 0.0
    sub_value = float(np.abs(sub.cost[np.arange(len(fu)), choice[fu]]).sum()) + sub.balance_rate * float(
        np.clip(unit_loads(sub, choice[fu]) - sub.target, 0, None).sum())
    x = _highs_milp(c, a_ub, b_ub, a_eq, b_eq, nx, upper, node_limit=node_limit,
                    rel_gap=abs_gap / max(sub_value, 1e-9) if abs_gap > 0 else 1e-6, time_limit=time_limit,
                    start=_plan_columns(sub, choice[fu], ur, uc, len(c)), heuristics=heuristics)
    if x is None:
        return None
    share[fu[ur], uc] = x[:nx]
    return share


def _plan_columns(problem: Problem, choice: np.ndarray, ur: np.ndarray, uc: np.ndarray, n_cols: int) -> np.ndarray:
    """The plan ``choice`` as a point of ``_lp_matrices(problem)``: its entries at 1 and every slack at the value
    the plan needs (balance above target, elastic over and under band, aux, moves over the limit)."""
    M = problem.n_managers
    nx = len(ur)
    col = np.zeros(n_cols)
    col[:nx] = uc == choice[ur]
    load = unit_loads(problem, choice)
    col[nx:nx + M] = np.clip(load - problem.target, 0, None)
    col[nx + M:nx + 2 * M] = np.clip(load - problem.upper, 0, None)
    col[nx + 2 * M:nx + 3 * M] = np.clip(problem.lower - load, 0, None)
    if problem.aux is not None:
        a_sc = _aux_scale(problem)
        aload = aux_loads(problem, choice)
        col[nx + 3 * M:nx + 4 * M] = np.clip(aload - problem.aux_upper, 0, None) / a_sc
        col[nx + 4 * M:nx + 5 * M] = np.clip(problem.aux_lower - aload, 0, None) / a_sc
    if problem.move_limit is not None:
        moved = float(problem.moves[np.arange(problem.n_units), choice].sum())
        col[-1] = max(moved - problem.move_limit, 0.0)
    return col


def _aux_part(problem: Problem, fixed_mgr: np.ndarray, fixed: np.ndarray, free_units: np.ndarray) -> dict:
    """The aux fields of a sub-problem over ``free_units``: the fixed units' aux is taken off each band."""
    if problem.aux is None:
        return {}
    fixed_aux = np.bincount(fixed_mgr, weights=problem.aux[fixed], minlength=problem.n_managers)
    return {"aux": problem.aux[free_units], "aux_upper": problem.aux_upper - fixed_aux,
            "aux_lower": problem.aux_lower - fixed_aux, "aux_penalty": problem.aux_penalty}


def _reduced_cost(problem: Problem, choice: np.ndarray, prices: np.ndarray | None) -> np.ndarray:
    """Reduced cost (cost + hours × price) of every entry minus that of the unit's current entry; ``inf`` where
    there is no candidate and at the current entry itself."""
    n = problem.n_units
    rows = np.arange(n)
    valid = problem.cand >= 0
    cmg = np.where(valid, problem.cand, 0)
    pr = np.zeros(problem.n_managers) if prices is None else np.asarray(prices, dtype=float)
    rc = np.where(valid, problem.cost + problem.hours[:, None] * pr[cmg], np.inf)
    rc = rc - rc[rows, choice][:, None]
    rc[rows, choice] = np.inf
    return rc


def _lp_reduced_cost(problem: Problem, prices: np.ndarray) -> np.ndarray:
    """Reduced cost (cost + hours × price) of every entry minus the cheapest of its unit: 0 on the entries an LP
    optimum at these prices may use; ``inf`` where there is no candidate."""
    valid = problem.cand >= 0
    pi = np.asarray(prices, dtype=float)
    val = np.where(valid, problem.cost + problem.hours[:, None] * pi[np.where(valid, problem.cand, 0)], np.inf)
    return val - val.min(axis=1)[:, None]


def _cheapest_entries(problem: Problem, choice: np.ndarray, prices: np.ndarray | None, count: int,
                      among: np.ndarray | None = None) -> np.ndarray:
    """(n, k) mask of the ``count`` alternative entries with the smallest reduced cost (ties: lowest index),
    optionally only of the units ``among`` (a boolean mask)."""
    rc = _reduced_cost(problem, choice, prices)
    if among is not None:
        rc[~among] = np.inf
    flat = rc.ravel()
    idx = np.flatnonzero(np.isfinite(flat))
    if len(idx) > count:
        idx = idx[np.argsort(flat[idx], kind="stable")[:count]] if count > 0 else idx[:0]
    keep = np.zeros(flat.shape, dtype=bool)
    keep[idx] = True
    return keep.reshape(rc.shape)


def polish(problem: Problem, choice: np.ndarray, prices: np.ndarray | None = None, max_entries: int = 3000,
           time_limit: float = 2.0, node_limit: int = 100, free_units: np.ndarray | None = None) -> np.ndarray:
    """Re-optimise the plan exactly (HiGHS MILP) over the entries that matter, with everything else fixed.

    The entries kept free are each unit's current choice plus the ``max_entries`` entries with the smallest
    reduced cost (cost + hours × price, minus the unit's current one); ``free_units`` (indices) get all their
    candidates. The branch and bound stops after ``node_limit`` nodes (a count, not a clock, so the result does
    not depend on machine load; ``time_limit`` is only a safety stop).
    """
    keep = _cheapest_entries(problem, choice, prices, max_entries)
    if free_units is not None:
        keep[free_units] = True
    return _restricted_milp(problem, choice, keep, node_limit=node_limit, time_limit=time_limit)


def components(problem: Problem) -> np.ndarray:
    """Independent parts of the problem: a label per unit such that no unit can reach a manager of another
    part. Without a move limit the parts can be optimised one at a time (roles usually split a book this way);
    a move limit couples them, so then there is one part."""
    n = problem.n_units
    if problem.move_limit is not None or n == 0:
        return np.zeros(n, dtype=np.int64)
    label, first = _manager_parts(problem)
    return label[first].astype(np.int64)


def _manager_parts(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """A part label per manager (managers linked when some unit may go to both) and each unit's first valid
    candidate (a manager of the unit's part)."""
    from scipy.sparse.csgraph import connected_components

    k = problem.cand.shape[1]
    M = problem.n_managers
    valid = problem.cand >= 0
    first = np.where(valid, problem.cand, -1).max(axis=1)  # any valid candidate of the unit
    src = np.repeat(first, k)[valid.ravel()]
    graph = sp.coo_matrix((np.ones(len(src)), (src, problem.cand[valid])), shape=(M, M))
    return connected_components(graph, directed=False)[1], first


def refine(problem: Problem, choice: np.ndarray, prices: np.ndarray | None = None, full_entries: int = 2500,
           rc_entries: int = 600, rounds: int = 2, node_limit: int = 200, rel_gap: float = 2e-5,
           time_limit: float = 20.0, sweep: int | None = None) -> np.ndarray:
    """MILP improvement of a plan that meets the band, one independent part (``components``) at a time.

    A part with at most ``full_entries`` candidate entries is re-solved with all of them (a role of a few
    hundred strategic accounts: there whole-account moves decide the last per cent). In a larger part the
    lumpy units (hours at least a tenth of their manager's band width) of one block of neighbouring managers
    keep all their candidates (``_lumpy_windows``) and the ``rc_entries`` entries with the smallest reduced cost
    at ``prices`` are freed besides; this repeats ``rounds`` times around the improved plan, the next block each
    time (with ``sweep``: at least once per block, at most ``sweep`` times). Each MILP stops at ``node_limit`` nodes or when within ``rel_gap`` of the whole plan's objective, so the result is
    deterministic and never worse than the input.
    """
    n, k = problem.cand.shape
    if n == 0:
        return choice
    valid = problem.cand >= 0
    label = components(problem)
    counts = np.bincount(label, weights=valid.sum(axis=1))
    width = np.maximum(problem.upper - problem.lower, 1e-9)
    for part in np.argsort(-counts, kind="stable"):
        if counts[part] < 2:
            continue
        in_part = label == part
        abs_gap = rel_gap * abs(evaluate(problem, choice)[0])
        if counts[part] <= full_entries:
            keep = valid & in_part[:, None]
            choice = _restricted_milp(problem, choice, keep, node_limit=node_limit, abs_gap=abs_gap,
                                      time_limit=time_limit)
            continue
        windows = _lumpy_windows(problem, choice, in_part, width, full_entries // 2)
        n_rounds = rounds if sweep is None else min(max(rounds, len(windows)), sweep)
        for r in range(n_rounds):
            lumpy = np.zeros(n, dtype=bool)
            if windows:
                lumpy[windows[r % len(windows)]] = True
            keep = _cheapest_entries(problem, choice, prices, rc_entries, among=in_part & ~lumpy)
            keep[lumpy] = True
            new = _restricted_milp(problem, choice, keep, node_limit=node_limit, abs_gap=abs_gap,
                                   time_limit=time_limit)
            if np.array_equal(new, choice) and len(windows) <= 1:
                break
            choice = new
    return choice


def rins(problem: Problem, choice: np.ndarray, share: np.ndarray, rounds: int = 4, node_limit: int = 1,
         time_limit: float = 30.0) -> np.ndarray:
    """Relaxation-induced neighbourhood search (Danna, Rothberg & Le Pape 2005, Math. Programming 102): a unit
    whose plan entry is where the LP optimum ``share`` puts it whole stays where it is; every other unit is
    re-solved by a MILP over its current entry and every entry the LP uses. The LP and a good plan agree on
    almost every unit (100k x 1,000 bench, named-account role: 1,266 of 56,159 differ), so the MILP is small
    and still reaches the exchanges between managers that no neighbourhood of nearby managers holds. Repeats
    around the new plan while it changes, at most ``rounds`` times; never worse than the input."""
    n = problem.n_units
    if n == 0:
        return choice
    rows = np.arange(n)
    used = (share > 1e-6) & (problem.cand >= 0)
    for _ in range(rounds):
        keep = used.copy()
        differ = share[rows, choice] < 1 - 1e-6
        keep[differ] = problem.cand[differ] >= 0
        new = _restricted_milp(problem, choice, keep, node_limit=node_limit, time_limit=time_limit)
        if np.array_equal(new, choice):
            break
        choice = new
    return choice


def core(problem: Problem, choice: np.ndarray, prices: np.ndarray, alternatives: int = 5000, node_limit: int = 10_000,
         time_limit: float = 3600.0, heuristics: float = 0.3,
         progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Branch and bound over the core of each independent part (the core problem of Balas & Zemel 1980, Operations
    Research 28, for the knapsack): at hour prices ``prices`` (the exact LP's) each entry has a reduced cost (its
    cost plus hours × price, minus its unit's cheapest), and a plan's distance to the LP is the reduced cost it uses
    plus the price of its unused band. Every unit keeps its current entry, the ``alternatives`` entries of smallest
    reduced cost anywhere in the part are freed, and the rest stays fixed; HiGHS then searches ``node_limit`` nodes
    with more sub-MIP heuristics than its default. Parts are taken one at a time (a role of small accounts has
    reduced costs far below a role of strategic ones, and would otherwise take the whole core). Fixing the rest
    leaves each manager little room, so presolve drops the entries that no longer fit and the core's bound is far
    tighter than the LP's. Where the windows' exchanges stay among a few dozen neighbouring managers, the core
    reaches across the role (100k x 1,000 bench, named-account role: 0.1833 % -> 0.1617 % above its LP from the
    windows' plan). Deterministic (a node count; ``time_limit`` is a safety stop) and never worse than the input.
    ``progress``: optional callback with the share of parts done."""
    n, k = problem.cand.shape
    if n == 0 or alternatives <= 0:
        return choice
    rows = np.arange(n)
    rc = _lp_reduced_cost(problem, prices)
    label = components(problem)
    parts = np.unique(label)
    for i, part in enumerate(parts):  # a loop over parts (roles), not accounts
        part_rc = np.where((label == part)[:, None], rc, np.inf)
        part_rc[rows, choice] = np.inf
        flat = np.flatnonzero(np.isfinite(part_rc.ravel()))
        flat = flat[np.argsort(part_rc.ravel()[flat], kind="stable")[:alternatives]]
        keep = np.zeros(n * k, dtype=bool)
        keep[flat] = True
        choice = _restricted_milp(problem, choice, keep.reshape(n, k), node_limit=node_limit,
                                  time_limit=time_limit, heuristics=heuristics)
        if progress is not None:
            progress((i + 1) / len(parts))
    return choice


def windows(problem: Problem, choice: np.ndarray, prices: np.ndarray, rounds: int = 12, managers: int = 120,
            units: int = 4500, entries: int = 10_000, node_limit: int = 500, time_limit: float = 120.0,
            progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Large neighbourhood search over windows of managers, each aimed at where the plan loses most against the LP.

    At hour prices ``prices`` (the exact LP's), a plan's distance to the LP bound splits by manager: the reduced
    cost of the units it holds plus the price of its unused band (a manager the LP fills to its upper edge left
    2 h short, one held above its lower edge the LP would leave at it). Each round seeds a window at the manager
    that loses most (divided by one plus how often it was in a window lately, so the search moves on), grows it
    along the candidate links with the smallest reduced cost until its managers hold ``units`` units or it has
    ``managers`` managers, and re-solves every unit those managers hold by a MILP over their candidates inside the
    window (the alternatives with the smallest reduced cost, up to ``entries`` entries in all) with everything
    else fixed. A role of few large accounts gets a wide window (100k x 1,000 bench, strategic role: 120 managers,
    2,000 accounts), one of many small accounts a narrow one (named accounts: 50 managers, 4,500 accounts). The
    windows reach the exchanges between a few dozen managers that a single move, a two-move chain, a price-picked
    set or RINS do not (100k x 1,000 bench, named-account role: 0.207 % -> 0.183 % above its LP in 18 windows). Each MILP stops at ``node_limit`` nodes
    (``time_limit`` is a safety stop), so the result is deterministic and never worse than the input.
    ``progress``: optional callback with the share of rounds done."""
    n, k = problem.cand.shape
    M = problem.n_managers
    if n == 0 or M < 2 or rounds <= 0:
        return choice
    rows = np.arange(n)
    valid = problem.cand >= 0
    cmg = np.where(valid, problem.cand, 0)
    pi = np.asarray(prices, dtype=float)
    rc = _lp_reduced_cost(problem, pi)
    finite = valid & (rc > 0)
    scale = float(np.median(rc[finite])) if finite.any() else 1.0
    link = np.where(valid, np.exp(-rc / max(scale, 1e-9)), 0.0)
    recent = np.zeros(M)
    tried: set[int] = set()
    seeds = _window_parts(problem, rounds)
    for i, part in enumerate(seeds):
        if progress is not None:
            progress(i / len(seeds))
        cur = cmg[rows, choice]
        loss = _band_loss(problem, pi, unit_loads(problem, choice)) + np.bincount(cur, weights=rc[rows, choice],
                                                                                 minlength=M)
        seed = int(np.argmax(np.where(part, loss / (1.0 + recent), -np.inf)))
        graph = sp.csr_matrix((link[valid], (np.repeat(cur, k)[valid.ravel()], problem.cand[valid])), shape=(M, M))
        graph = (graph + graph.T).tocsr()
        held = np.bincount(cur, minlength=M)
        inside = np.zeros(M, dtype=bool)
        inside[seed] = True
        count = held[seed]
        reach = graph[seed].toarray().ravel()
        for _ in range(min(managers, M) - 1):  # grow along the strongest links (a loop over managers, not accounts)
            nxt = int(np.argmax(np.where(inside, -1.0, reach)))
            if count >= units or reach[nxt] <= 0 or inside[nxt]:
                break
            inside[nxt] = True
            count += held[nxt]
            reach += graph[nxt].toarray().ravel()
        recent *= 0.9
        recent[inside] += 1.0
        key = hash((inside.tobytes(), choice.tobytes()))
        if key in tried:  # the same window around the same plan: the same MILP (a small book's one window)
            continue
        tried.add(key)
        free = inside[cur]
        alt = valid & free[:, None] & inside[cmg]
        alt[rows, choice] = False
        flat = np.flatnonzero(alt.ravel())
        room = max(entries - int(free.sum()), 0)
        if len(flat) > room:
            flat = flat[np.argsort(rc.ravel()[flat], kind="stable")[:room]]
        keep = np.zeros(n * k, dtype=bool)
        keep[flat] = True
        keep = keep.reshape(n, k)
        choice = _restricted_milp(problem, choice, keep, node_limit=node_limit, time_limit=time_limit)
    return choice


def _window_parts(problem: Problem, rounds: int) -> list[np.ndarray]:
    """The seed set of each round of ``windows``: the managers of one independent part (managers linked by
    candidates), ``rounds`` shared out in proportion to each part's managers (at least one each), parts taken in
    turn. Without this the strategic role's managers, whose losses are large and mostly beyond any plan (its
    integer optimum sits 2.45 % above its LP on the 100k bench), would take every round."""
    label = _manager_parts(problem)[0]
    size = np.bincount(label)
    parts = np.flatnonzero(size >= 2)
    if not len(parts):
        return []
    share = np.maximum(np.round(rounds * size[parts] / size[parts].sum()).astype(int), 1)
    order = np.argsort(np.concatenate([(np.arange(c) + 0.5) / c for c in share]), kind="stable")
    return [label == p for p in np.repeat(parts, share)[order]]


def _band_loss(problem: Problem, pi: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Per manager, what its load costs against the LP at hour prices ``pi`` beyond what the LP pays: a manager
    priced above the balance rate (the LP fills it to its upper edge) loses (price - rate) per hour below that
    edge; one priced below zero (held at its lower edge) loses -price per hour above it; one in between loses its
    price per hour below target and (rate - price) per hour above it. Zero where the load is where the LP wants
    it; the sum plus the units' reduced costs is the plan's distance to the Lagrangian bound at ``pi``."""
    beta = problem.balance_rate
    over_t = np.clip(load - problem.target, 0, None)
    under_t = np.clip(problem.target - load, 0, None)
    return np.where(pi > beta, (pi - beta) * np.clip(problem.upper - load, 0, None),
                    np.where(pi < 0, -pi * np.clip(load - problem.lower, 0, None),
                             pi * under_t + (beta - pi) * over_t))


def _lumpy_windows(problem: Problem, choice: np.ndarray, in_part: np.ndarray, width: np.ndarray,
                   budget: int) -> list[np.ndarray]:
    """The part's lumpy units (hours at least a tenth of their manager's band width), in windows of at most
    ``budget`` candidate entries. Units are ordered by their manager's position in a reverse Cuthill–McKee
    order of the manager graph (managers that share candidates sit next to each other), so each window is a
    block of neighbouring managers whose strategic accounts can be exchanged among themselves."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n, k = problem.cand.shape
    rows = np.arange(n)
    valid = problem.cand >= 0
    cur = np.where(valid, problem.cand, 0)[rows, choice]
    lumpy = np.flatnonzero(in_part & (problem.hours >= 0.1 * width[cur]))
    if not len(lumpy):
        return []
    sub_valid = valid[lumpy]
    src = np.repeat(cur[lumpy], k)[sub_valid.ravel()]
    dst = problem.cand[lumpy][sub_valid]
    M = problem.n_managers
    graph = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(M, M))
    pos = np.empty(M, dtype=np.int64)
    pos[reverse_cuthill_mckee((graph + graph.T).tocsr(), symmetric_mode=True)] = np.arange(M)
    lumpy = lumpy[np.lexsort((lumpy, pos[cur[lumpy]]))]
    window = (np.cumsum(valid[lumpy].sum(axis=1)) - 1) // max(budget, 1)
    return [lumpy[window == w] for w in np.unique(window)]


#: Where each stage of ``solve`` starts, as a share of the whole run (a progress bar's position), between what was
#: measured on the sample book (2,000 accounts: thorough 8.7 s, auto 1.1 s) and on the 100k x 1,000 bench book
#: (thorough 158 s; deep 91 min, of which windows about 30 min and the core the rest).
_THOROUGH = {"prices": 0.0, "band": 0.004, "chains": 0.007, "exact parts": 0.027, "deeper parts": 0.086, "exact LP": 0.47,
             "LP-priced parts": 0.6, "LP disagreements": 0.97}
_STAGE_SHARE = {
    "auto": {"prices": 0.0, "chains": 0.05, "exact parts": 0.1},
    "thorough": _THOROUGH,
    "deep": {**{stage: 0.028 * share for stage, share in _THOROUGH.items()}, "windows": 0.028, "core": 0.34},
}


def _band_rounds(problem: Problem, sol: Solution, rounds: int = 4) -> None:
    """More rounds of ``restore_band`` on a plan that still misses the band, while each one lowers the objective
    (violations cost the elastic penalty, so that is while the band gets closer): each round frees the units
    around the managers still outside, which the first round, spread over many more, could not reach (a generated
    100k-account book at a ±5 % band: 32 managers outside after the Lagrangian route, all 2,000 inside after 46 s of
    these rounds). Updates ``sol`` in place."""
    for _ in range(rounds):
        # as in _restore: the band MILP ignores the move limit, so the moves are restored after it
        choice = restore_moves(problem, restore_band(problem, sol.choice, prices=sol.prices), prices=sol.prices)
        val, viol = evaluate(problem, choice)
        if val >= sol.objective - 1e-9 * max(abs(sol.objective), 1.0):
            return
        sol.choice, sol.objective, sol.violations = choice, val, viol
        if _is_clean(viol, problem):
            return


def _stages(mode: str, progress: Callable[[str, float], None] | None) -> Callable:
    """``say(stage, result=None, within=0)``: tell ``progress`` that ``stage`` starts (at its share of ``mode``'s
    run; "done" is 1), or with ``within`` how far into the stage the run is, and hand ``result`` back, so
    ``return say("done", sol)`` reports the end."""
    share = _STAGE_SHARE.get(mode, {})

    def say(stage: str, result=None, within: float = 0.0):
        if progress is not None:
            start = 1.0 if stage == "done" else share.get(stage, 0.0)
            end = min((v for v in share.values() if v > start), default=1.0)
            progress(stage, start + min(max(within, 0.0), 1.0) * (end - start))
        return result

    return say


def solve(problem: Problem, mode: str = "auto", time_limit: float = 60.0, polish_seconds: float = 2.0,
          refine_units: int = 50_000, deep_rounds: int = 24, deep_nodes: int = 10_000,
          progress: Callable[[str, float], None] | None = None) -> Solution:
    """Pick the method.

    ``"exact"``: MILP over the candidates (small books; stops at ``time_limit``). ``"lp"``: HiGHS LP (exact
    bound), rounding and plans at the LP duals, repair, local search and a MILP polish of at most
    ``polish_seconds``. ``"lagrangian"``: Lagrangian prices, repair and local search — the fastest.
    ``"auto"``: on books of up to ``refine_units`` units the Lagrangian route plus two-move chains
    (``exchange``) and a root-node MILP per independent part (``refine``: the strategic accounts of a role
    exactly, the most promising alternatives elsewhere); larger books get the Lagrangian route alone (100k
    units × 1,000 managers in under a second). ``"thorough"``: a first plan that misses the band gets up to four
    more rounds of ``restore_band``, each around the managers still outside (``_band_rounds``); then chains and
    refine at any size, a deeper refine (more alternatives, bigger exact parts, a sweep over the strategic blocks),
    and the exact LP (``exact_lp``): its optimum becomes the reported bound, its prices pick the alternatives of up
    to three more rounds, and ``rins`` re-solves the units where the plan and the LP optimum disagree; for batch runs
    (100k units × 1,000 managers: about 2.5 minutes). ``"deep"``: ``thorough`` and then ``deep_rounds`` windows of
    ``windows`` (each a branch and bound over a few dozen managers, up to a minute or two on big books), then
    ``deep_nodes`` nodes of branch and bound over the book's ``core`` (its cheapest alternatives at the LP prices);
    for runs overnight.

    ``progress``: optional ``progress(stage, fraction)`` callback, called as each stage of the search starts and with
    fraction 1 at the end; the fractions are the stages' typical shares of the run (``_STAGE_SHARE``), so a bar
    moves about evenly in time.
    """
    say = _stages(mode, progress)
    if mode == "exact":
        return say("done", solve_exact(problem, time_limit))
    if mode == "lp":
        return say("done", solve_lp(problem, time_limit, polish_seconds=polish_seconds))
    if mode not in ("auto", "thorough", "deep", "lagrangian"):
        raise ValueError(f"unknown solver mode {mode!r}; expected auto, thorough, deep, exact, lp or lagrangian")
    t0 = time.perf_counter()
    say("prices")
    sol = solve_lagrangian(problem)
    if mode == "lagrangian" or (mode == "auto" and problem.n_units > refine_units):
        return say("done", sol)
    if not _is_clean(sol.violations, problem) and mode in ("thorough", "deep"):
        say("band")
        _band_rounds(problem, sol)
    if not _is_clean(sol.violations, problem):
        # a plan outside the band is a diagnosis case: the chains and the MILP need a feasible start
        return say("done", sol)
    say("chains")
    choice = exchange(problem, sol.choice)
    # each MILP ends at its root node (a count, so the plan is the same on any machine); the clock limit is a
    # safety stop that only a pathological part or a machine several times slower than ours would reach
    say("exact parts")
    choice = refine(problem, choice, prices=sol.prices, node_limit=1, rounds=1, full_entries=1000, rc_entries=300,
                    time_limit=min(time_limit, 10.0))
    label = "lagrangian+chains+milp"
    if mode in ("thorough", "deep"):  # a deeper search from the auto plan, so never worse than auto
        say("deeper parts")
        choice = refine(problem, choice, prices=sol.prices, node_limit=1, rounds=2, rc_entries=1000,
                        full_entries=3000, time_limit=min(time_limit, 10.0), sweep=12)
        say("exact LP")
        exact = exact_lp(problem, time_limit=max(time_limit, 120.0))
        if exact is not None:
            # the exact LP: its bound replaces the Lagrangian one, and its prices pick the alternatives worth
            # freeing better than the Lagrangian prices do (100k x 1,000 bench: 1.17 % -> 1.08 % above the LP)
            bound, prices = exact[0], exact[1]
            sol.lower_bound = max(sol.lower_bound, bound)
            label += "+lp"
            before = evaluate(problem, choice)[0]
            say("LP-priced parts")
            for _ in range(3):  # until a round gains less than 0.02 % of the objective
                # a 3,000-alternative root takes up to ~10 s on a 56k-account role: a 30 s safety stop keeps the
                # node limit, not the clock, the stop even on a loaded machine
                choice = refine(problem, choice, prices=prices, node_limit=1, rounds=1, rc_entries=3000,
                                full_entries=3000, time_limit=max(time_limit, 30.0))
                after = evaluate(problem, choice)[0]
                if before - after < 2e-4 * abs(before):
                    break
                before = after
            # then the units where plan and LP optimum disagree, with every entry the LP uses: exchanges between
            # distant managers that no price-picked set holds (100k x 1,000 bench: 1.079 % -> 1.068 %, +7 s)
            say("LP disagreements")
            choice = rins(problem, choice, exact[4], time_limit=max(time_limit, 30.0))
            if mode == "deep":
                # windows of a few dozen managers re-solved with a real branch and bound each, aimed where the plan
                # loses most against the LP (100k x 1,000 bench: see bench/README.md)
                say("windows")
                choice = windows(problem, choice, prices, rounds=deep_rounds, time_limit=max(time_limit, 120.0),
                                 progress=lambda f: say("windows", within=f))
                # then the exchanges across the whole book among its cheapest alternatives, which no window holds
                say("core")
                choice = core(problem, choice, prices, node_limit=deep_nodes, time_limit=max(time_limit, 3600.0),
                              progress=lambda f: say("core", within=f))
                label += "+windows+core"
    val, viol = evaluate(problem, choice)
    if val < sol.objective:
        sol.choice, sol.objective, sol.violations = choice, val, viol
    sol.solver = label
    sol.seconds = sol.seconds + time.perf_counter() - t0
    sol.status = "optimal" if sol.gap <= 1e-6 else "feasible"
    return say("done", sol)

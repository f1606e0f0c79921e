"""Benchmark of the reallocation solver: speed, peak memory and distance from the LP lower bound.

Instances are generated with numpy (no sample generator at this scale): units with hours by segment, three
roles, regions, uneven current owners (log-normal pull, 80 % in the unit's region), managers with capacity
≈ 1.12 × demand of their role; candidates and costs are built exactly as ``reallocate`` builds them
(``workbench.allocate.solver.build_candidates``, continuity 15 % of revenue, 40 % of it avoided by industry
experience, region/language fit). ``seconds`` = candidate building and costs + the solve (what ``reallocate``
spends on top of its pandas bookkeeping); generating the random data is reported apart and not counted.

    .venv/bin/python bench/allocate.py --accounts 100000 --managers 1000        # one size
    .venv/bin/python bench/allocate.py --suite                                    # the issue's figures
    .venv/bin/python bench/allocate.py --accounts 100000 --managers 1000 --mode thorough --floor 600
        # per role: exact LP, our plan, and the integer optimum's lower bound HiGHS proves in 600 s

Prints figures and ends with ONE JSON line (stage, accounts, seconds, baseline, baseline_seconds, ...).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.allocate import solver as S  # noqa: E402

SEG_HOURS = np.array([60.0, 20.0, 8.0, 2.0])
SEG_SHARE = np.array([0.04, 0.20, 0.36, 0.40])
SEG_ROLE = np.array([0, 1, 1, 2])
SEG_REVENUE = np.array([400_000.0, 80_000.0, 25_000.0, 4_000.0])


def make_instance(n: int, m: int, seed: int = 0, k: int = 12, band: float = 0.15, slack: float = 1.12,
                  regions: int = 16, n_industries: int = 12, profile: str = "lumpy") -> S.Problem:
    """A numpy-generated allocation instance with ``n`` units and ``m`` managers (see the module docstring).

    ``profile="lumpy"``: three roles, strategic units of ~60 h (a key account manager holds ~17 of them), so
    whole-account moves are coarse and the LP bound sits visibly below any integer plan. ``profile="fine"``:
    one role and units of 2–20 h, like the reference figures in DESIGN.md.
    """
    rng = np.random.default_rng(seed)
    seg = rng.choice(4, size=n, p=SEG_SHARE)
    if profile == "fine":
        seg = np.where(seg == 0, 1, seg)
        hours = rng.uniform(2.0, 20.0, n)
        role = np.zeros(n, dtype=np.int64)
    else:
        hours = SEG_HOURS[seg] * rng.uniform(0.8, 1.2, n)
        role = SEG_ROLE[seg]
    region = rng.integers(0, regions, n)
    language = np.where(rng.random(n) < 0.9, 0, 1)
    industry = rng.integers(0, n_industries, n)
    revenue = SEG_REVENUE[seg] * rng.lognormal(0, 0.6, n)
    demand = np.bincount(role, weights=hours, minlength=3)
    m_role = rng.choice(3, size=m, p=demand / demand.sum())
    if profile != "fine":
        m_role[:3] = [0, 1, 2]
    m_region = rng.integers(0, regions, m)
    m_lang = np.where(rng.random(m) < 0.3, 0b11, 0b01).astype(np.int64)
    role_cap = demand * slack / np.maximum(np.bincount(m_role, minlength=3), 1)
    capacity = role_cap[m_role] * rng.uniform(0.9, 1.1, m)
    pull = rng.lognormal(0, 0.45, m)
    # current owner: 80 % a manager of the unit's role in its region (by pull), else any of its role
    owner = np.full(n, -1)
    key = role * regions + region
    for g in np.unique(key):
        rows = np.flatnonzero(key == g)
        r, reg = divmod(int(g), regions)
        local = np.flatnonzero((m_role == r) & (m_region == reg))
        anyr = np.flatnonzero(m_role == r)
        pool = local if len(local) else anyr
        for sel, p in ((rng.random(len(rows)) < 0.8, pool), (None, anyr)):
            idx = rows[sel] if sel is not None else rows[owner[rows] < 0]
            cdf = np.cumsum(pull[p]) / pull[p].sum()
            owner[idx] = p[np.minimum(np.searchsorted(cdf, rng.random(len(idx))), len(p) - 1)]
    owner[rng.random(n) < 0.01] = -1
    target = np.zeros(m)
    for r in range(3):
        serve = m_role == r
        if serve.any():
            target[serve] = demand[r] * capacity[serve] / capacity[serve].sum()
    upper = np.minimum(target * (1 + band), capacity)
    lower = target * (1 - band)
    load_before = np.bincount(owner[owner >= 0], weights=hours[owner >= 0], minlength=m)
    t_cand = time.perf_counter()
    cand = S.build_candidates(owner, role, region, language, m_role, m_region, m_lang, np.ones(m, bool),
                              target - load_before, k=k, seed=seed)
    cm = np.where(cand >= 0, cand, 0)
    exp_pairs = rng.random((m, n_industries)) < 0.3
    exp = exp_pairs[cm, industry[:, None]]
    moved = (cm != owner[:, None]) & (owner[:, None] >= 0)
    cont = 0.15 * revenue[:, None] * moved * (1 - 0.4 * exp)
    fit = revenue[:, None] * (0.03 * (m_region[cm] != region[:, None])
                              + 0.05 * (((m_lang[cm] >> language[:, None]) & 1) == 0))
    cost = np.where(cand >= 0, cont + fit, 0.0)
    moves = np.where(cand >= 0, moved, 0).astype(float)
    beta = 0.02 * revenue.sum() / hours.sum()
    penalty = 1e3 * max(float(cost.max()) / float(hours.min()), beta)
    prob = S.Problem(hours=hours, cand=cand, cost=cost, moves=moves, upper=upper, lower=lower, target=target,
                     capacity=capacity, balance_rate=beta, penalty=penalty)
    prob.__dict__["_candidate_seconds"] = time.perf_counter() - t_cand  # what reallocate also spends
    return prob


def timed_instance(n: int, m: int, seed: int = 0) -> tuple[S.Problem, float, float]:
    """Build an instance; returns it with the seconds spent generating data and building candidates+costs."""
    t0 = time.perf_counter()
    prob = make_instance(n, m, seed)
    return prob, time.perf_counter() - t0, 0.0


def run_ours(prob: S.Problem, mode: str = "auto") -> tuple[S.Solution, float]:
    """``workbench.allocate.solver.solve`` in ``mode`` — what ``reallocate(..., mode=mode)`` runs."""
    t0 = time.perf_counter()
    sol = S.solve(prob, mode=mode)
    return sol, time.perf_counter() - t0


def run_linprog(prob: S.Problem, time_limit: float, method: str = "highs") -> tuple[float | None, float, str]:
    """The same LP (same candidates, band, balance term, elastic slacks) solved exactly by scipy linprog/HiGHS."""
    from scipy.optimize import linprog

    c, a_ub, b_ub, a_eq, b_eq, *_ = S._lp_matrices(prob)
    t0 = time.perf_counter()
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method=method,
                  options={"time_limit": time_limit})
    dt = time.perf_counter() - t0
    return (float(res.fun) if res.status == 0 else None), dt, str(res.message)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def one(n: int, m: int, seed: int, lp: bool, lp_limit: float, profile: str = "lumpy",
        lp_method: str = "highs", mode: str = "auto", k: int = 12) -> dict:
    t0 = time.perf_counter()
    prob = make_instance(n, m, seed, k=k, profile=profile)
    build = time.perf_counter() - t0
    sol, solve_s = run_ours(prob, mode)
    viol = float(sol.violations["over_band_hours"].sum() + sol.violations["under_band_hours"].sum())
    cand_s = prob.__dict__.get("_candidate_seconds", 0.0)
    row = {"accounts": n, "managers": m, "candidates": k, "profile": profile, "mode": mode, "solver": sol.solver,
           "generate_seconds": round(build - cand_s, 3),
           "candidates_seconds": round(cand_s, 3), "solve_seconds": round(solve_s, 3),
           "seconds": round(cand_s + solve_s, 3), "objective": sol.objective, "lagrangian_bound": sol.lower_bound,
           "gap_vs_own_bound": round(sol.gap, 5), "iterations": sol.iterations, "band_violation_hours": viol,
           "moves": float(sol.violations["moves"]), "peak_mb": round(peak_mb(), 1)}
    print(f"[{profile}, {mode}, k={k}] {n:>9,} units × {m:>5,} managers: data {build - cand_s:6.2f} s (not timed), "
          f"candidates+costs {cand_s:6.2f} s, solve {solve_s:6.2f} s, total {cand_s + solve_s:6.2f} s; "
          f"objective {sol.objective:,.0f}, own bound {sol.lower_bound:,.0f} (gap {sol.gap:.3%}), "
          f"band violations {viol:.1f} h, peak RSS {peak_mb():,.0f} MB", flush=True)
    if lp:
        fun, lp_s, msg = run_linprog(prob, lp_limit, lp_method)
        row.update({"baseline": f"scipy linprog ({lp_method}) exact LP", "baseline_seconds": round(lp_s, 3),
                    "lp_optimum": fun, "gap_vs_lp": None if fun is None else round(sol.objective / fun - 1, 5),
                    "time_ratio_lp_over_ours": round(lp_s / solve_s, 1)})
        if fun is None:
            print(f"    linprog: no optimum within {lp_limit:.0f} s ({msg})", flush=True)
        else:
            print(f"    linprog (HiGHS) exact LP: {lp_s:6.2f} s, optimum {fun:,.0f}; ours is "
                  f"{sol.objective / fun - 1:.3%} above it; linprog/ours time ratio {lp_s / solve_s:,.1f}×",
                  flush=True)
    return row


def part_problem(prob: S.Problem, units: np.ndarray) -> S.Problem:
    """The independent part of ``prob`` over ``units`` (one ``S.components`` label) as a problem of its own."""
    mg = np.unique(prob.cand[units][prob.cand[units] >= 0])
    remap = np.full(prob.n_managers, -1)
    remap[mg] = np.arange(len(mg))
    cand = np.where(prob.cand[units] >= 0, remap[np.clip(prob.cand[units], 0, None)], -1).astype(np.int32)
    return S.Problem(hours=prob.hours[units], cand=cand, cost=prob.cost[units], moves=prob.moves[units],
                     upper=prob.upper[mg], lower=prob.lower[mg], target=prob.target[mg],
                     capacity=prob.capacity[mg], balance_rate=prob.balance_rate, penalty=prob.penalty)


def highs_bound(prob: S.Problem, start: np.ndarray, seconds: float) -> tuple[float, float]:
    """HiGHS' own MILP over every candidate entry, started from the plan ``start``, for ``seconds``: returns
    (best objective found, proven lower bound on the integer optimum)."""
    import highspy

    c, a_ub, b_ub, a_eq, b_eq, ur, uc, nx = S._lp_matrices(prob)
    upper = np.full(len(c), np.inf)
    upper[:nx] = 1.0
    upper[nx + prob.n_managers:] = 0.0  # the start meets the band: no elastic slack
    h, live = S._highs_model(c, a_ub, b_ub, a_eq, b_eq, upper, time_limit=float(seconds),
                             mip_allow_restart=False)
    h.changeColsIntegrality(nx, np.arange(nx, dtype=np.int32), np.ones(nx, dtype=np.uint8))
    first = highspy.HighsSolution()
    first.col_value = S._plan_columns(prob, start, ur, uc, len(c))[live]
    first.value_valid = True
    h.setSolution(first)
    h.run()
    info = h.getInfo()
    if info.primal_solution_status != 2:  # not even our start was taken: the run failed
        raise RuntimeError(f"HiGHS MILP ended without a plan: {h.modelStatusToString(h.getModelStatus())}")
    return float(info.objective_function_value), float(info.mip_dual_bound)


def floor(n: int, m: int, seed: int, mode: str, seconds: float) -> dict:
    """How far the plan of ``mode`` can still be from the best possible plan: per independent part (role), the
    exact LP (scipy linprog, highs-ipm), our plan, and HiGHS' MILP from our plan for ``seconds`` (its best plan
    and its proven bound). The whole instance's integer optimum is at least the sum of the parts' bounds."""
    from scipy.optimize import linprog

    prob = make_instance(n, m, seed)
    label = S.components(prob)
    tot = {"lp": 0.0, "ours": 0.0, "best": 0.0, "bound": 0.0}
    for part in range(int(label.max()) + 1):
        units = np.flatnonzero(label == part)
        sub = part_problem(prob, units)
        c, a_ub, b_ub, a_eq, b_eq, *_ = S._lp_matrices(sub)
        lp = float(linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None),
                           method="highs-ipm").fun)
        t0 = time.perf_counter()
        sol = S.solve(sub, mode=mode, refine_units=10**9 if mode == "auto" else 50_000)
        ours_s = time.perf_counter() - t0
        best, bound = highs_bound(sub, sol.choice, seconds)
        best = min(best, sol.objective)
        for key, val in (("lp", lp), ("ours", sol.objective), ("best", best), ("bound", max(bound, lp))):
            tot[key] += val
        print(f"  part {part}: {len(units):,} units, {sub.n_managers:,} managers, mean {sub.hours.mean():.1f} h; "
              f"LP {lp:,.0f}; {mode} {sol.objective / lp - 1:.3%} ({ours_s:.1f} s); HiGHS {seconds:.0f} s: best "
              f"{best / lp - 1:.3%}, integer optimum ≥ {max(bound, lp) / lp - 1:.3%} above the LP", flush=True)
    print(f"whole instance: LP {tot['lp']:,.0f}; {mode} {tot['ours'] / tot['lp'] - 1:.3%}; best known "
          f"{tot['best'] / tot['lp'] - 1:.3%}; integer optimum ≥ {tot['bound'] / tot['lp'] - 1:.3%} above the LP "
          f"(per-part solves; {mode} on the whole book differs only in its shared Lagrangian start)", flush=True)
    return {"stage": "allocate_floor", "accounts": n, "managers": m, "mode": mode, "highs_seconds": seconds,
            "lp": tot["lp"], "ours_vs_lp": tot["ours"] / tot["lp"] - 1, "best_vs_lp": tot["best"] / tot["lp"] - 1,
            "floor_vs_lp": tot["bound"] / tot["lp"] - 1}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=100_000, help="units (accounts) in the instance")
    ap.add_argument("--managers", type=int, default=None, help="managers (default accounts/100, at most 2000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lp", action="store_true", help="also solve the same LP exactly with scipy linprog")
    ap.add_argument("--lp-limit", type=float, default=600.0, help="seconds linprog may take")
    ap.add_argument("--lp-method", default="highs", choices=["highs", "highs-ds", "highs-ipm"],
                    help="linprog method for the baseline")
    ap.add_argument("--profile", default="lumpy", choices=["lumpy", "fine"], help="instance family")
    ap.add_argument("--mode", default="auto", choices=["auto", "thorough", "deep", "lagrangian", "lp"],
                    help="solver mode (default auto, what the app and `workbench run` use)")
    ap.add_argument("--candidates", type=int, default=12, metavar="K",
                    help="candidate managers per unit (default 12, as `reallocate`; every figure in "
                         "bench/README.md before the eleventh session was measured with 6: --candidates 6)")
    ap.add_argument("--suite", action="store_true",
                    help="the issue's figures: 100k×1000, 1M×2000, gaps on 10k–100k, linprog on 100k×200 "
                         "(about 15 minutes)")
    ap.add_argument("--floor", type=float, default=None, metavar="SECONDS",
                    help="per role: exact LP, our plan, and HiGHS' proven bound on the integer optimum after "
                         "SECONDS of its own MILP (how much of the gap to the LP no plan can close)")
    args = ap.parse_args(argv)
    if args.floor is not None:
        m = args.managers or int(min(2000, max(10, args.accounts // 100)))
        print(json.dumps(floor(args.accounts, m, args.seed, args.mode, args.floor)))
        return 0
    if not args.suite:
        m = args.managers or int(min(2000, max(10, args.accounts // 100)))
        row = one(args.accounts, m, args.seed, args.lp, args.lp_limit, args.profile, args.lp_method, args.mode,
                  k=args.candidates)
        out = {"stage": "allocate", **row}
        out.setdefault("baseline", None)
        out.setdefault("baseline_seconds", None)
        print(json.dumps(out))
        return 0
    rows = {}
    k = args.candidates
    for profile in ("lumpy", "fine"):
        rows[f"gap_10k_100_{profile}"] = one(10_000, 100, args.seed, True, args.lp_limit, profile, "highs-ipm", k=k)
    rows["gap_30k_300_lumpy"] = one(30_000, 300, args.seed, True, args.lp_limit, "lumpy", "highs-ipm", k=k)
    rows["gap_30k_300_lumpy_thorough"] = one(30_000, 300, args.seed, True, args.lp_limit, "lumpy", "highs-ipm",
                                             "thorough", k=k)
    rows["lp_100k_200"] = one(100_000, 200, args.seed, True, args.lp_limit, "lumpy", "highs-ipm", k=k)
    rows["speed_100k_1000"] = one(100_000, 1000, args.seed, False, args.lp_limit, k=k)
    # thorough solves the exact LP itself (HiGHS simplex): its own bound is the LP optimum linprog would give
    rows["gap_100k_1000_lumpy_thorough"] = one(100_000, 1000, args.seed, False, args.lp_limit, "lumpy",
                                               mode="thorough", k=k)
    rows["speed_1m_2000"] = one(1_000_000, 2000, args.seed, False, args.lp_limit, k=k)
    lp = rows["lp_100k_200"]
    gaps = {name: v.get("gap_vs_lp") for name, v in rows.items() if "gap_vs_lp" in v}
    gaps["gap_100k_1000_lumpy_thorough (vs its exact LP)"] = rows["gap_100k_1000_lumpy_thorough"]["gap_vs_own_bound"]
    out = {"stage": "allocate", "accounts": 100_000, "managers": 1000, "candidates": k,
           "seconds": rows["speed_100k_1000"]["seconds"],
           "seconds_1m_2000": rows["speed_1m_2000"]["seconds"], "peak_mb_1m_2000": rows["speed_1m_2000"]["peak_mb"],
           "baseline": "scipy linprog (HiGHS) exact LP on 100k×200", "baseline_seconds": lp.get("baseline_seconds"),
           "ours_seconds_100k_200": lp["solve_seconds"], "time_ratio": lp.get("time_ratio_lp_over_ours"),
           "gap_vs_lp": gaps}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

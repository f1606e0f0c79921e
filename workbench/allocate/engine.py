"""Reallocation on a book: units, eligibility, targets and bands, costs, events and locks → an explained Assignment.

``reallocate(book, segmentation, ...)`` turns the book into the arrays of ``workbench.allocate.solver``, solves,
and turns the plan back into frames: owner per account, the moves with a reason each, and a per-manager
before/after table. Everything is vectorised; the only Python loops run over managers, roles or events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..book import AccountBook, account_units, counted
from ..results import Assignment, Segmentation
from . import solver as S
from .assumptions import ASSUMPTIONS, COUNTRY_LANGUAGE

__all__ = ["reallocate", "InfeasibleError", "DEFAULT_WEIGHTS", "BALANCE_QUANTITIES", "MOVE_SHARE_OF", "parse_event",
           "normalise_locks", "REASON_LABELS", "reason_label", "moves_summary", "assumed_inputs"]

DEFAULT_WEIGHTS: dict[str, float] = {"continuity": 1.0, "fit": 1.0, "balance": 1.0}
_EVENT_TYPES = ("leave", "hire", "override")
BALANCE_QUANTITIES = ("revenue", "potential")  # what ``balance_on`` may name besides the workload
MOVE_SHARE_OF = ("accounts", "revenue")        # what the move limit may count
#: A move's ``reason_code`` as people name it (filters, charts); files keep the code, the sentence is ``reason``.
REASON_LABELS: dict[str, str] = {
    "unowned": "Unowned account", "manager_leaves": "Owner leaves", "override": "Moved by hand",
    "lock": "Locked to a manager", "family": "Follows its family", "over_capacity": "Owner over capacity",
    "over_band": "Owner above the band", "under_band": "Taker below the band", "rebalance": "Rebalancing",
    "revenue_balance": "Revenue balance", "potential_balance": "Potential balance"}


def moves_summary(moves, leavers=()) -> str:
    """"309 accounts change owner, 37 accounts of leaving managers get a new one and 25 unowned accounts get one".

    Owner changes are counted apart from a leaver's handovers and from first owners, as the KPIs "Accounts moved",
    "Accounts of leavers handed over" and the move limit count them (a plain "334 accounts change owner" beside a
    KPI of 309 looked like a contradiction). ``moves`` is a plan's moves table with ``leavers`` the ids of managers
    who leave, or the plan (an ``Assignment``) itself, whose loads table says who leaves.
    """
    if hasattr(moves, "moves"):  # an Assignment
        loads = moves.loads
        leavers = loads.loc[loads["status"].eq("leaves"), "manager_id"] if "status" in loads else ()
        moves = moves.moves
    frm = moves["from_manager"] if len(moves) else pd.Series([], dtype="string")
    owned_mask = frm.notna().to_numpy(bool)
    handed = int((owned_mask & frm.isin(list(leavers)).to_numpy(bool)).sum())
    owned = int(owned_mask.sum()) - handed
    first = len(frm) - owned - handed
    parts = [f"{counted(owned, 'account')} change{'s' if owned == 1 else ''} owner"]
    if handed:
        parts.append(f"{counted(handed, 'account')} of leaving managers get{'s' if handed == 1 else ''} a new one")
    if first:
        parts.append(f"{counted(first, 'unowned account')} get{'s' if first == 1 else ''} one")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def assumed_inputs(book: AccountBook, has_need: bool | None = None) -> list[str]:
    """The plan's inputs that are defaults rather than data, in words (empty when the data gives them): a plan
    that evens out assumed hours must say so (on the Maven CRM book every manager had the import's 1,600 h and
    every strategic account the coverage model's 267 h, and nothing on the Reallocate step said it)."""
    from ..io.owners import DEFAULT_CAPACITY_HOURS

    out = []
    cap = pd.to_numeric(book.managers["capacity_hours"], errors="coerce") if "capacity_hours" in book.managers \
        else pd.Series(dtype=float)
    if len(cap) and bool((cap == DEFAULT_CAPACITY_HOURS).all()):
        out.append(f"every manager's capacity is {DEFAULT_CAPACITY_HOURS:,.0f} h a year, the import's default "
                   "when the data gives none (give a capacity column in the managers file)")
    if has_need is None:
        acc = book.accounts
        has_need = "service_need" in acc and bool(pd.to_numeric(acc["service_need"], errors="coerce").notna().any())
    if not has_need:
        out.append("the hours each account needs are the coverage model's per segment, as the data has no service "
                   "need (set them under the Segment step's coverage)")
    return out


def reason_label(code: str) -> str:
    """The label of a move's ``reason_code`` (an unknown code, from a newer engine, reads as its words)."""
    return REASON_LABELS.get(str(code), str(code).replace("_", " ").capitalize())


class InfeasibleError(ValueError):
    """No plan meets the constraints; the message names the binding constraint and what to relax.

    ``reallocate`` itself never raises it for an infeasible band or capacity (it returns the best-effort plan with
    ``stats["status"] == "infeasible"`` and the diagnosis); callers that must not continue (the CLI) raise it.
    """


# ---------------------------------------------------------------------------------------------------- inputs
def parse_event(text: str) -> dict:
    """Parse a CLI event string into an event dict.

    ``leave:M007`` · ``hire:name=Ana Roth,role=Account Manager,region=Bayern,capacity_hours=1600,ramp=0.5`` ·
    ``override:A00012=M003`` (rest re-optimised) · ``override:A00012=M003,freeze`` (rest frozen).
    """
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in _EVENT_TYPES:
        raise ValueError(f"event {text!r} not understood; use leave:MANAGER_ID, hire:key=value,... or "
                         "override:ACCOUNT_ID=MANAGER_ID[,freeze]")
    if kind == "leave":
        return {"type": "leave", "manager_id": rest.strip()}
    if kind == "override":
        parts = [p.strip() for p in rest.split(",")]
        acc, eq, mgr = parts[0].partition("=")
        if not eq:
            raise ValueError(f"override event {text!r} needs ACCOUNT_ID=MANAGER_ID")
        return {"type": "override", "account_id": acc.strip(), "manager_id": mgr.strip(),
                "rest": "freeze" if "freeze" in parts[1:] else "reoptimise"}
    ev: dict = {"type": "hire"}
    for part in rest.split(","):
        key, eq, value = part.partition("=")
        if not eq:
            raise ValueError(f"hire event {text!r}: expected key=value pairs, got {part!r}")
        key = key.strip()
        ev[key] = float(value) if key in ("capacity_hours", "ramp", "cost") else value.strip()
    return ev


def _share(x: float) -> str:
    """A share for a sentence: "20%", "1%", but "0.1%" or "7.8%" where whole percent would round it away."""
    return f"{x:.0%}" if x >= 0.1 or abs(x * 100 - round(x * 100)) < 1e-9 else f"{x:.1%}"


def normalise_locks(locks) -> pd.DataFrame:
    """Locks as a frame ``account_id, manager_id`` (``manager_id`` missing = keep the current owner).

    Accepts a frame with ``account_id`` (and optional ``manager_id``), a list of account ids, a list of records
    or a dict ``{account_id: manager_id or None}``.
    """
    if locks is None:
        return pd.DataFrame({"account_id": pd.Series(dtype="string"), "manager_id": pd.Series(dtype="string")})
    if isinstance(locks, dict):
        df = pd.DataFrame({"account_id": list(locks), "manager_id": list(locks.values())})
    elif isinstance(locks, pd.DataFrame):
        df = locks.copy()
    else:
        items = list(locks)
        df = pd.DataFrame(items) if items and isinstance(items[0], dict) else pd.DataFrame({"account_id": items})
    if "account_id" not in df:
        raise ValueError(f"locks need an account_id column; got {', '.join(map(str, df.columns))}")
    if "manager_id" not in df:
        df["manager_id"] = pd.NA
    df = df[["account_id", "manager_id"]].astype("string")
    df["account_id"] = df["account_id"].str.strip()
    df["manager_id"] = df["manager_id"].str.strip().replace("", pd.NA)
    return df.dropna(subset=["account_id"]).reset_index(drop=True)


@dataclass
class _Managers:
    frame: pd.DataFrame          # all managers incl. hires; columns: manager_id, name, role, region, ...
    capacity: np.ndarray         # effective capacity after ramp-up and departures (hours/year)
    active: np.ndarray           # can take accounts
    hired: np.ndarray            # joined through an event
    notes: list


def _apply_manager_events(managers: pd.DataFrame, events: list[dict]) -> _Managers:
    m = managers.reset_index(drop=True).copy()
    for col in ("role", "region", "languages", "source_id"):
        if col not in m:
            m[col] = pd.NA
    hires = []
    leaving = []
    notes = []
    for i, ev in enumerate(events):
        kind = ev.get("type")
        if kind == "leave":
            mid = str(ev.get("manager_id", "")).strip()
            if mid not in set(m["manager_id"]):
                raise ValueError(f"event {i + 1}: manager {mid!r} (leave) is not in the managers table")
            leaving.append(mid)
        elif kind == "hire":
            cap = float(ev.get("capacity_hours", np.nan))
            ramp = float(ev.get("ramp", 1.0))
            if not np.isfinite(cap) or cap <= 0:
                raise ValueError(f"event {i + 1}: a hire needs capacity_hours > 0 (hours per year)")
            if not 0 < ramp <= 1:
                raise ValueError(f"event {i + 1}: ramp must be a share of capacity in (0, 1], got {ramp}")
            mid = str(ev.get("manager_id") or f"NEW-{len(hires) + 1}")
            hires.append({"manager_id": mid, "name": str(ev.get("name") or f"New hire {len(hires) + 1}"),
                          "role": ev.get("role", pd.NA), "region": ev.get("region", pd.NA),
                          "languages": ev.get("languages", pd.NA), "capacity_hours": cap,
                          "cost": ev.get("cost", pd.NA), "_ramp": ramp, "_industries": ev.get("industries", "")})
        elif kind != "override":
            raise ValueError(f"event {i + 1}: unknown type {kind!r}; expected one of {', '.join(_EVENT_TYPES)}")
    m["_ramp"] = 1.0
    m["_industries"] = ""
    if hires:
        h = pd.DataFrame(hires).dropna(axis=1, how="all")
        dup = h["manager_id"].isin(m["manager_id"])
        if dup.any():
            raise ValueError(f"hire id {h.loc[dup, 'manager_id'].iloc[0]!r} already exists in the managers table")
        m = pd.concat([m, h], ignore_index=True)
        notes.append(f"{counted(len(hires), 'new hire')}: " + "; ".join(
            f"{n} at {r:.0%} of capacity (ramp-up)" for n, r in zip(h["name"], h["_ramp"], strict=True)))
    active = ~m["manager_id"].isin(leaving).to_numpy()
    if leaving:
        names = m.set_index(m["manager_id"].astype(str))["name"].astype("string")
        who = [str(names.get(x)) if pd.notna(names.get(x)) and str(names.get(x)) else x for x in leaving]
        notes.append(f"{counted(len(leaving), 'manager')} {'leaves' if len(leaving) == 1 else 'leave'}: "
                     f"{', '.join(who)}")
    if not len(m):
        raise ValueError("the book has no managers: import a managers file (or accounts with an owner column), "
                         "or add a hire, to reallocate its accounts")
    if not active.any():
        raise ValueError("every manager leaves: no one is left to own the accounts")
    cap = m["capacity_hours"].astype(float).to_numpy() * m["_ramp"].astype(float).to_numpy()
    hired = np.zeros(len(m), dtype=bool)
    hired[len(managers):] = True
    return _Managers(frame=m, capacity=np.where(active, cap, 0.0), active=active, hired=hired, notes=notes)


def _norm(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.lower().replace("", pd.NA)


# ---------------------------------------------------------------------------------------------------- main
#: A plan that meets the band only after the band MILP is solved again with wider candidates when units × managers
#: is at most this (a few seconds more on a small book); a plan that misses the band is solved again at any size.
WIDEN_CELLS = 2_000_000


def reallocate(book: AccountBook, segmentation: Segmentation, band: float = 0.15,
               max_move_share: float | None = None, locks=None, events: list[dict] | None = None,
               weights: dict | None = None, mode: str = "auto", seed: int = 0, candidates: int = 12,
               base: Assignment | None = None, time_limit: float = 60.0, balance_on: str | None = None,
               balance_band: float = 0.2, move_share_of: str = "accounts",
               progress: Callable[[str, float], None] | None = None) -> Assignment:
    """Reassign account owners: every manager inside a workload band, as few valuable relationships moved as possible.

    Parameters
    ----------
    book : the account book (accounts with ``owner_id``, managers with ``capacity_hours``).
    segmentation : labels per account and the coverage model (``hours_per_account`` and ``role`` by segment).
    band : allowed deviation of each manager's hours from their target, as a share (0.15 = ±15 %). The target
        is a fair share of the hours their role serves, proportional to capacity; the upper edge is capped at
        capacity.
    max_move_share : at most this share of owned accounts (or of their revenue, see ``move_share_of``) may change
        owner (forced moves, e.g. from a manager who leaves, do not count). ``None`` = no limit.
    locks : accounts pinned to their current owner or to a named manager (frame ``account_id, manager_id``, a
        list of ids, or a dict). A locked account pins its whole family.
    events : what-if events, each a dict: ``{"type": "leave", "manager_id"}``; ``{"type": "hire", "name",
        "role", "region", "languages", "capacity_hours", "ramp"}`` (ramp = share of capacity in year one);
        ``{"type": "override", "account_id", "manager_id", "rest": "reoptimise" | "freeze"}``. With ``freeze``
        every other account keeps its owner in ``base`` (or its current owner) and the band is reported, not
        enforced.
    weights : multipliers of the objective terms ``continuity``, ``fit``, ``balance`` (default 1 each).
    mode : ``"auto"`` (Lagrangian prices, repair and local search; on books of up to 50,000 units also two-move
        chains and small root-node MILPs per role — about a second on 2,000 accounts, 1 % or less above the LP
        bound on generated 10k books), ``"thorough"`` (chains and MILPs at any size, then a deeper MILP search;
        for batch runs, ~10× the time), ``"deep"`` (``thorough`` plus a branch and bound over windows of a few
        dozen managers at a time, aimed where the plan loses most against the LP bound, then one over each role's
        cheapest alternatives at the LP prices; for runs overnight),
        ``"lagrangian"`` (prices, repair and local search only: the fastest),
        ``"lp"`` (HiGHS LP, rounding, repair, polish) or ``"exact"`` (integer program with scipy ``milp``;
        small books only).
    seed : seed of the candidate sample (same inputs + seed → same plan).
    candidates : candidate managers per account unit (current owner included). 12 by default: on the sample book
        (±15 %) its plans cost 0.8 % less than with 6 (5,758,695 vs 5,807,497), on generated 50,000- and
        100,000-account books 4–6 % less, and the 100k solve was faster too (2.0 s vs 3.3 s CPU: fewer units need
        repair); a 10,000-account book took about a third longer.
    base : a previous Assignment whose owners the ``freeze`` override keeps.
    time_limit : seconds the LP / exact solver may take.
    balance_on : ``None`` (workload only), ``"revenue"`` (``revenue_12m``) or ``"potential"`` (``potential``): a
        second band per manager on that quantity (missing values count as 0). Each active manager's target is a
        fair share in proportion to the hours target: the quantity carried by the accounts of each eligibility
        group (role) is shared out like that group's hours, so target = hours target × (group's quantity ÷
        group's hours).
    balance_band : allowed deviation from that target, as a share (0.2 = ±20 %); only used with ``balance_on``.
    move_share_of : what ``max_move_share`` counts: ``"accounts"`` (owned accounts that change owner) or
        ``"revenue"`` (the 12-month revenue of those accounts, as a share of the revenue owned by active managers).
    progress : optional ``progress(stage, fraction)`` callback: the solver's stages (``solver.solve``), then "plan
        tables" and "done" (fraction 1). If the candidates must be widened, a second search reports its stages
        from 0 again, named "wider candidates: …".

    Returns
    -------
    Assignment with ``owners``, ``moves`` (with ``reason`` and ``reason_code``), ``loads`` and ``stats``
    (``objective``, ``lower_bound``, ``gap``, ``seconds``, ``status`` ∈ optimal/feasible/infeasible, ``solver``,
    ``diagnosis``, the moved share in accounts and in revenue). With ``balance_on`` the ``loads`` gain
    ``aux_target``, ``aux_lower``, ``aux_upper``, ``aux_before``, ``aux_after``, ``aux_in_band_before`` and
    ``aux_in_band_after`` (in the book's currency). An infeasible input returns the best-effort plan with
    ``status == "infeasible"`` and a diagnosis naming the binding constraint and what to relax.
    """
    t0 = time.perf_counter()
    if not 0 <= float(band) < 1:
        raise ValueError(f"band must be a share between 0 and 1 (0.15 = ±15 %), got {band}")
    if max_move_share is not None and not 0 <= float(max_move_share) <= 1:
        raise ValueError(f"max_move_share must be between 0 and 1, got {max_move_share}")
    if candidates < 1:
        raise ValueError("candidates must be at least 1")
    if isinstance(balance_on, str) and balance_on.strip().lower() in ("", "none"):
        balance_on = None
    if balance_on is not None and balance_on not in BALANCE_QUANTITIES:
        raise ValueError(f"balance_on must be one of {', '.join(BALANCE_QUANTITIES)} or None, got {balance_on!r}")
    if not 0 <= float(balance_band) < 1:
        raise ValueError(f"balance_band must be a share between 0 and 1 (0.2 = ±20 %), got {balance_band}")
    if move_share_of not in MOVE_SHARE_OF:
        raise ValueError(f"move_share_of must be one of {', '.join(MOVE_SHARE_OF)}, got {move_share_of!r}")
    events = [dict(e) for e in (events or [])]
    w = dict(DEFAULT_WEIGHTS)
    for key, value in (weights or {}).items():
        if key not in w:
            raise ValueError(f"unknown weight {key!r}; expected {', '.join(w)}")
        if not np.isfinite(float(value)) or float(value) < 0:
            raise ValueError(f"weight {key} must be a non-negative number, got {value}")
        w[key] = float(value)
    lock_df = normalise_locks(locks)
    params = {"band": float(band), "max_move_share": max_move_share, "locks": lock_df.astype(object).where(
        lock_df.notna(), None).to_dict("records"), "events": events, "weights": w, "mode": mode, "seed": seed,
        "candidates": candidates, "balance_on": balance_on, "balance_band": float(balance_band),
        "move_share_of": move_share_of}

    notes: list[str] = []
    acc = book.accounts.reset_index(drop=True)
    mg = _apply_manager_events(book.managers, events)
    notes += mg.notes
    mframe = mg.frame
    M = len(mframe)
    mid_index = pd.Index(mframe["manager_id"].astype(str))
    n_acc = len(acc)

    # --- hours per account from the coverage model
    hours, seg_id, seg_name, acc_role = _account_hours(acc, segmentation, notes)
    cov = segmentation.coverage
    cov_hours = (cov.drop_duplicates("segment").set_index("segment")["hours_per_account"].astype(float)
                 if "segment" in cov and "hours_per_account" in cov else pd.Series(dtype=float))
    has_need = "service_need" in acc and bool(pd.to_numeric(acc["service_need"], errors="coerce").notna().any())

    # --- current owners (manager index), units
    owner_idx = mid_index.get_indexer(acc["owner_id"].astype("string").fillna("\0").to_numpy(dtype=object))
    unit_ids = account_units(acc)
    unit_codes, unit_keys = pd.factorize(pd.Series(unit_ids, dtype=object), sort=True)
    n_u = len(unit_keys)
    revenue = acc["revenue_12m"].astype(float).fillna(0.0).clip(lower=0).to_numpy()
    potential = (acc["potential"].astype(float).fillna(0.0).to_numpy() if "potential" in acc else np.zeros(n_acc))
    untapped = np.clip(potential - revenue, 0, None)
    aux_acc = None
    if balance_on == "potential" and "potential" not in acc:
        raise ValueError("balance_on='potential' needs a potential column in the accounts table; balance on revenue "
                         "or workload only")
    if balance_on is not None:
        aux_acc = revenue if balance_on == "revenue" else np.clip(potential, 0, None)
        if not (aux_acc > 0).any():
            raise ValueError(f"balance_on={balance_on!r}: every account's {_QTY[balance_on]} is 0 or missing, so "
                             "there is nothing to balance")
    value = revenue + ASSUMPTIONS["potential_weight"]["value"] * untapped
    value = np.maximum(value, 0.05 * max(float(value.mean()) if n_acc else 0.0, 1.0))

    # lead account of each unit: most revenue (ties: first row) carries region/language/industry/owner
    lead_order = np.lexsort((np.arange(n_acc), -revenue, unit_codes))
    first = np.r_[True, unit_codes[lead_order][1:] != unit_codes[lead_order][:-1]]
    lead = lead_order[first]  # lead[u] = account row of unit u's lead account
    # the unit's owner: lead account's owner, else any member's owner (most revenue first)
    owned_rows = lead_order[owner_idx[lead_order] >= 0]
    u_owner = np.full(n_u, -1)
    if len(owned_rows):
        oc = unit_codes[owned_rows]
        f2 = np.r_[True, oc[1:] != oc[:-1]]
        u_owner[oc[f2]] = owner_idx[owned_rows[f2]]
    u_owner = np.where(owner_idx[lead] >= 0, owner_idx[lead], u_owner)
    u_hours = np.bincount(unit_codes, weights=hours, minlength=n_u)
    u_value = np.bincount(unit_codes, weights=value, minlength=n_u)
    u_count = np.bincount(unit_codes, minlength=n_u)
    u_aux = np.bincount(unit_codes, weights=aux_acc, minlength=n_u) if aux_acc is not None else None

    # --- eligibility groups (roles)
    m_role = _norm(mframe["role"])
    role_codes, role_keys = pd.factorize(m_role, sort=True)
    # roles are matched case-insensitively; messages use the spelling of the managers table
    orig_role = mframe["role"].astype("string").str.strip().to_numpy(dtype=object)
    role_label = [str(orig_role[np.flatnonzero(role_codes == i)[0]]) for i in range(len(role_keys))]
    m_group = role_codes.astype(np.int64)  # -1 where the manager has no role
    a_role = _norm(pd.Series(acc_role, dtype="string"))
    unit_role = a_role.to_numpy(dtype=object)[lead_order[first]]
    # the family is served by the most demanding member's role
    dem_order = np.lexsort((np.arange(n_acc), -hours, unit_codes))
    dem_first = dem_order[np.r_[True, unit_codes[dem_order][1:] != unit_codes[dem_order][:-1]]]
    unit_role = a_role.to_numpy(dtype=object)[dem_first]
    group = pd.Index(role_keys).get_indexer(pd.Series(unit_role, dtype="string").fillna("\0").to_numpy(dtype=object))
    active_roles = set(role_keys[np.unique(m_group[(m_group >= 0) & mg.active])]) if (m_group >= 0).any() else set()
    if (m_group < 0).all():
        if pd.Series(unit_role).notna().any():
            notes.append("managers have no role: role eligibility is not applied (any manager may serve any segment)")
        group[:] = -1
    else:
        missing_roles = sorted({r for r in pd.Series(unit_role).dropna().unique() if r not in active_roles})
        for r in missing_roles:
            cnt = int(u_count[pd.Series(unit_role).eq(r).to_numpy()].sum())
            notes.append(f"no active manager has the role '{r}': its {cnt:,} accounts may go to any manager")
        group = np.where(np.isin(group, [i for i, k in enumerate(role_keys) if k in active_roles]), group, -1)

    # --- targets and bands
    cap = mg.capacity
    pref_role = group.copy()  # the serving role the coverage model asks for (-1 = any)
    for g in np.unique(group[group >= 0]):
        hg = float(u_hours[group == g].sum())
        cg = float(cap[mg.active & (m_group == g)].sum())
        if hg > cg * (1 + 1e-9):
            # a role short of capacity cannot keep its accounts to itself: they may spill over to any role
            # (at a fit cost), and the diagnosis names the shortfall
            group = np.where(group == g, -1, group)
            notes.append(f"the role '{role_label[g]}' is short of capacity ({hg:,.0f} h needed, {cg:,.0f} h "
                         "available): its accounts may also go to managers of other roles")
    elig_mat_groups = np.unique(group)
    target = np.zeros(M)
    target_aux = np.zeros(M)  # the balanced quantity's fair share: each group's total shared out like its hours
    short_pool = np.zeros(M, dtype=bool)
    for g in elig_mat_groups[elig_mat_groups >= 0]:
        hg = float(u_hours[group == g].sum())
        serve = mg.active & (m_group == g)
        cg = float(cap[serve].sum())
        if cg > 0:
            target[serve] += hg * cap[serve] / cg
            if u_aux is not None:
                target_aux[serve] += float(u_aux[group == g].sum()) * cap[serve] / cg
            short_pool |= serve & (hg > cg * (1 + 1e-9))
    h_any = float(u_hours[group < 0].sum())
    a_any = float(u_aux[group < 0].sum()) if u_aux is not None else 0.0
    if h_any > 0:
        # hours any role may serve fill the managers with the lowest utilisation first (water-filling), so
        # every manager's target is a fair share of capacity across roles
        filled = _water_fill(target, cap, mg.active, h_any)
        target_aux += (filled - target) * (a_any / h_any)
        target = filled
        short_pool |= mg.active & (float(u_hours.sum()) > float(cap[mg.active].sum()) * (1 + 1e-9))
    elif a_any > 0:  # accounts that need no hours still carry revenue: share it by capacity
        act_cap = np.where(mg.active, cap, 0.0)
        target_aux += a_any * act_cap / max(float(act_cap.sum()), 1e-9)
    # where a role's demand exceeds its capacity no plan fits: the band is kept around the (over-capacity)
    # target so the shortfall is spread evenly, and the diagnosis says so
    upper = np.where(short_pool, target * (1 + band), np.minimum(target * (1 + band), cap))
    lower = np.minimum(target * (1 - band), upper)
    upper = np.where(mg.active, upper, 0.0)
    lower = np.where(mg.active, lower, 0.0)
    if u_aux is not None:
        target_aux = np.where(mg.active, target_aux, 0.0)
        aux_upper, aux_lower = target_aux * (1 + balance_band), target_aux * (1 - balance_band)

    # --- locks and overrides → locked manager per unit
    lock_mgr = np.full(n_u, -1)
    lock_kind = np.zeros(n_u, dtype=np.int8)  # 1 lock, 2 override
    acc_index = pd.Index(acc["account_id"].astype(str))
    freeze = False
    lock_rows = _resolve_locks(lock_df, acc_index, mid_index, owner_idx, mg.active, "lock")
    ovr = [e for e in events if e.get("type") == "override"]
    ovr_df = pd.DataFrame({"account_id": [str(e.get("account_id", "")) for e in ovr],
                           "manager_id": [str(e.get("manager_id", "")) for e in ovr]})
    freeze = any(e.get("rest") == "freeze" for e in ovr)
    ovr_rows = _resolve_locks(ovr_df, acc_index, mid_index, owner_idx, mg.active, "override")
    for rows_, target_mgr, kind in (lock_rows + ovr_rows):
        u = unit_codes[rows_]
        clash = (lock_mgr[u] >= 0) & (lock_mgr[u] != target_mgr)
        if clash.any():
            raise ValueError(f"account {acc_index[rows_[np.argmax(clash)]]} is pinned to two different managers "
                             "(a lock or override on another account of the same family); remove one")
        lock_mgr[u] = target_mgr
        lock_kind[u] = kind
    if freeze:
        base_owner = u_owner.copy()
        if base is not None:
            bo = base.owners.set_index("account_id")["to_manager"].astype("string")
            bo_idx = mid_index.get_indexer(bo.reindex(acc_index).fillna("\0").to_numpy(dtype=object))
            base_owner = np.where(bo_idx[lead] >= 0, bo_idx[lead], base_owner)
        keep = (lock_mgr < 0) & (base_owner >= 0) & mg.active[np.clip(base_owner, 0, M - 1)]
        lock_mgr[keep] = base_owner[keep]
        lock_kind[keep] = 3
        notes.append("override with the rest frozen: every other account keeps its owner; the band is reported, "
                     "not enforced")

    # --- pre-checks that no solver can fix
    # the segment step counts each account under its own segment's role, the plan a family under its most
    # demanding member's: a shortfall message gives both figures, so the two screens can be reconciled
    acc_group = pd.Index(role_keys).get_indexer(a_role.fillna("\0").to_numpy(dtype=object))
    by_account = np.bincount(acc_group[acc_group >= 0], weights=hours[acc_group >= 0], minlength=len(role_keys))
    checks, warnings = _prechecks(mframe, cap, mg.active, m_group, role_label, pref_role, u_hours, upper, lock_mgr,
                                  band, by_account, target=target, unit_names=acc["name"].astype(str).to_numpy()[lead],
                                  unit_count=u_count, unit_segment=seg_name.to_numpy(dtype=object)[lead],
                                  seg_hours=cov_hours, has_need=has_need)
    if u_aux is not None and not freeze:
        checks += _aux_prechecks(mframe, mg.active, m_group, group, u_aux, aux_upper, lock_mgr, balance_on,
                                 balance_band, acc["name"].astype(str).to_numpy()[lead], u_count)
    # --- candidates and costs
    u_region_s = _norm(acc["region"]).to_numpy(dtype=object)[lead] if "region" in acc else np.full(n_u, pd.NA)
    m_region_s = _norm(mframe["region"]).to_numpy(dtype=object)
    reg_codes, _ = pd.factorize(pd.Series(np.concatenate([u_region_s, m_region_s]), dtype="string"))
    u_region, m_region = reg_codes[:n_u], reg_codes[n_u:]
    use_region = (m_region >= 0).any() and (u_region >= 0).any()
    country = acc["country"].astype("string").str.upper().str.strip() if "country" in acc else pd.Series(
        pd.NA, index=acc.index, dtype="string")
    a_lang = country.map(COUNTRY_LANGUAGE).astype("string").to_numpy(dtype=object)[lead]
    m_langs = mframe["languages"].astype("string").fillna("").str.lower().str.replace(",", ";").str.split(";")
    vocab = sorted({x.strip() for xs in m_langs for x in xs if x.strip()} | {x for x in a_lang if isinstance(x, str)})
    vocab = vocab[:62]
    lang_code = {x: i for i, x in enumerate(vocab)}
    u_lang = np.array([lang_code.get(x, -1) if isinstance(x, str) else -1 for x in a_lang], dtype=np.int64) \
        if n_u < 50_000 else pd.Series(a_lang, dtype=object).map(lang_code).fillna(-1).astype(np.int64).to_numpy()
    m_mask = np.array([sum(1 << lang_code[x.strip()] for x in xs if x.strip() in lang_code) for xs in m_langs],
                      dtype=np.int64)
    m_mask = np.where(m_mask == 0, np.int64(-1), m_mask)  # unknown languages: no penalty
    industry = _norm(acc["industry"]) if "industry" in acc else pd.Series(pd.NA, index=acc.index, dtype="string")
    ind_codes, ind_keys = pd.factorize(industry)
    u_ind = ind_codes[lead]
    exp_keys = _industry_experience(owner_idx, ind_codes, len(ind_keys), mframe, ind_keys, M)

    load_before_units = np.bincount(np.clip(owner_idx, 0, None), weights=np.where(owner_idx >= 0, hours, 0.0),
                                    minlength=M)
    spare = np.where(mg.active, target - load_before_units, -np.inf)
    spare = np.where(np.isfinite(spare), spare, -1e18)
    k = int(min(candidates, max(int(mg.active.sum()), 1)))
    cand = S.build_candidates(np.where(lock_mgr >= 0, -1, u_owner), group, np.where(use_region, u_region, -1),
                              u_lang, m_group, m_region, m_mask, mg.active, spare, k=k, seed=seed, lock=lock_mgr)
    if (cand[:, 0] < 0).any():  # a unit with no candidate at all (only when no active manager)
        raise ValueError("some accounts have no eligible manager at all")

    # owned revenue / count of each unit by each candidate (mixed-owner families)
    owned = owner_idx >= 0
    pair = unit_codes[owned].astype(np.int64) * M + owner_idx[owned]
    pair_s = pd.DataFrame({"k": pair, "rev": revenue[owned], "n": 1, "act": mg.active[owner_idx[owned]]}) \
        .groupby("k", sort=True).agg(rev=("rev", "sum"), n=("n", "sum"), act=("act", "first"))
    u_rev_owned = np.bincount(unit_codes[owned], weights=revenue[owned], minlength=n_u)
    act_owned = owned.copy()
    act_owned[owned] = mg.active[owner_idx[owned]]
    u_cnt_active = np.bincount(unit_codes[act_owned], minlength=n_u)
    n_owned_active = int(act_owned.sum())
    # a move limit in revenue counts revenue moved in account-equivalents (÷ mean owned revenue per account), so
    # the limit stays "share × owned accounts" and the solver's scaling does not change
    by_revenue = move_share_of == "revenue"
    u_rev_active = np.bincount(unit_codes[act_owned], weights=revenue[act_owned], minlength=n_u)
    rev_owned_active = float(u_rev_active.sum())
    if by_revenue and max_move_share is not None and rev_owned_active <= 0:
        raise ValueError("move_share_of='revenue' needs revenue_12m on the accounts of active owners; none have any, "
                         "so count the move limit in accounts")
    rev_per_account = rev_owned_active / max(n_owned_active, 1)

    u_cnt_owned = np.bincount(unit_codes[owned], minlength=n_u)
    m_cost = pd.to_numeric(mframe["cost"], errors="coerce").to_numpy(dtype=float) if "cost" in mframe else \
        np.full(M, np.nan)
    per_hour = m_cost / np.maximum(mframe["capacity_hours"].astype(float).to_numpy(), 1e-9)
    per_hour = float(np.nanmean(per_hour)) if np.isfinite(per_hour).any() else \
        ASSUMPTIONS["default_cost_per_hour"]["value"]
    handover = ASSUMPTIONS["handover_hours"]["value"] * per_hour
    loss = ASSUMPTIONS["owner_change_loss"]["value"]
    avoid = ASSUMPTIONS["avoidable_with_experience"]["value"]
    n_ind = max(len(ind_keys), 1)
    pair_pos = pd.Index(pair_s.index)
    # a trailing zero stands for "this candidate owns none of the unit" (and keeps an all-unowned book working)
    pair_rev = np.r_[pair_s["rev"].to_numpy(dtype=float), 0.0]
    pair_cnt = np.r_[pair_s["n"].to_numpy(dtype=np.int64), 0]

    def costs(cand_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cost (currency) and owned accounts moved for every (unit, candidate) entry."""
        valid_ = cand_ >= 0
        cm_ = np.where(valid_, cand_, 0).astype(np.int64)
        pos_ = pair_pos.get_indexer((np.arange(n_u, dtype=np.int64)[:, None] * M + cm_).ravel()).reshape(cm_.shape)
        rev_c = pair_rev[pos_]  # pos_ == -1 picks the trailing zero
        cnt_c = pair_cnt[pos_]
        exp_ = np.isin(cm_ * n_ind + u_ind[:, None], exp_keys) & (u_ind[:, None] >= 0)
        if by_revenue:
            mv = (u_rev_active[:, None] - np.where(mg.active[cm_], rev_c, 0.0)) / max(rev_per_account, 1e-12)
        else:
            mv = u_cnt_active[:, None] - np.where(mg.active[cm_], cnt_c, 0)
        n_changed = u_cnt_owned[:, None] - cnt_c  # owned accounts whose owner changes (incl. a leaver's)
        cont = w["continuity"] * (loss * (u_rev_owned[:, None] - rev_c) * (1 - avoid * exp_)
                                  + handover * n_changed)
        reg_miss = (m_region[cm_] != u_region[:, None]) if use_region else np.zeros(cm_.shape, dtype=bool)
        lang_ok_ = (u_lang[:, None] < 0) | (((m_mask[cm_] >> np.clip(u_lang, 0, 63)[:, None]) & 1) == 1)
        role_miss = (pref_role[:, None] >= 0) & (m_group[cm_] != pref_role[:, None])
        fit_ = w["fit"] * u_value[:, None] * (ASSUMPTIONS["region_mismatch"]["value"] * reg_miss
                                               + ASSUMPTIONS["language_mismatch"]["value"] * ~lang_ok_
                                               + ASSUMPTIONS["role_mismatch"]["value"] * role_miss)
        return np.where(valid_, cont + fit_, 0.0), np.where(valid_, mv, 0).astype(float)

    cost, moves_uc = costs(cand)
    total_h = float(u_hours.sum())
    beta = w["balance"] * ASSUMPTIONS["balance_rate"]["value"] * float(u_value.sum()) / max(total_h, 1e-9)
    # elastic penalty per hour outside the band: far above any cost one hour of work can carry
    per_hour = float(np.abs(cost).max(initial=0.0)) / max(float(u_hours[u_hours > 0].min(initial=1.0)), 1e-9)
    penalty = 1e3 * max(per_hour, beta, 1.0)
    move_limit = None if max_move_share is None else float(max_move_share) * n_owned_active
    if freeze:
        move_limit = None
    soft_band = freeze
    # the aux band, like the hours band, is reported and not enforced when the rest is frozen
    aux_kw = {} if u_aux is None or soft_band else {"aux": u_aux, "aux_upper": aux_upper, "aux_lower": aux_lower}
    prob = S.Problem(hours=u_hours, cand=cand, cost=cost, moves=moves_uc,
                     upper=upper if not soft_band else np.where(mg.active, cap, 0.0),
                     lower=lower if not soft_band else np.zeros(M), target=target, capacity=cap,
                     balance_rate=beta, move_limit=move_limit, penalty=penalty, **aux_kw)

    # --- solve (if restricted candidates leave the band unmet, or meet it only after the band MILP on a small book,
    # widen them once and keep the cheaper plan: sample book at a ±5 % band, 6,066,121 -> 5,950,838; a generated
    # 100k-account book at ±15 %: two managers in thinly populated regions (Burgenland, Solothurn) stayed under the
    # band with 6 candidates per account and were reported infeasible, 12 fill them in the same 2 s)
    def searching(prefix: str = "") -> Callable[[str, float], None] | None:
        if progress is None:
            return None
        return lambda stage, frac: progress(prefix + stage, 0.95 * frac) if stage != "done" else None

    sol = S.solve(prob, mode=mode, time_limit=time_limit, progress=searching())
    missed = not _clean(sol, prob) and not checks  # a pre-check proof (capacity below demand …) no candidate fixes
    if (missed or (sol.band_restored and n_u * M <= WIDEN_CELLS)) and k < int(mg.active.sum()):
        wide = min(int(mg.active.sum()), max(2 * k, 12))
        cand2 = S.build_candidates(np.where(lock_mgr >= 0, -1, u_owner), group,
                                   np.where(use_region, u_region, -1), u_lang, m_group, m_region, m_mask,
                                   mg.active, spare, k=wide, seed=seed, lock=lock_mgr)
        cost2, moves2 = costs(cand2)
        prob2 = S.Problem(hours=u_hours, cand=cand2, cost=cost2, moves=moves2, upper=prob.upper, lower=prob.lower,
                          target=target, capacity=cap, balance_rate=beta, move_limit=move_limit, penalty=penalty,
                          **aux_kw)
        sol2 = S.solve(prob2, mode=mode, time_limit=time_limit, progress=searching("wider candidates: "))
        if sol2.objective < sol.objective - 1e-9:
            sol, prob, cand = sol2, prob2, cand2
            notes.append(f"candidates widened to {wide} per account to meet the band")
    choice = sol.choice
    if progress is not None:
        progress("plan tables", 0.95)
    u_to = cand[np.arange(n_u), choice].astype(np.int64)

    # --- frames
    to_idx = u_to[unit_codes]
    ids = mframe["manager_id"].astype("string").to_numpy(dtype=object)
    from_mgr = pd.Series(np.where(owner_idx >= 0, ids[np.clip(owner_idx, 0, None)], None), dtype="string")
    owners = pd.DataFrame({"account_id": acc["account_id"].astype("string"), "from_manager": from_mgr,
                           "to_manager": pd.Series(ids[to_idx], dtype="string"), "hours": hours,
                           "unit_id": pd.Series(unit_ids, dtype="string"), "segment": seg_name})
    aux_info = None if u_aux is None else {"name": balance_on, "band": float(balance_band), "acc": aux_acc,
                                           "target": target_aux, "lower": aux_lower, "upper": aux_upper}
    loads = _loads(mframe, cap, mg.active, mg.hired, target, lower, upper, owner_idx, to_idx, hours, revenue, potential,
                   band, soft_band, aux_info)
    moved_mask = (owner_idx != to_idx)
    moves = _moves(acc, owners, moved_mask, owner_idx, to_idx, unit_codes, lead, u_owner, lock_kind, mframe,
                   mg.active, loads, u_region, m_region, use_region, u_lang, m_mask, u_ind, ind_keys, exp_keys,
                   vocab, seg_name, seg_id, hours, revenue, band, aux_info)

    # the move limit's own measure: owned accounts of active managers that change owner, and their revenue
    counted = moved_mask & act_owned
    move_stats = {
        "move_share_of": move_share_of, "max_move_share": max_move_share, "move_limit": move_limit,
        "owned_accounts_active": n_owned_active,
        "moved_share_accounts": float(counted.sum()) / max(n_owned_active, 1),
        "moved_share_revenue": float(revenue[counted].sum()) / rev_owned_active if rev_owned_active > 0 else 0.0,
        "move_limit_revenue": float(max_move_share) * rev_owned_active if by_revenue and move_limit is not None
        else None,
    }
    aux_diag = []
    if prob.aux is not None and not checks:
        aux_diag = _aux_diagnosis(sol, prob, mframe, aux_info, u_to, acc["name"].astype(str).to_numpy()[lead],
                                  u_count)
    stats = _stats(sol, prob, mg, mframe, notes, checks, warnings, loads, moves, n_acc, n_u, k, soft_band, move_stats,
                   aux_diag, time.perf_counter() - t0, sol_mode=mode)
    stats["assumed"] = assumed_inputs(book, has_need)
    if progress is not None:
        progress("done", 1.0)
    return Assignment(owners=owners, moves=moves, loads=loads, params=params, stats=stats)


def _water_fill(base: np.ndarray, cap: np.ndarray, active: np.ndarray, hours: float) -> np.ndarray:
    """Add ``hours`` to ``base`` so that utilisation ``target / cap`` is levelled from the bottom up.

    Finds the level ``u`` with ``sum(cap * max(0, u - base / cap)) = hours`` over active managers (sorted
    breakpoints, no iteration) and returns ``max(base, u * cap)``.
    """
    idx = np.flatnonzero(active & (cap > 0))
    if not len(idx):
        return base
    r = base[idx] / cap[idx]
    order = np.argsort(r, kind="stable")
    r_s, c_s = r[order], cap[idx][order]
    c_cum = np.cumsum(c_s)
    # water needed to raise the first j managers to level r_s[j]
    need = r_s * c_cum - np.cumsum(r_s * c_s)
    j = int(np.searchsorted(need, hours, side="right")) - 1
    j = max(j, 0)
    level = r_s[j] + (hours - need[j]) / c_cum[j]
    out = base.copy()
    out[idx] = np.maximum(base[idx], level * cap[idx])
    return out


def _clean(sol: S.Solution, prob: S.Problem) -> bool:
    v = sol.violations
    tol = 1e-6 * max(float(prob.hours.sum()), 1.0)
    aux_ok = prob.aux is None or float(v["aux_over_band"].sum() + v["aux_under_band"].sum()) <= 1e-6 * max(
        float(prob.aux.sum()), 1.0)
    return (v["over_band_hours"].sum() <= tol and v["under_band_hours"].sum() <= tol and v["moves_over_limit"] <= 1e-9
            and aux_ok)


# ---------------------------------------------------------------------------------------------------- helpers
def _account_hours(acc: pd.DataFrame, seg: Segmentation, notes: list) -> tuple:
    """Hours per account (coverage model by segment), segment id/name and serving role per account."""
    cov = seg.coverage
    lab = seg.labels
    for col in ("segment_id", "hours_per_account"):
        if col not in cov:
            raise ValueError(f"segmentation coverage lacks the column {col!r} (hours per account by segment)")
    if "account_id" not in lab or "segment_id" not in lab:
        raise ValueError("segmentation labels need account_id and segment_id columns")
    lab = lab.drop_duplicates("account_id").set_index(lab["account_id"].astype(str).drop_duplicates().to_numpy())
    sid = lab["segment_id"].reindex(acc["account_id"].astype(str).to_numpy())
    cov_i = cov.drop_duplicates("segment_id").set_index("segment_id")
    h_by_seg = cov_i["hours_per_account"].astype(float)
    if (h_by_seg < 0).any() or not np.isfinite(h_by_seg.to_numpy()).all():
        raise ValueError("coverage hours_per_account must be finite and not negative")
    hours = sid.map(h_by_seg).to_numpy(dtype=float)
    missing = ~np.isfinite(hours)
    if missing.any():
        fill = float(np.nanmedian(hours)) if (~missing).any() else float(h_by_seg.median())
        hours = np.where(missing, fill, hours)
        notes.append(f"{int(missing.sum()):,} accounts have no segment; they get the median {fill:,.1f} hours a year")
    name_src = cov_i["segment"] if "segment" in cov_i else pd.Series(cov_i.index.astype(str), index=cov_i.index)
    seg_name = sid.map(name_src).astype("string").to_numpy(dtype=object)
    role = sid.map(cov_i["role"]).astype("string").to_numpy(dtype=object) if "role" in cov_i else np.full(
        len(acc), pd.NA, dtype=object)
    if "role" not in cov_i:
        notes.append("the coverage model names no serving role: role eligibility is not applied")
    return hours, sid.to_numpy(), pd.Series(seg_name, dtype="string"), role


def _resolve_locks(df: pd.DataFrame, acc_index: pd.Index, mid_index: pd.Index, owner_idx: np.ndarray,
                   active: np.ndarray, what: str) -> list:
    """(account rows, manager index, kind) per pinned manager; unknown ids are a plain error."""
    if not len(df):
        return []
    rows = acc_index.get_indexer(df["account_id"].astype(str).to_numpy())
    if (rows < 0).any():
        bad = df["account_id"].to_numpy()[rows < 0][:3]
        raise ValueError(f"{what}: account id(s) {', '.join(map(str, bad))} not in the accounts table")
    named = df["manager_id"].notna().to_numpy()
    mgr = np.where(named, mid_index.get_indexer(df["manager_id"].astype("string").fillna("\0").to_numpy(dtype=object)),
                   owner_idx[rows])
    if (named & (mgr < 0)).any():
        bad = df.loc[named & (mgr < 0), "manager_id"].iloc[0]
        raise ValueError(f"{what}: manager {bad!r} is not in the managers table")
    if (~named & (mgr < 0)).any():
        bad = df.loc[~named & (mgr < 0), "account_id"].iloc[0]
        raise ValueError(f"{what}: account {bad} has no current owner to keep; name the manager to pin it to")
    if (~active[mgr]).any():
        bad = df["account_id"].to_numpy()[~active[mgr]][0]
        raise ValueError(f"{what}: account {bad} is pinned to a manager who leaves; pin it to someone else")
    kind = 1 if what == "lock" else 2
    return [(rows[mgr == m], int(m), kind) for m in np.unique(mgr)]


def _industry_experience(owner_idx, ind_codes, n_ind, mframe, ind_keys, M) -> np.ndarray:
    """Keys ``manager * n_industries + industry`` for which the manager has experience (sorted)."""
    n_ind = max(n_ind, 1)
    ok = (owner_idx >= 0) & (ind_codes >= 0)
    keys = owner_idx[ok].astype(np.int64) * n_ind + ind_codes[ok]
    cnt = np.bincount(keys, minlength=M * n_ind).reshape(M, n_ind) if len(keys) else np.zeros((M, n_ind))
    total = cnt.sum(axis=1, keepdims=True)
    share = ASSUMPTIONS["industry_experience_min_share"]["value"]
    exp = (cnt >= 2) & (cnt >= share * np.maximum(total, 1))
    # hires may bring declared industries
    lookup = {str(k): i for i, k in enumerate(ind_keys)}
    for mi, text in enumerate(mframe["_industries"].fillna("").astype(str)):
        for name in filter(None, (x.strip().lower() for x in text.replace(",", ";").split(";"))):
            if name in lookup:
                exp[mi, lookup[name]] = True
    return np.flatnonzero(exp.ravel()).astype(np.int64)


def _prechecks(mframe, cap, active, m_group, role_label, group, u_hours, upper, lock_mgr, band,
               by_account, target=None, unit_names=None, unit_count=None, unit_segment=None, seg_hours=None,
               has_need: bool = True) -> tuple[list, list]:
    """Diagnoses of inputs no plan can satisfy (demand above capacity, a unit too big for every band, locks beyond
    a band) and of roles short of capacity (a fallback, not a failure: their accounts spill over to other roles)."""
    out: list[str] = []
    if target is not None and unit_names is not None:
        out += _too_big(u_hours, upper, target, cap, active, band, unit_names, unit_count, unit_segment, seg_hours,
                        has_need)
    role_short: list[str] = []
    names = mframe["name"].astype(str).to_numpy()
    total_h, total_c = float(u_hours.sum()), float(cap[active].sum())
    if total_h > total_c * (1 + 1e-9):
        out.append(f"Capacity below demand: the accounts need {total_h:,.0f} h a year but the active managers have "
                   f"{total_c:,.0f} h (enough for {total_c / total_h:.0%} of it). Add capacity (a hire), lower the hours "
                   "per account in the coverage model, or keep a leaving manager. The plan shown spreads the "
                   "shortfall evenly over the managers.")
    for g in np.unique(group[group >= 0]):
        hg = float(u_hours[group == g].sum())
        cg = float(cap[active & (m_group == g)].sum())
        if hg > cg * (1 + 1e-9):
            families = (f" (account families counted under their most demanding member's role; "
                        f"{by_account[g]:,.0f} h account by account)" if abs(by_account[g] - hg) > 0.5 else "")
            role_short.append(f"Capacity below demand for the role '{role_label[g]}': its accounts need {hg:,.0f} h a "
                              f"year{families}, its managers have {cg:,.0f} h. Add {_article(role_label[g])} "
                              f"{role_label[g]}, or lower its hours per account; meanwhile its accounts spill over to "
                              "other roles.")
    if (lock_mgr >= 0).any():
        lk = lock_mgr >= 0
        locked = np.bincount(lock_mgr[lk], weights=u_hours[lk], minlength=len(cap))
        for m in np.flatnonzero(locked > upper + 1e-6):
            limit = "capacity" if upper[m] >= cap[m] - 1e-9 else f"band (+{band:.0%})"
            out.append(f"Locks put {locked[m]:,.0f} h on {names[m]}, whose {limit} allows at most {upper[m]:,.0f} h. "
                       f"Unlock some of {names[m]}'s accounts or widen the band.")
    return out, role_short


def _too_big(u_hours, upper, target, cap, active, band, unit_names, unit_count, unit_segment, seg_hours,
             has_need: bool) -> list[str]:
    """Units (an account, or a family counted as one) that need more hours than any active manager's band allows:
    whoever takes one ends above the band, so no plan meets it (the Maven CRM book: every strategic account needs
    267 h a year against bands of at most 243 h, and "widen the band" alone did not say by how much)."""
    widest = float(upper[active].max(initial=0.0))
    big = np.flatnonzero(u_hours > widest * (1 + 1e-9) + 1e-9) if widest > 0 else np.array([], dtype=int)
    if not len(big):
        return []
    order = big[np.argsort(-u_hours[big], kind="stable")]
    top = order[0]
    examples = ", ".join(f"{unit_names[u]} ({u_hours[u]:,.0f} h"
                         + (f", a family of {int(unit_count[u])}" if unit_count is not None and unit_count[u] > 1
                            else "") + ")" for u in order[:3])
    more = f" and {len(big) - 3:,} more" if len(big) > 3 else ""
    tmax, cmax = float(target[active].max(initial=0.0)), float(cap[active].max(initial=0.0))
    them = "it" if len(big) == 1 else "them"
    need = int(np.ceil(100 * (u_hours[top] / max(tmax, 1e-9) - 1) - 1e-9))
    if u_hours[top] > cmax * (1 + 1e-9):
        fix, widen = f"It needs more than any manager's capacity ({cmax:,.0f} h) too: give managers more capacity", True
    elif need <= 50:
        fix, widen = f"No band below ±{need} % can hold {them}: widen the band to ±{need} %", True
    else:  # bands beyond ±50 % (the app's widest) no longer balance workload: then the hours are the fix
        fix, widen = f"Only a band of ±{need} % could hold {them}, which balances nothing", False
    segs = pd.unique(pd.Series(unit_segment[big]).dropna().astype(str)) if unit_segment is not None else []
    source = "the coverage model's default: the data has no service need" if not has_need else "the coverage model"
    per = "; ".join(f"{s_}: {float(seg_hours.get(s_, np.nan)):,.1f} h per account" for s_ in segs[:3]) \
        if len(segs) and seg_hours is not None else ""
    hours_fix = f"lower their hours per account in the Segment step ({per}{'; ' if per else ''}{source})"
    return [f"{counted(len(big), 'account')} (an account family counts as one) need{'s' if len(big) == 1 else ''} "
            "more hours a year than any "
            f"manager's band allows (±{band:.0%} allows at most {widest:,.0f} h): {examples}{more}. Whoever takes "
            f"{'it' if len(big) == 1 else 'one'} ends above the band, whatever the plan. {fix}"
            f"{', or ' if widen else '; '}{hours_fix}."]


def _loads(mframe, cap, active, hired, target, lower, upper, owner_idx, to_idx, hours, revenue, potential, band,
           soft_band, aux_info=None) -> pd.DataFrame:
    M = len(mframe)
    ob = owner_idx >= 0
    obi = owner_idx[ob]

    def by(idx, wts):
        return np.bincount(idx, weights=wts, minlength=M)

    hb, ha = by(obi, hours[ob]), by(to_idx, hours)
    tol = 1e-6 * np.maximum(target, 1.0)
    out = pd.DataFrame({
        "manager_id": mframe["manager_id"].astype("string"), "name": mframe["name"].astype("string"),
        "role": mframe["role"].astype("string"), "region": mframe["region"].astype("string"),
        "capacity_hours": cap, "target_hours": target, "band_low": lower, "band_high": upper,
        "accounts_before": np.bincount(obi, minlength=M), "accounts_after": np.bincount(to_idx, minlength=M),
        "hours_before": hb, "hours_after": ha,
        "revenue_before": by(obi, revenue[ob]), "revenue_after": by(to_idx, revenue),
        "potential_before": by(obi, potential[ob]), "potential_after": by(to_idx, potential),
    })
    out["load_before"] = np.where(target > 0, hb / np.maximum(target, 1e-9), np.nan)
    out["load_after"] = np.where(target > 0, ha / np.maximum(target, 1e-9), np.nan)
    out["in_band_before"] = (hb >= lower - tol) & (hb <= upper + tol)
    out["in_band_after"] = (ha >= lower - tol) & (ha <= upper + tol)
    if aux_info is not None:  # the second balanced quantity (revenue or potential), in the book's currency
        ab, aa = by(obi, aux_info["acc"][ob]), by(to_idx, aux_info["acc"])
        lo, hi = aux_info["lower"], aux_info["upper"]
        atol = 1e-6 * np.maximum(aux_info["target"], 1.0)
        out["aux_target"], out["aux_lower"], out["aux_upper"] = aux_info["target"], lo, hi
        out["aux_before"], out["aux_after"] = ab, aa
        out["aux_in_band_before"] = (ab >= lo - atol) & (ab <= hi + atol)
        out["aux_in_band_after"] = (aa >= lo - atol) & (aa <= hi + atol)
    out["status"] = np.where(~active, "leaves", np.where(hired, "new hire", "active"))
    return out


def _pct(x: np.ndarray) -> np.ndarray:
    return np.char.mod("%d", np.rint(np.abs(x) * 100).astype(np.int64))


def _moves(acc, owners, moved, owner_idx, to_idx, unit_codes, lead, u_owner, lock_kind, mframe, active, loads,
           u_region, m_region, use_region, u_lang, m_mask, u_ind, ind_keys, exp_keys, vocab, seg_name, seg_id,
           hours, revenue, band, aux_info=None) -> pd.DataFrame:
    """One row per account whose owner changes, with a reason code and a sentence a workshop can argue."""
    r = np.flatnonzero(moved)
    names = mframe["name"].astype(str).to_numpy()
    fr = owner_idx[r]
    to = to_idx[r]
    u = unit_codes[r]
    frc = np.clip(fr, 0, None)
    hb = loads["hours_before"].to_numpy()
    tgt = loads["target_hours"].to_numpy()
    cap = loads["capacity_hours"].to_numpy()
    hi = loads["band_high"].to_numpy()
    lo = loads["band_low"].to_numpy()
    dev_to = np.where(tgt[to] > 0, (hb[to] - tgt[to]) / np.maximum(tgt[to], 1e-9), 0.0)
    dev_fr = np.where(tgt[frc] > 0, (hb[frc] - tgt[frc]) / np.maximum(tgt[frc], 1e-9), 0.0)
    over_cap = np.where(cap[frc] > 0, hb[frc] / np.maximum(cap[frc], 1e-9) - 1, 0.0)
    n_ind = max(len(ind_keys), 1)
    same_reg = (m_region[to] == u_region[u]) & (u_region[u] >= 0) if use_region else np.zeros(len(r), bool)
    ind_exp = np.isin(to.astype(np.int64) * n_ind + u_ind[u], exp_keys) & (u_ind[u] >= 0)
    lang_known = (u_lang[u] >= 0) & (m_mask[to] != -1)
    speaks = lang_known & (((m_mask[to] >> np.clip(u_lang[u], 0, 63)) & 1) == 1)
    lang_name = np.array(vocab + [""], dtype=object)[np.where(u_lang[u] >= 0, u_lang[u], len(vocab))]

    parts = np.where(same_reg & ind_exp, "the same region and industry experience",
                     np.where(same_reg, "the same region", np.where(ind_exp, "industry experience", "")))
    parts = np.where(speaks & (parts != ""), parts.astype(object) + ", speaks " + lang_name,
                     np.where(speaks, "speaks " + lang_name.astype(str), parts))
    # a taker above target reads oddly without a word why it still takes: room inside the band, or it hands over
    # more hours than it takes
    ha = loads["hours_after"].to_numpy()
    dev_word = np.where(dev_to <= 0, " % under target",
                        np.where(hb[to] <= hi[to] + 1e-6, " % over target, still inside the band",
                                 np.where(ha[to] < hb[to], " % over target but hands over more hours than they receive",
                                          " % over target")))
    fit_txt = np.where(parts != "", "has " + parts.astype(str) + " and is ", "is ")
    if len(fit_txt):  # numpy's char.replace fails on an empty array (a plan without moves)
        fit_txt = np.where(np.char.startswith(fit_txt.astype(str), "has speaks"),
                           np.char.replace(fit_txt.astype(str), "has speaks", "speaks"), fit_txt)
    to_clause = names[to].astype(object) + " " + fit_txt.astype(object) + _pct(dev_to).astype(object) + dev_word
    owner_gone = (fr >= 0) & ~active[frc]
    family = (fr >= 0) & (u_owner[u] == to) & (owner_idx[lead[u]] != fr)
    kind = lock_kind[u]
    code = np.select(
        [fr < 0, owner_gone, kind == 2, kind == 1, family, (fr >= 0) & (over_cap > 1e-9),
         (fr >= 0) & (hb[frc] > hi[frc] + 1e-6), lo[to] - hb[to] > 1e-6],
        ["unowned", "manager_leaves", "override", "lock", "family", "over_capacity", "over_band", "under_band"],
        default="rebalance")
    fr_name = np.where(fr >= 0, names[frc], "")
    if aux_info is not None:
        # a move that no workload reason explains but the giver held too much of the balanced quantity (or the
        # taker too little): it was made for the revenue / potential band
        q = aux_info["name"]
        ab = loads["aux_before"].to_numpy()
        at = loads["aux_target"].to_numpy()
        a_over = (fr >= 0) & (ab[frc] > loads["aux_upper"].to_numpy()[frc] + 1e-6 * np.maximum(at[frc], 1.0))
        a_under = loads["aux_lower"].to_numpy()[to] - ab[to] > 1e-6 * np.maximum(at[to], 1.0)
        code = np.where((code == "rebalance") & (a_over | a_under), f"{q}_balance", code)
        a_dev_fr = np.where(at[frc] > 0, ab[frc] / np.maximum(at[frc], 1e-9) - 1, 0.0)
        a_dev_to = np.where(at[to] > 0, ab[to] / np.maximum(at[to], 1e-9) - 1, 0.0)
        a_band = f"{q} band ±{aux_info['band']:.0%}".replace("%", " %")
        aux_sent = np.where(
            a_over,
            fr_name.astype(object) + " holds " + _pct(a_dev_fr).astype(object) + f" % more {q} than target ("
            + a_band + "); " + to_clause,
            names[to].astype(object) + " had " + _pct(a_dev_to).astype(object) + f" % less {q} than target, below "
            f"the {q} band; takes it from " + fr_name.astype(object))
    else:
        aux_sent = np.full(len(r), "", dtype=object)
    lead_name = acc["name"].astype(str).to_numpy()[lead[u]]
    band_txt = f"band ±{band:.0%}".replace("%", " %")
    sent = np.select(
        [code == "unowned", code == "manager_leaves", code == "override", code == "lock", code == "family",
         code == "over_capacity", code == "over_band", code == "under_band", np.char.endswith(
             code.astype(str), "_balance")],
        ["Unowned account; " + to_clause,
         fr_name.astype(object) + " leaves; " + to_clause,
         "Moved by hand (override) to " + names[to].astype(object),
         "Locked to " + names[to].astype(object),
         "Follows its account family (" + lead_name.astype(object) + ") to " + names[to].astype(object),
         fr_name.astype(object) + " over capacity by " + _pct(over_cap).astype(object) + " %; " + to_clause,
         fr_name.astype(object) + " " + _pct(dev_fr).astype(object) + " % above target (" + band_txt + "); "
         + to_clause,
         names[to].astype(object) + " was " + _pct(dev_to).astype(object) + " % under target, below the band; "
         "takes it from " + fr_name.astype(object),
         aux_sent],
        default="Rebalancing: " + to_clause)
    out = pd.DataFrame({
        "account_id": owners["account_id"].to_numpy()[r],
        "from_manager": owners["from_manager"].to_numpy()[r],
        "to_manager": owners["to_manager"].to_numpy()[r],
        "reason": pd.Series(sent.astype(str), dtype="string") + ".",
        "reason_code": pd.Series(code, dtype="string"),
        "segment": seg_name.to_numpy()[r] if len(r) else pd.Series(dtype="string"),
        "region": acc["region"].astype("string").to_numpy()[r] if "region" in acc else pd.NA,
        "from_name": pd.Series(np.where(fr >= 0, names[frc], None), dtype="string"),
        "to_name": pd.Series(names[to], dtype="string"),
        "hours": hours[r], "revenue_12m": revenue[r],
    })
    out["from_manager"] = out["from_manager"].astype("string")
    out["to_manager"] = out["to_manager"].astype("string")
    out["segment"] = out["segment"].astype("string")
    out["region"] = out["region"].astype("string")
    return out.reset_index(drop=True)


def _stats(sol, prob, mg, mframe, notes, checks, warnings, loads, moves, n_acc, n_u, k, soft_band, move_stats,
           aux_diag, seconds, sol_mode: str = "auto") -> dict:
    v = sol.violations
    names = mframe["name"].astype(str).to_numpy()
    tol = 1e-6 * max(float(prob.hours.sum()), 1.0)
    diagnosis = list(checks)
    over = np.flatnonzero(v["over_band_hours"] > 1e-6 * np.maximum(prob.target, 1.0))
    under = np.flatnonzero(v["under_band_hours"] > 1e-6 * np.maximum(prob.target, 1.0))
    big_unit = float(prob.hours.max(initial=0.0))
    if not checks and (len(over) or len(under)):
        who = [f"{names[m]} ({loads['hours_after'].iat[m]:,.0f} h, band {prob.lower[m]:,.0f}–{prob.upper[m]:,.0f} h)"
               for m in np.r_[over, under][:5]]
        hint = ("one account family alone needs " f"{big_unit:,.0f} h, more than some bands allow. "
                if big_unit > float(np.min(prob.upper[prob.upper > 0], initial=np.inf)) else "")
        # "no plan" only with a proof (a unit too big for every band it could join, or a band not even the LP
        # relaxation meets); otherwise the search missed it, and a plan inside the band may still exist
        proven = S.band_reachable(prob) is False
        lead = ("No plan over these candidates keeps every manager inside the band" if proven else
                "The plan found leaves managers outside the band (no proof that none can keep it)")
        diagnosis.append(f"{lead}: {'; '.join(who)}"
                         f"{' and more' if len(over) + len(under) > 5 else ''}. {hint.capitalize()}"
                         "Widen the band, relax locks or the move limit, or allow more managers per account "
                         f"(the candidates setting; this plan had {prob.cand.shape[1]} per account)."
                         + ("" if proven or sol_mode not in ("auto", "lagrangian") else
                            " The thorough plan search (mode=\"thorough\", in the app: Plan search → Thorough) "
                            "works longer on the band."))
    diagnosis += aux_diag
    move_limit = move_stats["move_limit"]
    if v["moves_over_limit"] > 1e-9 and move_limit is not None and move_stats["move_share_of"] == "revenue":
        need_share = float(v["moves"]) / max(move_stats["owned_accounts_active"], 1)
        diagnosis.append(f"The move limit allows {_share(move_stats['max_move_share'])} of the owned revenue "
                         f"({_money(move_stats['move_limit_revenue'])}) to change owner but keeping the band needs "
                         f"about {_share(need_share)}; raise the move limit to at least {_share(need_share)}, count it "
                         "in accounts, or widen the band.")
    elif v["moves_over_limit"] > 1e-9 and move_limit is not None:
        need = int(np.ceil(v["moves"]))
        need_share = need / max(move_stats["owned_accounts_active"], 1)
        diagnosis.append(f"The move limit allows {move_limit:,.0f} account moves ({_share(move_stats['max_move_share'])} "
                         f"of the owned accounts) but keeping the band needs about {need:,}; raise the move limit to "
                         f"at least {np.ceil(need_share * 1000) / 10:.1f} %, or widen the band.")
    aux_off = float(v["aux_over_band"].sum() + v["aux_under_band"].sum())
    aux_tol = 1e-6 * max(float(prob.aux.sum()), 1.0) if prob.aux is not None else 0.0
    clean = (v["over_band_hours"].sum() <= tol and v["under_band_hours"].sum() <= tol and v["moves_over_limit"] <= 1e-9
             and aux_off <= aux_tol)
    status = sol.status if clean and not checks else "infeasible"
    diagnosis += list(warnings)  # fallbacks the plan made (e.g. a short role's accounts served by other roles)
    if soft_band and not checks:
        status = sol.status
    return {
        "objective": float(sol.objective), "lower_bound": float(sol.lower_bound), "gap": float(sol.gap),
        "seconds": float(seconds), "solver_seconds": float(sol.seconds), "status": status, "solver": sol.solver,
        "iterations": int(sol.iterations), "diagnosis": " ".join(diagnosis), "warnings": list(warnings),
        "notes": notes,
        "accounts": int(n_acc), "units": int(n_u), "candidates_per_unit": int(k),
        "moves": int(len(moves)), "owned_moves": int(moves["from_manager"].notna().sum()),
        "assignment_cost": float(v["assignment_cost"]), "balance_cost": float(v["balance_cost"]),
        "managers_in_band_before": int(loads.loc[mg.active, "in_band_before"].sum()),
        "managers_in_band_after": int(loads.loc[mg.active, "in_band_after"].sum()),
        "active_managers": int(mg.active.sum()),
        "over_capacity_hours": float(v["over_capacity_hours"].sum()),
        "band_violation_hours": float(v["over_band_hours"].sum() + v["under_band_hours"].sum()),
        "moves_over_limit": float(v["moves_over_limit"]),
        **{key: move_stats[key] for key in ("move_limit", "move_share_of", "moved_share_accounts",
                                            "moved_share_revenue", "move_limit_revenue")},
        **_aux_stats(loads, mg.active, aux_off),
    }


def _aux_stats(loads: pd.DataFrame, active: np.ndarray, aux_off: float) -> dict:
    """Managers inside the revenue / potential band before and after, and the total outside it."""
    if "aux_after" not in loads:
        return {}
    return {"managers_in_aux_band_before": int(loads.loc[active, "aux_in_band_before"].sum()),
            "managers_in_aux_band_after": int(loads.loc[active, "aux_in_band_after"].sum()),
            "aux_band_violation": aux_off}


_QTY = {"revenue": "revenue (revenue_12m)", "potential": "potential"}


def _money(x: float) -> str:
    """3.1M, 240k, 950: amounts in the book's currency for diagnoses."""
    ax = abs(float(x))
    if ax >= 1e6:
        return f"{x / 1e6:,.1f}M"
    if ax >= 1e4:
        return f"{x / 1e3:,.0f}k"
    return f"{x:,.0f}"


def _unit_word(count: int) -> str:
    return "account family" if count > 1 else "account"


def _aux_prechecks(mframe, active, m_group, group, u_aux, aux_upper, lock_mgr, name, band, lead_name,
                   u_count) -> list:
    """Aux bands no plan can meet: an account (family) worth more than the upper edge of every manager who may
    serve it, and locks that put more on a manager than its upper edge."""
    out: list[str] = []
    names = mframe["name"].astype(str).to_numpy()
    q = name
    for g in np.unique(group):  # a loop over eligibility groups
        serve = active & ((m_group == g) | (g < 0))
        if not serve.any():
            continue
        edge = float(aux_upper[serve].max())
        units = np.flatnonzero(group == g)
        worst = units[np.argmax(u_aux[units])] if len(units) else -1
        if worst >= 0 and u_aux[worst] > edge * (1 + 1e-9):
            out.append(f"A ±{band:.0%} {q} band cannot be met: the {_unit_word(int(u_count[worst]))} "
                       f"'{lead_name[worst]}' alone is worth {_money(u_aux[worst])} of {q}, more than the upper edge "
                       f"of any manager who may serve it (at most {_money(edge)}). Widen the {q} band, or balance "
                       "on workload only.")
    if (lock_mgr >= 0).any():
        lk = lock_mgr >= 0
        locked = np.bincount(lock_mgr[lk], weights=u_aux[lk], minlength=len(aux_upper))
        for m in np.flatnonzero(locked > aux_upper * (1 + 1e-9) + 1e-9):
            out.append(f"A ±{band:.0%} {q} band cannot be met: locks put {_money(locked[m])} of {q} on {names[m]}, "
                       f"more than the upper edge {_money(aux_upper[m])}. Unlock some of {names[m]}'s accounts or "
                       f"widen the {q} band.")
    return out


def _aux_diagnosis(sol, prob, mframe, aux_info, u_to, lead_name, u_count) -> list:
    """Why managers are left outside the revenue / potential band: who, by how much, and the account (family) that
    alone exceeds a manager's upper edge when there is one."""
    v = sol.violations
    q, band = aux_info["name"], aux_info["band"]
    atol = 1e-6 * np.maximum(prob.aux_upper, 1.0)
    bad = np.flatnonzero((v["aux_over_band"] > atol) | (v["aux_under_band"] > atol))
    if not len(bad):
        return []
    names = mframe["name"].astype(str).to_numpy()
    after = np.bincount(u_to, weights=prob.aux, minlength=prob.n_managers)
    who = [f"{names[m]} ({_money(after[m])}, band {_money(prob.aux_lower[m])}–{_money(prob.aux_upper[m])})"
           for m in bad[:5]]
    hint = ""
    # the biggest unit on a violated manager that alone exceeds its upper edge
    on_bad = np.flatnonzero(np.isin(u_to, bad))
    if len(on_bad):
        top = on_bad[np.argmax(prob.aux[on_bad])]
        m = int(u_to[top])
        if prob.aux[top] > prob.aux_upper[m]:
            hint = (f" {names[m]} holds a single {_unit_word(int(u_count[top]))} ('{lead_name[top]}') worth "
                    f"{_money(prob.aux[top])}, more than the upper edge {_money(prob.aux_upper[m])}.")
    return [f"A ±{band:.0%} {q} band cannot be met: {'; '.join(who)}{' and more' if len(bad) > 5 else ''}.{hint} "
            f"Widen the {q} band, relax locks or the move limit, allow more managers per account, or balance on "
            "workload only."]


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"

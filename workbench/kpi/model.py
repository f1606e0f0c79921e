"""The KPI projection model: baseline vs scenario revenue per account group and month, KPIs, Monte Carlo bands.

Model (per account ``a`` in segment ``s``, month ``t = 1..H`` after the last observed month)::

    baseline_a(t) = level_a · B_s(t),   B_s(t) = (1 + g_s)^(t/12) · season_s(t) · r_s^(t/12)
    scenario_a(t) = B_s(t) · [level_a + (level_a · E_a^ε − level_a) · ramp(t)]      coverage effect
                           · (1 − h_a · loss(t) · (1 − relief · k_a / 2))            handover loss
                           · (1 − uplift · h_a)^(t/12)                              churn raised by a handover

- Coverage: an overloaded manager under-serves every account. Served hours of an account = its needed hours
  (``assignment.owners.hours``) × min(1, capacity / load) of its owner; ``E_a`` = served after / served before,
  capped at ``effort_ratio_cap`` either way; revenue responds with the selling-effort elasticity ``ε``
  (concave: diminishing returns), ramping in linearly over ``response_lag_months``. An account that had no
  owner and gets one is at the cap; one that loses its owner is at the inverse cap.
- Handover: a moved account (``h_a = 1``: it had an owner and gets a different one) loses ``handover_loss`` of
  its revenue in the first 12 months, fading linearly to zero over ``handover_recovery_months`` after that;
  ``k_a`` counts whether the new owner matches the account's region (manager region) and industry (the new
  owner already served that industry), each avoiding half of ``handover_match_relief``.
- Churn: a moved account's annual survival is multiplied by ``1 − handover_churn_uplift``.
- Cost to serve (time-driven ABC): served hours × the owner's cost rate (cost / capacity_hours).
- Customer lifetime value two ways: retention-based ``m·r / (1 + d − r)`` per group (m = gross margin minus cost
  to serve over the next 12 months), and, with 12+ months of history, from the BG/BB purchase model
  (``bgnbd.py``): gross margin × spend per purchase month × discounted expected purchase months over ten
  years; its scenario value moves with the group's 12-month scenario/baseline revenue ratio.
- Per manager: revenue and accounts per manager divide by the team, not by the managers who hold accounts:
  before the plan the book's managers (leavers included), after it the managers who stay plus the hires
  (``assignment.loads.status``: active / leaves / new hire).
- Moves: "Accounts moved" counts what the move limit counts (the engine's ``moved_share_accounts``): accounts
  owned by a manager who stays that get another owner. Accounts of leavers handed over and unowned accounts
  given a first owner are KPIs of their own.

Every term is constant within a group of accounts sharing (segment, old owner, new owner, moved, match), so
the model runs on group sums of ``level`` — exact, not an approximation. Monte Carlo further sums groups into
(segment, moved, match) cells per draw; only ``E^ε`` needs the group level, as one (draws × groups) product.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..assumptions import Assumptions
from ..book import AccountBook
from ..results import Assignment, Projection, Segmentation
from .baseline import Baseline, fit_baseline

__all__ = ["KpiModel", "project", "as_assumptions", "KPI_LABELS", "gini", "outside_band", "current_kpis"]

#: label and unit per KPI key (unit "currency" is replaced by the book's currency). Each KPI is named for what it
#: measures, so its change reads with its own sign: the saving on cost to serve is the change of "Cost to serve"
#: (−336 k EUR, lower is better), not a KPI of its own ("Cost-to-serve reduction −336 k EUR" read as a double
#: negative and said the same thing again, with the opposite sign)
KPI_LABELS: dict[str, tuple[str, str]] = {
    "revenue_12m": ("Revenue, next 12 months", "currency"),
    "revenue_horizon": ("Revenue over the horizon", "currency"),
    "revenue_growth": ("Revenue growth vs last 12 months", "share"),
    "retention_rate": ("Revenue retention, 12 months", "share"),
    "clv": ("Customer lifetime value (retention-based)", "currency"),
    "clv_bgbb": ("Customer lifetime value (BG/BB purchase model, 10 years)", "currency"),
    "cost_to_serve": ("Cost to serve, 12 months", "currency"),
    "gross_margin_after_cts": ("Gross margin after cost to serve, 12 months", "currency"),
    "revenue_per_manager": ("Revenue per manager, 12 months", "currency"),
    "workload_imbalance": ("Workload imbalance (Gini of hours / capacity)", "index"),
    "managers_in_band": ("Managers inside the workload band", "share"),
    "service_coverage": ("Needed hours actually served", "share"),
    "accounts_moved": ("Accounts moved", "accounts"),
    "revenue_moved": ("Revenue of moved accounts (last 12 months)", "currency"),
    "accounts_from_leavers": ("Accounts of leavers handed over", "accounts"),
    "unowned_assigned": ("Unowned accounts assigned an owner", "accounts"),
    "revenue_at_risk": ("Revenue at risk from moves, 12 months", "currency"),
    "delta_coverage": ("Revenue delta from coverage, 12 months", "currency"),
    "delta_handover": ("Revenue delta from handover loss, 12 months", "currency"),
    "delta_churn": ("Revenue delta from handover churn, 12 months", "currency"),
}

# KPIs that Monte Carlo varies (the others do not depend on an uncertain assumption)
_MC_KPIS = ("revenue_12m", "revenue_horizon", "revenue_growth", "retention_rate", "clv", "gross_margin_after_cts",
            "revenue_per_manager", "revenue_at_risk", "delta_coverage", "delta_handover", "delta_churn")

_NO_OWNER_LOG_RATIO = 10.0  # far beyond any cap: clipping turns it into exactly the cap
_MC_CHUNK = 4_000_000
CLV_MONTHS = 120  # the purchase-model CLV sums ten years of discounted expected purchase months
MIN_MONTHS_PURCHASE_MODEL = 12  # draws × groups evaluated at once (bounds memory to ~32 MB per temporary)


def as_assumptions(assumptions) -> Assumptions:
    """``None`` → defaults; an ``Assumptions``; a mapping of name → value (or the scenario-file form); a YAML path."""
    if assumptions is None:
        return Assumptions()
    if isinstance(assumptions, Assumptions):
        return assumptions
    if isinstance(assumptions, str | Path):
        return Assumptions.from_yaml(assumptions)
    if isinstance(assumptions, Mapping):
        if "assumptions" in assumptions:
            return Assumptions.from_dict(assumptions)
        values = dict(assumptions)
        seg = values.pop("segment_retention", None)
        return Assumptions().with_values(segment_retention=seg, **values)
    raise ValueError(f"assumptions must be an Assumptions object, a mapping or a YAML path, not {type(assumptions)}")


def current_kpis(kpis: Mapping[str, dict]) -> dict[str, dict]:
    """KPIs saved by an earlier version, in today's keys and labels (a copy; today's KPIs pass unchanged).

    ``cost_reduction`` ("Cost-to-serve reduction") is left out: it was ``cost_to_serve``'s change with the sign
    turned. ``accounts_per_no_role`` ("Accounts per no role") becomes ``accounts_per_manager`` ("Accounts per
    manager") when no manager had a role, else ``accounts_per_manager_without_role``.
    """
    out = {k: dict(v) for k, v in kpis.items() if k != "cost_reduction"}
    old = out.pop("accounts_per_no_role", None)
    if old is not None:
        alone = not any(k.startswith("accounts_per_") for k in out)
        key, label = (("accounts_per_manager", "Accounts per manager") if alone
                      else ("accounts_per_manager_without_role", "Accounts per manager without a role"))
        out[key] = {**old, "label": label}
    return out


def outside_band(kpis: Mapping[str, dict]) -> list[str]:
    """Keys of the KPIs whose change lies outside its own P10–P90 band (``delta_p10`` … ``delta_p90``), in order.

    With every uncertain assumption drawn around its value this happens only when an assumption sits at a
    physical bound (``Assumptions.one_sided``) or the history's estimates lean one way; the KPI step says why.
    A relative tolerance of 1e-9 of the band's scale keeps rounding from flagging a band that ends at the value.
    """
    out = []
    for key, k in kpis.items():
        lo, hi, d = k.get("delta_p10"), k.get("delta_p90"), k.get("delta")
        if lo is None or hi is None or d is None or lo == hi:
            continue
        tol = 1e-9 * max(abs(lo), abs(hi), abs(d), 1.0)
        if d < lo - tol or d > hi + tol:
            out.append(key)
    return out


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal, → 1 = all in one)."""
    x = np.sort(np.asarray(x, dtype=float).clip(min=0))
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * x) / (n * x.sum()) - (n + 1.0) / n)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "unknown"


def _col(df: pd.DataFrame, name: str, default=pd.NA) -> pd.Series:
    return df[name] if name in df.columns else pd.Series(default, index=df.index)


class KpiModel:
    """Compiled KPI projection for one book, segmentation and assignment.

    ``fit`` does all per-account work once (history fit, loads, effort ratios, matches, grouping);
    ``project`` then evaluates any set of assumptions on group sums in milliseconds.

    Parameters
    ----------
    history_cutoff : fit the baseline only on history up to this month (used by the backtest).
    """

    def __init__(self, history_cutoff: pd.Timestamp | str | None = None):
        self.history_cutoff = history_cutoff

    # ------------------------------------------------------------------ fit
    def fit(self, book: AccountBook, segmentation: Segmentation, assignment: Assignment) -> KpiModel:
        """Precompute per-group arrays. Returns ``self``."""
        acc = book.accounts
        owners = assignment.owners
        missing = [c for c in ("account_id", "from_manager", "to_manager", "hours") if c not in owners.columns]
        if missing:
            raise ValueError(f"the assignment's owners table lacks column(s) {', '.join(missing)}")
        ids = acc["account_id"].astype("string").to_numpy(dtype=object)
        n = len(ids)
        own = owners.drop_duplicates("account_id").set_index(owners["account_id"].astype("string")
                                                               .drop_duplicates().to_numpy())
        pos = pd.Index(own.index).get_indexer(ids)
        found = pos >= 0
        owner_now = _col(acc, "owner_id").astype("string").to_numpy(dtype=object)
        from_m = np.where(found, own["from_manager"].astype("string").to_numpy(dtype=object)[pos.clip(0)],
                          owner_now)
        to_m = np.where(found, own["to_manager"].astype("string").to_numpy(dtype=object)[pos.clip(0)], owner_now)
        need = pd.to_numeric(_col(acc, "service_need", 0.0), errors="coerce").fillna(0).to_numpy(dtype=float)
        hours = np.where(found, pd.to_numeric(own["hours"], errors="coerce").fillna(0).to_numpy(dtype=float)
                         [pos.clip(0)], need)
        rev12 = pd.to_numeric(acc["revenue_12m"], errors="coerce").fillna(0).to_numpy(dtype=float)

        # segments
        labels = segmentation.labels
        lab = labels.drop_duplicates("account_id")
        lpos = pd.Index(lab["account_id"].astype("string")).get_indexer(ids)
        seg_ids = np.sort(pd.unique(lab["segment_id"].dropna().astype(np.int64)))
        names = lab.dropna(subset=["segment_id"]).groupby("segment_id")["segment"].first()
        seg_names = [str(names.get(s, f"Segment {s}")) for s in seg_ids]
        raw = np.where(lpos >= 0, pd.to_numeric(lab["segment_id"], errors="coerce").to_numpy()[lpos.clip(0)],
                       np.nan)
        raw_int = np.where(np.isnan(raw), -(2 ** 62), np.nan_to_num(raw)).astype(np.int64)
        seg_code = pd.Index(seg_ids).get_indexer(raw_int)
        unlabelled = seg_code < 0
        if np.any(unlabelled):
            seg_code = np.where(unlabelled, len(seg_ids), seg_code)
            seg_ids = np.append(seg_ids, -1)
            seg_names.append("(no segment)")
        n_seg = len(seg_ids)

        # managers: the union of the book's managers, the loads table and any owner id in the assignment
        mgr = book.managers.copy()
        mgr["manager_id"] = mgr["manager_id"].astype("string")
        loads = assignment.loads.copy() if assignment.loads is not None else pd.DataFrame()
        if len(loads) and "manager_id" in loads:
            loads["manager_id"] = loads["manager_id"].astype("string")
        extra_ids = pd.Index(pd.unique(np.concatenate([
            loads["manager_id"].to_numpy(dtype=object) if len(loads) else np.array([], dtype=object),
            pd.Series(from_m).dropna().to_numpy(dtype=object), pd.Series(to_m).dropna().to_numpy(dtype=object)])))
        all_ids = pd.Index(mgr["manager_id"].to_numpy(dtype=object)).append(
            extra_ids.difference(pd.Index(mgr["manager_id"].to_numpy(dtype=object))))
        mg = pd.DataFrame({"manager_id": all_ids.astype(str)})
        mg = mg.merge(mgr.drop_duplicates("manager_id").astype({"manager_id": str}), on="manager_id", how="left")
        if len(loads):
            lcols = [c for c in ("capacity_hours", "target_hours", "band_low", "band_high") if c in loads.columns]
            lo = loads.drop_duplicates("manager_id").astype({"manager_id": str}).set_index("manager_id")[lcols]
            for c in lcols:
                vals = pd.to_numeric(lo[c], errors="coerce").reindex(mg["manager_id"]).to_numpy()
                if c in mg.columns:
                    mg[c] = np.where(np.isnan(vals), pd.to_numeric(mg[c], errors="coerce"), vals)
                else:
                    mg[c] = vals
            lo = loads.drop_duplicates("manager_id").astype({"manager_id": str}).set_index("manager_id")
            for c in ("name", "role", "region"):  # a hire is only in the loads table
                if c in lo.columns:
                    vals = lo[c].astype("string").reindex(mg["manager_id"]).to_numpy(dtype=object)
                    mg[c] = _col(mg, c).astype("string").fillna(pd.Series(vals, index=mg.index, dtype="string"))
            if "status" in lo.columns:  # active / leaves / new hire (the plan's manager events)
                mg["status"] = lo["status"].reindex(mg["manager_id"]).astype("string").to_numpy()
        n_mgr = len(mg)
        cap = pd.to_numeric(_col(mg, "capacity_hours", np.nan), errors="coerce").to_numpy(dtype=float)
        cost = pd.to_numeric(_col(mg, "cost", np.nan), errors="coerce").to_numpy(dtype=float)
        midx = pd.Index(mg["manager_id"])
        fi = midx.get_indexer(pd.Series(from_m, dtype="string").fillna("\0").to_numpy(dtype=object))
        ti = midx.get_indexer(pd.Series(to_m, dtype="string").fillna("\0").to_numpy(dtype=object))

        load_b = np.bincount(fi[fi >= 0], weights=hours[fi >= 0], minlength=n_mgr)
        load_a = np.bincount(ti[ti >= 0], weights=hours[ti >= 0], minlength=n_mgr)
        with np.errstate(divide="ignore", invalid="ignore"):
            f_b = np.where((load_b > 0) & (cap > 0), np.minimum(1.0, cap / load_b), 1.0)
            f_a = np.where((load_a > 0) & (cap > 0), np.minimum(1.0, cap / load_a), 1.0)
            rate = np.where((cap > 0) & np.isfinite(cost), cost / cap, np.nan)
        fb_acc = np.where(fi >= 0, f_b[fi.clip(0)], 0.0)
        fa_acc = np.where(ti >= 0, f_a[ti.clip(0)], 0.0)
        with np.errstate(divide="ignore"):
            log_e = np.where((fi >= 0) & (ti >= 0), np.log(fa_acc) - np.log(np.where(fb_acc > 0, fb_acc, 1.0)),
                             np.where(ti >= 0, _NO_OWNER_LOG_RATIO,
                                      np.where(fi >= 0, -_NO_OWNER_LOG_RATIO, 0.0)))
        log_e = np.where(hours > 0, log_e, 0.0)
        handover = (fi >= 0) & (ti >= 0) & (fi != ti)
        changed = (fi != ti)

        # match of the new owner: region (manager's home region) and industry (already served before)
        acc_region = _col(acc, "region").astype("string").to_numpy(dtype=object)
        mgr_region = _col(mg, "region").astype("string").to_numpy(dtype=object)
        reg_match = (ti >= 0) & (pd.Series(mgr_region[ti.clip(0)]).fillna("\0").to_numpy(dtype=object)
                                 == pd.Series(acc_region).fillna("\1").to_numpy(dtype=object))
        ind_code, _ = pd.factorize(_col(acc, "industry").astype("string"))
        n_ind = max(int(ind_code.max()) + 1, 1) if n else 1
        kb = np.unique(fi[(fi >= 0) & (ind_code >= 0)].astype(np.int64) * n_ind + ind_code[(fi >= 0) & (ind_code >= 0)])
        ind_match = (ti >= 0) & (ind_code >= 0) & np.isin(ti.astype(np.int64) * n_ind + ind_code, kb)
        k = np.where(handover, reg_match.astype(np.int64) + ind_match.astype(np.int64), 0)

        cutoff = pd.Timestamp(self.history_cutoff) if self.history_cutoff is not None else None
        base = fit_baseline(ids, rev12, seg_code, n_seg, book.history, cutoff,
                            unknown_from_revenue_12m=cutoff is None)

        # groups: accounts sharing every term of the model
        m1 = n_mgr + 1
        key = ((((seg_code.astype(np.int64) * m1 + (fi + 1)) * m1 + (ti + 1)) * 2 + handover) * 3 + k)
        ukey, first, inv = np.unique(key, return_index=True, return_inverse=True)
        n_g = len(ukey)

        def gsum(v):
            return np.bincount(inv, weights=v, minlength=n_g)

        level = base.level
        served_b = hours * fb_acc
        served_a = hours * fa_acc
        self.groups_ = pd.DataFrame({
            "segment_code": seg_code[first], "from_idx": fi[first], "to_idx": ti[first],
            "handover": handover[first].astype(np.int8), "match": k[first].astype(np.int8),
            "changed": changed[first], "log_effort": log_e[first],
            "accounts": np.bincount(inv, minlength=n_g), "level": gsum(level), "revenue_last_12m": gsum(rev12),
            "hours": gsum(hours), "served_before": gsum(served_b), "served_after": gsum(served_a),
        })
        self.account_group_ = inv
        self.account_ids_ = ids
        self.segment_of_account_ = seg_code
        self.account_level_ = base.level
        self.segment_ids_ = seg_ids
        self.segment_names_ = seg_names
        # the team before the plan is the book's managers (leavers still in it, hires not yet); after it, leavers
        # are out and hires in. Without the plan's status (older scenarios) a manager of the book is in both, and
        # an owner missing from the managers table is counted where they hold accounts.
        status = _col(mg, "status").astype("string").fillna("").to_numpy(dtype=object)
        known = status != ""
        in_book = mg["manager_id"].isin(mgr["manager_id"].astype(str)).to_numpy()
        team_b = np.where(known, status != "new hire", in_book | (load_b > 0))
        team_a = np.where(known, status != "leaves", in_book | (load_a > 0))
        self.managers_ = mg.assign(load_before=load_b, load_after=load_a, served_share_before=f_b,
                                   served_share_after=f_a, cost_rate=rate, team_before=team_b, team_after=team_a,
                                   leaves=known & (status == "leaves"))
        self.baseline_: Baseline = base
        self.currency_ = book.currency
        self.revenue_last_12m_ = float(rev12.sum())
        self.band_ = float(assignment.params.get("band", 0.15)) if assignment.params else 0.15
        self.n_accounts_ = n
        # cells for Monte Carlo: groups sorted so each (segment, handover, match) cell is one contiguous run
        cell_key = (self.groups_["segment_code"].to_numpy() * 2 + self.groups_["handover"].to_numpy()) * 3 \
            + self.groups_["match"].to_numpy()
        order = np.argsort(cell_key, kind="stable")
        ucell, cstart, cinv = np.unique(cell_key[order], return_index=True, return_inverse=True)
        self.mc_order_ = order
        self.mc_starts_ = cstart
        self.mc_cells_ = pd.DataFrame({"segment_code": ucell // 6, "handover": (ucell // 3) % 2,
                                       "match": ucell % 3})
        self.mc_cell_of_group_ = np.empty(n_g, dtype=np.int64)
        self.mc_cell_of_group_[order] = cinv
        gr = self.groups_
        self._g = {"segment": gr["segment_code"].to_numpy(), "from": gr["from_idx"].to_numpy(),
                   "to": gr["to_idx"].to_numpy(), "handover": gr["handover"].to_numpy(dtype=float),
                   "match": gr["match"].to_numpy(dtype=float), "changed": gr["changed"].to_numpy(),
                   "log_effort": gr["log_effort"].to_numpy(dtype=float), "level": gr["level"].to_numpy(dtype=float),
                   "accounts": gr["accounts"].to_numpy(), "revenue_last_12m": gr["revenue_last_12m"].to_numpy(),
                   "hours": gr["hours"].to_numpy(), "served_before": gr["served_before"].to_numpy(),
                   "served_after": gr["served_after"].to_numpy(), "cell": self.mc_cell_of_group_}
        self._level_c = np.bincount(self.mc_cell_of_group_, weights=self._g["level"], minlength=len(ucell))
        self._fit_purchase_model()
        self._prepare_static()
        self._prepare_tables()
        self._estimated = _jsonable(self.baseline_.segments.assign(segment=self.segment_names_)
                                    .drop(columns=["segment_code"]).to_dict("records"))
        return self

    def _fit_purchase_model(self) -> None:
        """BG/BB on the purchase months (see ``bgnbd``): P(alive) and expected purchase months per account."""
        from .bgnbd import BGBB

        self.purchase_model_ = None
        self._clv_cache: dict[float, np.ndarray] = {}
        pur = self.baseline_.purchases
        if pur is None or self.baseline_.n_months < MIN_MONTHS_PURCHASE_MODEL:
            return
        buyer = pur["buyer"]
        try:
            model = BGBB().fit(pur["x"][buyer], pur["t_x"][buyer], pur["n"][buyer])
        except ValueError:
            return
        # on data where nearly every account buys every month the likelihood is flat towards p → 1, θ → 0; the
        # penalised optimum is still a usable (near-certain) forecast, so only non-finite results are refused
        if not (np.all(np.isfinite(model.params_)) and np.isfinite(model.log_likelihood_)):
            return
        span = int(pur["n"].max()) + 1
        key = (pur["x"] * span + pur["t_x"]) * span + pur["n"]
        ukey, uinv = np.unique(key[buyer], return_inverse=True)
        ux, utx, un = ukey // (span * span), (ukey // span) % span, ukey % span
        self.purchase_model_ = model
        self._clv_probs = model.monthly_purchase_probability(CLV_MONTHS, ux, utx, un)
        self._clv_buyers = np.flatnonzero(buyer)
        self._clv_inv = uinv
        self._clv_spend = pur["spend"][buyer]
        p_alive = np.zeros(len(buyer))
        p_alive[buyer] = model.p_alive(ux, utx, un)[uinv]
        n_seg = len(self.segment_names_)
        seg = self.segment_of_account_
        with np.errstate(divide="ignore", invalid="ignore"):
            self._p_alive_seg = np.bincount(seg[buyer], weights=p_alive[buyer], minlength=n_seg) \
                / np.bincount(seg[buyer], minlength=n_seg)

    def _clv_per_group(self, discount_rate: float) -> np.ndarray | None:
        """Purchase-model CLV per group per unit of gross margin: spend × discounted expected purchase months."""
        if self.purchase_model_ is None:
            return None
        if discount_rate not in self._clv_cache:
            disc = (1.0 + discount_rate) ** (-np.arange(1, CLV_MONTHS + 1) / 12.0)
            value = np.zeros(self.n_accounts_)
            value[self._clv_buyers] = self._clv_spend * (self._clv_probs @ disc)[self._clv_inv]
            self._clv_cache = {discount_rate: np.bincount(self.account_group_, weights=value,
                                                          minlength=len(self.groups_))}
        return self._clv_cache[discount_rate]

    # ------------------------------------------------------------------ evaluation core
    def _segment_rates(self, a: Assumptions, draws: int, rng: np.random.Generator | None,
                       tri: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Growth and retention per (draw, segment); history estimates with their standard errors."""
        segs = self.baseline_.segments
        n_seg = len(segs)
        d = max(draws, 1)
        g_est = segs["growth"].to_numpy(dtype=float)
        g_se = np.nan_to_num(segs["growth_se"].to_numpy(dtype=float))
        r_est = segs["retention"].to_numpy(dtype=float)
        r_se = np.nan_to_num(segs["retention_se"].to_numpy(dtype=float))
        override = np.array([a.segment_retention.get(name, np.nan) for name in self.segment_names_], dtype=float)
        if rng is None:
            g = np.where(np.isnan(g_est), a["baseline_growth"], g_est)[None, :]
            r = np.where(~np.isnan(override), override, np.where(np.isnan(r_est), a["retention"], r_est))[None, :]
            return g, r
        zg = rng.standard_normal((d, n_seg))
        zr = rng.standard_normal((d, n_seg))
        g = np.where(np.isnan(g_est)[None, :], tri["baseline_growth"][:, None], g_est[None, :] + g_se[None, :] * zg)
        r_hist = np.clip(r_est[None, :] + r_se[None, :] * zr, 0.0, 1.0)
        r = np.where(~np.isnan(override)[None, :], override[None, :],
                     np.where(np.isnan(r_est)[None, :], tri["retention"][:, None], r_hist))
        return g, r

    def _draw(self, a: Assumptions, draws: int, rng: np.random.Generator | None) -> dict[str, np.ndarray]:
        """Assumption values per draw: for uncertain ones triangular with mode = the value over
        ``Assumption.draw_range()`` (the range's relative width around the value, cut at physical bounds).
        Drawing from the fixed range instead skewed every draw away from a value set at an end of it, and a
        KPI's P10–P90 band could leave out the KPI's own value."""
        d = max(draws, 1)
        out = {}
        for name, item in a.items.items():
            lo, hi = item.draw_range() if rng is not None else (item.value, item.value)
            if hi > lo:
                out[name] = rng.triangular(lo, float(item.value), hi, d)
            else:
                out[name] = np.full(d, float(item.value))
        return out

    def _paths(self, tri: dict[str, np.ndarray], g: np.ndarray, r: np.ndarray, level: np.ndarray,
               powered: np.ndarray, seg: np.ndarray, h: np.ndarray, k: np.ndarray, months: int,
               noise: np.ndarray | None) -> tuple[np.ndarray, ...]:
        """Monthly revenue paths (draws, units, months): baseline, +coverage, +handover loss, scenario."""
        t = np.arange(1, months + 1, dtype=float)
        season = self._season_for(months)  # (segments, months)
        bs = (1.0 + g)[:, :, None] ** (t / 12.0) * season[None] * r[:, :, None] ** (t / 12.0)
        if noise is not None:
            bs = bs * noise
        bu = bs[:, seg, :]
        lag = float(tri["response_lag_months"][0])
        ramp = np.minimum(1.0, t / max(lag, 1e-9))
        base = bu * level[None, :, None]
        cov = bu * (level[None, :, None] + (powered - level[None, :])[:, :, None] * ramp)
        rec = tri["handover_recovery_months"][:, None]
        profile = np.where(t[None, :] <= 12, 1.0, np.clip(1.0 - (t[None, :] - 12.0) / rec, 0.0, 1.0))
        loss = tri["handover_loss"][:, None] * profile  # (draws, months)
        relief = 1.0 - tri["handover_match_relief"][:, None] * (k[None, :] / 2.0)  # (draws, units)
        ho = cov * (1.0 - h[None, :, None] * loss[:, None, :] * relief[:, :, None])
        surv = (1.0 - tri["handover_churn_uplift"][:, None] * h[None, :])[:, :, None] ** (t / 12.0)
        scen = ho * surv
        return base, cov, ho, scen

    def _season_for(self, months: int) -> np.ndarray:
        last = self.baseline_.last_period
        if last is None:
            return np.ones((len(self.segment_names_), months))
        cal = (last.month - 1 + np.arange(1, months + 1)) % 12
        return self.baseline_.season[:, cal]

    def _kpi_draws(self, tri, g, r, base, cov, ho, scen, level, seg, h, cts_b, cts_a, months) -> dict:
        """Revenue-type KPIs per draw from unit paths; each value is (baseline, scenario) arrays of shape (draws,)."""
        rb12 = base[:, :, :12].sum(axis=2)  # (draws, units)
        rs12 = scen[:, :, :12].sum(axis=2)
        b12, s12 = rb12.sum(axis=1), rs12.sum(axis=1)
        bh, sh = base.sum(axis=(1, 2)), scen.sum(axis=(1, 2))
        last = self.revenue_last_12m_ or np.nan
        q_b = r[:, seg]
        q_s = q_b * (1.0 - tri["handover_churn_uplift"][:, None] * h[None, :])
        wsum = level.sum() or np.nan
        gm = tri["gross_margin"][:, None]
        disc = tri["discount_rate"][:, None]
        m_b = gm * rb12 - cts_b[None, :]
        m_s = gm * rs12 - cts_a[None, :]
        clv_b = (m_b * q_b / (1.0 + disc - q_b)).sum(axis=1)
        clv_s = (m_s * q_s / (1.0 + disc - q_s)).sum(axis=1)
        # per manager of the team, not per manager who holds accounts: a plan that spreads the book over idle
        # managers does not lower revenue per manager (Maven: 19 of 35 held accounts before, 33 after)
        n_b = max(int(self.managers_["team_before"].sum()), 1)
        n_a = max(int(self.managers_["team_after"].sum()), 1)
        cov12 = (cov[:, :, :12] - base[:, :, :12]).sum(axis=(1, 2))
        ho12 = (ho[:, :, :12] - cov[:, :, :12]).sum(axis=(1, 2))
        ch12 = (scen[:, :, :12] - ho[:, :, :12]).sum(axis=(1, 2))
        zero = np.zeros_like(b12)
        return {
            "revenue_12m": (b12, s12),
            "revenue_horizon": (bh, sh),
            "revenue_growth": (b12 / last - 1.0, s12 / last - 1.0),
            "retention_rate": ((q_b * level).sum(axis=1) / wsum, (q_s * level).sum(axis=1) / wsum),
            "clv": (clv_b, clv_s),
            "gross_margin_after_cts": (gm[:, 0] * b12 - cts_b.sum(), gm[:, 0] * s12 - cts_a.sum()),
            "revenue_per_manager": (b12 / n_b, s12 / n_a),
            "revenue_at_risk": (zero, -(ho12 + ch12)),
            "delta_coverage": (zero, cov12),
            "delta_handover": (zero, ho12),
            "delta_churn": (zero, ch12),
        }

    def _cost_rates(self, a: Assumptions) -> np.ndarray:
        rate = self.managers_["cost_rate"].to_numpy(dtype=float)
        return np.where(np.isfinite(rate), rate, a["cost_per_hour"])

    # ------------------------------------------------------------------ project
    def _cell_eval(self, a: Assumptions, months: int) -> dict:
        """Deterministic evaluation on cells, plus per-group 12-month revenue (for per-manager sums).

        A group's scenario revenue is ``level·α_c + (powered − level)·β_c`` with per-cell sums ``α_c`` (paths of a
        unit level) and ``β_c`` (paths of a unit coverage change), so per-group work is a few array passes.
        """
        g_ = self._g
        cg, n_c = g_["cell"], len(self.mc_cells_)
        seg_c = self.mc_cells_["segment_code"].to_numpy()
        h_c = self.mc_cells_["handover"].to_numpy(dtype=float)
        k_c = self.mc_cells_["match"].to_numpy(dtype=float)
        rates = self._cost_rates(a)
        fi, ti = g_["from"], g_["to"]
        cts_b = g_["served_before"] * np.where(fi >= 0, rates[fi.clip(0)], 0.0)
        cts_a = g_["served_after"] * np.where(ti >= 0, rates[ti.clip(0)], 0.0)
        lc = np.log(a["effort_ratio_cap"])
        powered_g = g_["level"] * np.exp(a["elasticity"] * np.clip(g_["log_effort"], -lc, lc))
        level_c = self._level_c
        powered_c = np.bincount(cg, weights=powered_g, minlength=n_c)
        tri = self._draw(a, 0, None)
        g, r = self._segment_rates(a, 0, None, tri)
        ones, zeros = np.ones(n_c), np.zeros(n_c)
        level_u = np.concatenate([level_c, ones, zeros])
        powered_u = np.concatenate([powered_c, ones, ones])[None, :]
        base, cov, ho, scen = self._paths(tri, g, r, level_u, powered_u, np.tile(seg_c, 3), np.tile(h_c, 3),
                                          np.tile(k_c, 3), months, None)
        alpha = scen[0, n_c:2 * n_c, :12].sum(axis=1)
        beta = scen[0, 2 * n_c:, :12].sum(axis=1)
        b12 = base[0, n_c:2 * n_c, :12].sum(axis=1)
        cut = slice(0, n_c)
        clv_g = self._clv_per_group(a["discount_rate"])
        clv = None
        if clv_g is not None:
            # a group's value moves with its 12-month revenue ratio: α/b + (E^ε − 1)·β/b, whatever its level
            with np.errstate(divide="ignore", invalid="ignore"):
                ra, rb = np.where(b12 > 0, alpha / b12, 1.0), np.where(b12 > 0, beta / b12, 0.0)
            effect = np.exp(a["elasticity"] * np.clip(g_["log_effort"], -lc, lc))
            gm = a["gross_margin"]
            clv = {"baseline_g": gm * clv_g, "scenario_g": gm * clv_g * (ra[cg] + (effect - 1.0) * rb[cg])}
        return {"tri": tri, "g": g, "r": r, "base": base[:, cut], "cov": cov[:, cut], "ho": ho[:, cut],
                "scen": scen[:, cut], "level_c": level_c, "seg_c": seg_c, "h_c": h_c, "clv": clv,
                "cts_b_g": cts_b, "cts_a_g": cts_a,
                "cts_b_c": np.bincount(cg, weights=cts_b, minlength=n_c),
                "cts_a_c": np.bincount(cg, weights=cts_a, minlength=n_c),
                "base12_g": g_["level"] * b12[cg],
                "scen12_g": g_["level"] * alpha[cg] + (powered_g - g_["level"]) * beta[cg]}

    def project(self, assumptions=None, horizon_months: int | None = None, draws: int = 0,
                seed: int = 0) -> Projection:
        """Evaluate the fitted model under ``assumptions``.

        Parameters
        ----------
        assumptions : ``Assumptions``, mapping of name → value, YAML path, or None for the defaults.
        horizon_months : months projected (1..60; default 12). The 12-month KPIs always cover 12 months.
        draws : Monte Carlo draws (0 = deterministic only; ≥ 1,000 recommended for stable P10/P90).
        seed : random seed of the draws.
        """
        a = as_assumptions(assumptions)
        horizon = 12 if horizon_months is None else int(horizon_months)
        if not 1 <= horizon <= 60:
            raise ValueError(f"horizon_months must be between 1 and 60, got {horizon_months}")
        draws = int(draws)
        if draws < 0 or draws > 100_000:
            raise ValueError(f"draws must be between 0 and 100,000, got {draws}")
        months = max(horizon, 12)
        ev = self._cell_eval(a, months)
        base, cov, ho, scen = ev["base"], ev["cov"], ev["ho"], ev["scen"]
        kd = self._kpi_draws(ev["tri"], ev["g"], ev["r"], base, cov, ho, scen, ev["level_c"], ev["seg_c"],
                             ev["h_c"], ev["cts_b_c"], ev["cts_a_c"], months)
        kpis = self._static_kpis(ev["cts_b_g"], ev["cts_a_g"])
        for key, (b, s) in kd.items():
            kpis[key] = self._kpi(key, float(b[0]), float(s[0]))
        if ev["clv"] is not None:
            kpis["clv_bgbb"] = self._kpi("clv_bgbb", ev["clv"]["baseline_g"].sum(), ev["clv"]["scenario_g"].sum())
        series = pd.DataFrame({"month": np.arange(1, horizon + 1),
                               "baseline": base[0].sum(axis=0)[:horizon], "scenario": scen[0].sum(axis=0)[:horizon]})
        if self.baseline_.last_period is not None:
            series.insert(1, "period", pd.date_range(self.baseline_.last_period + pd.offsets.MonthBegin(1),
                                                     periods=horizon, freq="MS"))
        if draws > 0:
            mc = self._monte_carlo(a, draws, seed, months, ev["cts_b_c"], ev["cts_a_c"])
            for key, (sb, ss) in mc["kpis"].items():
                p10, p50, p90 = np.percentile(ss, [10, 50, 90])
                d10, d90 = np.percentile(ss - sb, [10, 90])
                kpis[key].update(p10=float(p10), p50=float(p50), p90=float(p90), delta_p10=float(d10),
                                 delta_p90=float(d90))
            for key in kpis:
                if kpis[key]["p10"] is None:  # not uncertain under the model: the band is the point value
                    v = kpis[key]["scenario"]
                    kpis[key].update(p10=v, p50=v, p90=v, delta_p10=kpis[key]["delta"],
                                     delta_p90=kpis[key]["delta"])
            q = np.percentile(mc["scenario"][:, :horizon], [10, 50, 90], axis=0)
            qb = np.percentile(mc["baseline"][:, :horizon], [10, 90], axis=0)
            series["scenario_p10"], series["scenario_p50"], series["scenario_p90"] = q
            series["baseline_p10"], series["baseline_p90"] = qb

        by_segment = self._by_segment(ev, a)
        if draws > 0:
            seg12 = mc["segments"][:, :, :12].sum(axis=2)
            for q, name in ((10, "p10"), (50, "p50"), (90, "p90")):
                by_segment[f"scenario_revenue_12m_{name}"] = np.percentile(seg12, q, axis=0)
        by_manager = self._by_manager(ev)
        used = a.values()
        used["estimated"] = self._estimated
        pm = self.purchase_model_
        params = {"horizon_months": horizon, "draws": draws, "seed": int(seed),
                  "history_months": self.baseline_.n_months,
                  "purchase_model": None if pm is None else {"model": "BG/BB", "alpha_beta_gamma_delta": pm.params_,
                                                             "converged": pm.converged_},
                  "history_cutoff": None if self.history_cutoff is None else str(self.history_cutoff),
                  # what each uncertain assumption was drawn from (mode = its value): bands are reproducible
                  "draw_ranges": a.draw_ranges() if draws > 0 else {}}
        return Projection(kpis=kpis, series=series, by_segment=by_segment, by_manager=by_manager,
                          assumptions=_jsonable(used), params=params)

    def segment_series(self, assumptions=None, months: int = 12, draws: int = 0,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
        """Scenario revenue per segment and month: deterministic (segments, months) and, with ``draws``,
        the Monte Carlo draws (draws, segments, months). Used by the backtest."""
        a = as_assumptions(assumptions)
        ev = self._cell_eval(a, months)
        det = np.zeros((len(self.segment_names_), months))
        np.add.at(det, ev["seg_c"], ev["scen"][0])
        if draws <= 0:
            return det, None
        return det, self._monte_carlo(a, int(draws), seed, months, ev["cts_b_c"], ev["cts_a_c"])["segments"]

    def account_totals(self, assumptions=None, months=(1,)) -> tuple[np.ndarray, np.ndarray]:
        """Baseline and scenario revenue per account (book order), summed over the given projection months
        (1 = the month after the last observed one). Every term is shared within a group, so an account's
        path is its level times its group's path per unit of level."""
        a = as_assumptions(assumptions)
        sel = np.asarray(months, dtype=np.int64)
        if sel.size == 0 or sel.min() < 1 or sel.max() > 120:
            raise ValueError("projection months must lie between 1 and 120")
        g_ = self._g
        level = g_["level"]
        tri = self._draw(a, 0, None)
        g, r = self._segment_rates(a, 0, None, tri)
        lc = np.log(a["effort_ratio_cap"])
        powered = (level * np.exp(a["elasticity"] * np.clip(g_["log_effort"], -lc, lc)))[None, :]
        base, _, _, scen = self._paths(tri, g, r, level, powered, g_["segment"], g_["handover"], g_["match"],
                                       int(sel.max()), None)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_b = np.where(level > 0, base[0][:, sel - 1].sum(axis=1) / level, 0.0)
            per_s = np.where(level > 0, scen[0][:, sel - 1].sum(axis=1) / level, 0.0)
        inv = self.account_group_
        return self.account_level_ * per_b[inv], self.account_level_ * per_s[inv]

    def _kpi(self, key: str, baseline: float, scenario: float) -> dict:
        label, unit = KPI_LABELS.get(key, (key, ""))
        return {"label": label, "unit": self.currency_ if unit == "currency" else unit,
                "baseline": float(baseline), "scenario": float(scenario), "delta": float(scenario - baseline),
                "p10": None, "p50": None, "p90": None}

    def _static_kpis(self, cts_b: np.ndarray, cts_a: np.ndarray) -> dict:
        """KPIs that no uncertain assumption changes: workload, coverage, moves, cost to serve."""
        # the leavers' and the unowned accounts' KPIs only where the plan has leavers / the book unowned accounts
        out = {key: self._kpi(key, b, s) for key, (b, s) in self._static.items()
               if key not in self._optional_kpis or self._optional_kpis[key]}
        out["cost_to_serve"] = self._kpi("cost_to_serve", cts_b.sum(), cts_a.sum())
        for key, (label, b, s) in self._roles.items():
            out[key] = {**self._kpi(key, b, s), "label": label, "unit": "accounts"}
        return out

    def _prepare_static(self) -> None:
        """Figures that depend on the assignment only (computed once in ``fit``)."""
        mg, g_ = self.managers_, self._g
        cap = pd.to_numeric(_col(mg, "capacity_hours", np.nan), errors="coerce").to_numpy(dtype=float)
        ok = cap > 0
        lb, la = mg["load_before"].to_numpy(), mg["load_after"].to_numpy()
        low, high = self._bands(mg, cap)
        in_b = ((lb >= low) & (lb <= high))[ok]
        in_a = ((la >= low) & (la <= high))[ok]
        need = g_["hours"].sum()
        moved, leaver, unowned = self._move_kinds()
        st = {"workload_imbalance": (gini(lb[ok] / cap[ok]), gini(la[ok] / cap[ok])),
              "managers_in_band": (in_b.mean() if len(in_b) else 0.0, in_a.mean() if len(in_a) else 0.0),
              "service_coverage": (g_["served_before"].sum() / need if need else 1.0,
                                   g_["served_after"].sum() / need if need else 1.0),
              "accounts_moved": (0.0, float(g_["accounts"][moved].sum())),
              "revenue_moved": (0.0, float(g_["revenue_last_12m"][moved].sum())),
              "accounts_from_leavers": (0.0, float(g_["accounts"][leaver].sum())),
              "unowned_assigned": (0.0, float(g_["accounts"][unowned].sum()))}
        self._static = st
        self._optional_kpis = {"accounts_from_leavers": bool(mg["leaves"].any()),
                               "unowned_assigned": bool((g_["accounts"][g_["from"] < 0]).sum() > 0)}
        role_col = _col(mg, "role").astype("string").str.strip()
        roles = role_col.where(role_col != "").to_numpy(dtype=object, na_value=None)
        fi, ti, n_acc = g_["from"], g_["to"], g_["accounts"]
        self._roles = {}
        team_b, team_a = mg["team_before"].to_numpy(dtype=bool), mg["team_after"].to_numpy(dtype=bool)
        named = sorted({r for r in roles if r is not None})
        for role in [*named, None]:  # a handful of roles; per manager of the team before / after, as above
            in_role = np.array([r == role for r in roles], dtype=bool)
            if role is None and not in_role.any():
                continue
            before = n_acc[(fi >= 0) & in_role[fi.clip(0)]].sum() / max(int((in_role & team_b).sum()), 1)
            after = n_acc[(ti >= 0) & in_role[ti.clip(0)]].sum() / max(int((in_role & team_a).sum()), 1)
            # managers without a role: the whole team when nobody has one (a CRM export rarely has roles),
            # else the rest beside the named roles; never "Accounts per no role"
            key, label = ((f"accounts_per_{_slug(role)}", f"Accounts per {role}") if role is not None
                          else ("accounts_per_manager", "Accounts per manager") if not named
                          else ("accounts_per_manager_without_role", "Accounts per manager without a role"))
            self._roles[key] = (label, float(before), float(after))
        self._bands_ = (low, high, cap)

    def _move_kinds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per group: a move as the move limit counts it (an account owned by a manager who stays gets another
        owner; the engine's ``moved_share_accounts``), an account of a leaver handed over, an unowned account
        given its first owner."""
        g_ = self._g
        fi, changed = g_["from"], g_["changed"]
        owned = fi >= 0
        leaves = self.managers_["leaves"].to_numpy(dtype=bool)
        from_leaver = owned & leaves[fi.clip(0)]
        return changed & owned & ~from_leaver, changed & from_leaver, ~owned & (g_["to"] >= 0)

    def _bands(self, mg: pd.DataFrame, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low = pd.to_numeric(_col(mg, "band_low", np.nan), errors="coerce").to_numpy(dtype=float)
        high = pd.to_numeric(_col(mg, "band_high", np.nan), errors="coerce").to_numpy(dtype=float)
        # without bands from the allocation: the mean utilisation ± the allocation's band, per capacity
        total_cap = np.nansum(cap[cap > 0])
        util = (mg["load_before"].sum() / total_cap) if total_cap else 0.0
        target = cap * util
        low = np.where(np.isfinite(low), low, target * (1 - self.band_))
        high = np.where(np.isfinite(high), high, target * (1 + self.band_))
        return low, high

    def _monte_carlo(self, a: Assumptions, draws: int, seed: int, months: int, cts_b_c: np.ndarray,
                     cts_a_c: np.ndarray) -> dict:
        """KPIs and monthly totals per draw, on (segment, moved, match) cells."""
        rng = np.random.default_rng(seed)
        tri = self._draw(a, draws, rng)
        g, r = self._segment_rates(a, draws, rng, tri)
        sigma = self.baseline_.segments["sigma"].to_numpy(dtype=float)
        n_seg = len(sigma)
        rho = self.baseline_.noise_correlation
        z = np.sqrt(rho) * rng.standard_normal((draws, 1, months)) \
            + np.sqrt(1.0 - rho) * rng.standard_normal((draws, n_seg, months))
        noise = np.exp(sigma[None, :, None] * z - sigma[None, :, None] ** 2 / 2.0)
        # float32 for the per-group response (relative error ~1e-7), float64 for the sums over groups
        level_g = self._g["level"][self.mc_order_].astype(np.float32)
        loge_g = self._g["log_effort"][self.mc_order_].astype(np.float32)
        n_g = len(level_g)
        n_c = len(self.mc_cells_)
        powered = np.empty((draws, n_c))
        clv_g = self._clv_per_group(a["discount_rate"])
        clv_sorted = clv_g[self.mc_order_].astype(np.float32) if clv_g is not None else None
        clv_powered = np.empty((draws, n_c)) if clv_g is not None else None
        chunk = max(1, _MC_CHUNK // max(n_g, 1))
        eps_all = tri["elasticity"].astype(np.float32)[:, None]
        lc_all = np.log(tri["effort_ratio_cap"]).astype(np.float32)[:, None]
        for i in range(0, draws, chunk):  # bounded memory: chunks of draws × groups
            lc = lc_all[i:i + chunk]
            e = np.clip(loge_g[None, :], -lc, lc)
            e *= eps_all[i:i + chunk]
            np.exp(e, out=e)
            powered[i:i + chunk] = np.add.reduceat(e * level_g[None, :], self.mc_starts_, axis=1, dtype=np.float64)
            if clv_sorted is not None:
                clv_powered[i:i + chunk] = np.add.reduceat(e * clv_sorted[None, :], self.mc_starts_, axis=1,
                                                           dtype=np.float64)
        seg_c = self.mc_cells_["segment_code"].to_numpy()
        h_c = self.mc_cells_["handover"].to_numpy(dtype=float)
        k_c = self.mc_cells_["match"].to_numpy(dtype=float)
        # the cells themselves, then unit paths (α: unit level, β: unit coverage change) for the CLV ratio
        ones, zeros = np.ones(n_c), np.zeros(n_c)
        level_u = np.concatenate([self._level_c, ones, zeros])
        powered_u = np.concatenate([powered, np.ones((draws, n_c)), np.ones((draws, n_c))], axis=1)
        base, cov, ho, scen = self._paths(tri, g, r, level_u, powered_u, np.tile(seg_c, 3), np.tile(h_c, 3),
                                          np.tile(k_c, 3), months, noise)
        alpha = scen[:, n_c:2 * n_c, :12].sum(axis=2)
        beta = scen[:, 2 * n_c:, :12].sum(axis=2)
        b12 = base[:, n_c:2 * n_c, :12].sum(axis=2)
        base, cov, ho, scen = base[:, :n_c], cov[:, :n_c], ho[:, :n_c], scen[:, :n_c]
        kd = self._kpi_draws(tri, g, r, base, cov, ho, scen, self._level_c, seg_c, h_c, cts_b_c, cts_a_c, months)
        if clv_g is not None:
            clv_c = np.bincount(self.mc_cell_of_group_, weights=clv_g, minlength=n_c)
            with np.errstate(divide="ignore", invalid="ignore"):
                ra, rb = np.where(b12 > 0, alpha / b12, 1.0), np.where(b12 > 0, beta / b12, 0.0)
            gm = tri["gross_margin"]
            kd["clv_bgbb"] = (gm * clv_c.sum(), gm * (ra * clv_c + (clv_powered - clv_c) * rb).sum(axis=1))
        seg_scen = np.zeros((draws, len(self.segment_names_), months))
        for s in range(len(self.segment_names_)):  # few segments: per-segment totals of the cells
            seg_scen[:, s, :] = scen[:, seg_c == s, :].sum(axis=1)
        return {"kpis": kd, "scenario": scen.sum(axis=1), "baseline": base.sum(axis=1), "segments": seg_scen}

    def _by_segment(self, ev: dict, a: Assumptions) -> pd.DataFrame:
        seg_c = ev["seg_c"]
        n_seg = len(self.segment_names_)

        def s(v):
            return np.bincount(seg_c, weights=v, minlength=n_seg)

        base, cov, ho, scen = ev["base"][0], ev["cov"][0], ev["ho"][0], ev["scen"][0]
        r = ev["r"][0]
        b12, s12 = s(base[:, :12].sum(axis=1)), s(scen[:, :12].sum(axis=1))
        last = self._seg_static["revenue_last_12m"]
        level = ev["level_c"]
        q_s = r[seg_c] * (1.0 - a["handover_churn_uplift"] * ev["h_c"])
        lev = s(level)
        gm, disc = a["gross_margin"], a["discount_rate"]
        rb12, rs12 = base[:, :12].sum(axis=1), scen[:, :12].sum(axis=1)
        cts_b, cts_a = ev["cts_b_c"], ev["cts_a_c"]
        clv_b = s((gm * rb12 - cts_b) * r[seg_c] / (1 + disc - r[seg_c]))
        clv_s = s((gm * rs12 - cts_a) * q_s / (1 + disc - q_s))
        est = self.baseline_.segments
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame({
                "segment_id": self.segment_ids_, "segment": self.segment_names_,
                "accounts": self._seg_static["accounts"],
                "revenue_last_12m": last, "baseline_revenue_12m": b12, "scenario_revenue_12m": s12,
                "delta_revenue_12m": s12 - b12,
                "growth_baseline": np.where(last > 0, b12 / last - 1, np.nan),
                "growth_scenario": np.where(last > 0, s12 / last - 1, np.nan),
                "retention_baseline": r, "retention_scenario": np.where(lev > 0, s(q_s * level) / lev, r),
                "clv_baseline": clv_b, "clv_scenario": clv_s,
                "cost_to_serve_baseline": s(cts_b), "cost_to_serve_scenario": s(cts_a),
                "gross_margin_after_cts_baseline": gm * b12 - s(cts_b),
                "gross_margin_after_cts_scenario": gm * s12 - s(cts_a),
                "coverage_gain": s((cov - base)[:, :12].sum(axis=1)),
                "handover_loss": s((ho - cov)[:, :12].sum(axis=1)),
                "churn_loss": s((scen - ho)[:, :12].sum(axis=1)),
                "accounts_moved": self._seg_static["accounts_moved"],
                "revenue_moved": self._seg_static["revenue_moved"],
                "revenue_at_risk": -s(((scen - cov)[:, :12]).sum(axis=1)),
                **self._clv_segment_columns(ev),
                "growth_estimate": est["growth"].to_numpy(), "retention_estimate": est["retention"].to_numpy(),
                "estimate_source": est["growth_source"].to_numpy(),
            })

    def _clv_segment_columns(self, ev: dict) -> dict:
        if ev["clv"] is None:
            return {}
        seg, n_seg = self._g["segment"], len(self.segment_names_)
        return {"clv_bgbb_baseline": np.bincount(seg, weights=ev["clv"]["baseline_g"], minlength=n_seg),
                "clv_bgbb_scenario": np.bincount(seg, weights=ev["clv"]["scenario_g"], minlength=n_seg),
                "p_alive": self._p_alive_seg}

    def _by_manager(self, ev: dict) -> pd.DataFrame:
        g_, n_m = self._g, len(self.managers_)
        fi, ti = g_["from"], g_["to"]
        fb, ta = fi >= 0, ti >= 0
        rb = np.bincount(fi[fb], weights=ev["base12_g"][fb], minlength=n_m)
        ra = np.bincount(ti[ta], weights=ev["scen12_g"][ta], minlength=n_m)
        return pd.DataFrame({
            **self._mgr_static, "revenue_before_12m": rb, "revenue_after_12m": ra, "revenue_delta_12m": ra - rb,
            "cost_to_serve_before": np.bincount(fi[fb], weights=ev["cts_b_g"][fb], minlength=n_m),
            "cost_to_serve_after": np.bincount(ti[ta], weights=ev["cts_a_g"][ta], minlength=n_m)}, copy=False)

    def _prepare_tables(self) -> None:
        """Per-segment and per-manager columns that depend on the assignment only."""
        g_, mg = self._g, self.managers_
        n_seg, n_m = len(self.segment_names_), len(mg)
        seg = g_["segment"]
        moved = self._move_kinds()[0]
        self._seg_static = {
            "accounts": np.bincount(seg, weights=g_["accounts"], minlength=n_seg).astype(np.int64),
            "revenue_last_12m": np.bincount(seg, weights=g_["revenue_last_12m"], minlength=n_seg),
            "accounts_moved": np.bincount(seg, weights=np.where(moved, g_["accounts"], 0), minlength=n_seg
                                          ).astype(np.int64),
            "revenue_moved": np.bincount(seg, weights=np.where(moved, g_["revenue_last_12m"], 0.0),
                                         minlength=n_seg)}
        fi, ti = g_["from"], g_["to"]
        fb, ta = fi >= 0, ti >= 0

        def by(idx, mask, v):
            return np.bincount(idx[mask], weights=np.asarray(v, dtype=float)[mask], minlength=n_m)

        acc = g_["accounts"]
        moved = g_["changed"]  # per manager every owner change, so before − out + in = after
        low, high, cap = self._bands_
        lb, la = mg["load_before"].to_numpy(), mg["load_after"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            self._mgr_static = dict({
                "manager_id": mg["manager_id"].to_numpy(), "name": _col(mg, "name").to_numpy(),
                "role": _col(mg, "role").to_numpy(), "capacity_hours": cap,
                "accounts_before": by(fi, fb, acc).astype(np.int64), "accounts_after": by(ti, ta, acc).astype(np.int64),
                "moved_out": by(fi, fb & moved, acc).astype(np.int64),
                "moved_in": by(ti, ta & moved, acc).astype(np.int64),
                "hours_before": lb, "hours_after": la,
                "utilisation_before": np.where(cap > 0, lb / cap, np.nan),
                "utilisation_after": np.where(cap > 0, la / cap, np.nan),
                "in_band_before": (lb >= low) & (lb <= high), "in_band_after": (la >= low) & (la <= high)})


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        f = float(v)
        return None if f != f else f
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def project(book: AccountBook, segmentation: Segmentation, assignment: Assignment, assumptions=None,
            horizon_months: int | None = 12, draws: int = 0, seed: int = 0) -> Projection:
    """Project KPIs baseline vs scenario for ``assignment`` (see the module docstring for the model).

    Parameters
    ----------
    book : the account book (history optional).
    segmentation : segment per account.
    assignment : owners before/after with hours per account, and per-manager loads.
    assumptions : ``Assumptions``, a mapping of name → value, a YAML path, or None for the defaults.
    horizon_months : months projected (1..60).
    draws : Monte Carlo draws (0 → no P10/P50/P90).
    seed : random seed of the draws.

    Returns
    -------
    Projection with ``kpis`` (see ``KPI_LABELS``), monthly ``series``, ``by_segment``, ``by_manager``.
    """
    return KpiModel().fit(book, segmentation, assignment).project(assumptions, horizon_months, draws, seed)

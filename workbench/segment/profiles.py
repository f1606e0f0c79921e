"""Segment profiles, business names and the coverage model (who serves a segment, at what ratio) with its
capacity gap against the current team.

Profiles are group-bys over the labels; names come from where a segment's median account sits in the book's
value, need and untapped-potential distributions. The serving role comes from practice by tier; the hours per
account from the book's own service need (practice ratios when the book has none), flagged when outside the
practice range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ROLES", "TIERS", "COVERAGE_PRACTICE", "DEFAULT_CAPACITY_HOURS", "build_profiles", "auto_names",
           "apply_names", "default_coverage", "apply_coverage", "capacity_gap"]

#: Manager roles as the books and the allocation step spell them.
ROLES = ("Key Account Manager", "Account Manager", "Inside Sales")

#: Business tiers a segment is named after, from the highest to the lowest value.
TIERS = ("Strategic", "Grow", "Maintain", "Long tail")

#: Coverage by tier: serving role, default accounts per manager (books without service need) and practice range.
#: Source: coverage ratios seen in practice — strategic/global account manager 1–8 accounts, named account
#: manager 5–20, territory rep up to ~100, inside/pooled coverage several hundred (see DESIGN.md).
COVERAGE_PRACTICE: dict[str, dict] = {
    "Strategic": {"role": "Key Account Manager", "accounts_per_manager": 6, "range": (1, 8)},
    "Grow": {"role": "Account Manager", "accounts_per_manager": 15, "range": (5, 20)},
    "Maintain": {"role": "Account Manager", "accounts_per_manager": 80, "range": (20, 100)},
    "Long tail": {"role": "Inside Sales", "accounts_per_manager": 300, "range": (100, 500)},
}

#: Account hours per manager per year when a book gives no capacity for a role (≈ 1,500 h of account time).
DEFAULT_CAPACITY_HOURS = 1500.0

# Where a segment's median account sits in the book (percentile) decides the words used in its name.
_STRATEGIC_VALUE = 0.80
_LONG_TAIL_VALUE = 0.35
_GROW_WHITESPACE = 0.60
_HIGH, _LOW = 0.60, 0.40

_PROFILE_FEATURES = ("revenue_12m", "potential", "service_need")


def _level(p: float) -> str:
    return "high" if p >= _HIGH else "low" if p < _LOW else "mid"


def _percentile_of(values: np.ndarray, points: np.ndarray, max_sample: int = 200_000) -> np.ndarray:
    """Share of the book's values below each point (a strided sample keeps it fast and deterministic)."""
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return np.full(len(points), 0.5)
    if len(v) > max_sample:
        v = v[:: len(v) // max_sample + 1]
    v = np.sort(v)
    lo = np.searchsorted(v, points, side="left")
    hi = np.searchsorted(v, points, side="right")
    return (lo + hi) / 2 / len(v)


def _top_values(keys: np.ndarray, labels: np.ndarray, k: int, n_top: int = 3) -> list[str]:
    """'Retail 40 %, Food 22 %, ...' per segment, from one group-by of (segment, value) counts."""
    s = pd.Series(keys, dtype="string")
    if s.isna().all():
        return [""] * k
    counts = (pd.DataFrame({"segment_id": labels, "value": s}).dropna()
              .groupby(["segment_id", "value"], observed=True).size().rename("n").reset_index())
    counts["share"] = counts["n"] / counts.groupby("segment_id")["n"].transform("sum")
    counts = counts.sort_values(["segment_id", "n", "value"], ascending=[True, False, True], kind="stable")
    counts = counts.groupby("segment_id").head(n_top)
    counts["text"] = counts["value"] + " " + (100 * counts["share"]).round().astype(int).astype(str) + " %"
    joined = counts.groupby("segment_id")["text"].agg(", ".join)
    return [joined.get(i, "") for i in range(k)]


def build_profiles(accounts: pd.DataFrame, labels: np.ndarray, k: int,
                   raw: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per segment: counts, revenue share, feature means/medians, value/need/potential percentiles,
    tier and top industries/regions.

    Parameters
    ----------
    accounts : canonical accounts table (row order matches ``labels``).
    labels : segment id per account (0..k-1).
    k : number of segments (segments without accounts get a row with ``n_accounts = 0``).
    raw : extra raw feature values (e.g. growth) to profile besides revenue, potential and service need.
    """
    n = len(accounts)
    cols: dict[str, np.ndarray] = {}
    for c in _PROFILE_FEATURES:
        if c in accounts.columns:
            cols[c] = pd.to_numeric(accounts[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    for name, values in (raw or {}).items():
        if name not in ("revenue", "potential", "service_need"):
            cols[name] = values
    frame = pd.DataFrame(cols)
    frame["segment_id"] = labels
    g = frame.groupby("segment_id")
    prof = pd.DataFrame(index=pd.RangeIndex(k, name="segment_id"))
    prof["n_accounts"] = g.size().reindex(prof.index, fill_value=0).astype("int64")
    prof["account_share"] = prof["n_accounts"] / max(n, 1)
    rev = g["revenue_12m"].sum().reindex(prof.index, fill_value=0.0)
    total = float(np.nansum(cols["revenue_12m"]))
    prof["revenue_12m"] = rev
    prof["revenue_share"] = rev / total if total > 0 else 0.0
    for c in cols:
        prof[f"{c}_mean"] = g[c].mean().reindex(prof.index)
        prof[f"{c}_median"] = g[c].median().reindex(prof.index)
    prof["value_pct"] = _percentile_of(cols["revenue_12m"], prof["revenue_12m_median"].to_numpy())
    need = cols.get("service_need")
    # Without service need in the book a segment's need is unknown (NaN), not "mid": names leave it out.
    prof["need_pct"] = (_percentile_of(need, prof["service_need_median"].to_numpy())
                        if need is not None and np.isfinite(need).any() else np.nan)
    pot = cols.get("potential")
    if pot is not None and np.isfinite(pot).any():
        ws = np.clip(pot - cols["revenue_12m"], 0, None)
        ws_med = pd.Series(ws).groupby(labels).median().reindex(prof.index).to_numpy()
        prof["whitespace_pct"] = _percentile_of(ws, ws_med)
    else:
        prof["whitespace_pct"] = np.nan
    order = np.argsort(-prof["revenue_12m_mean"].fillna(-1).to_numpy(), kind="stable")
    tiers = np.empty(k, dtype=object)
    tiers[order] = _tiers(prof["value_pct"].to_numpy()[order], prof["whitespace_pct"].to_numpy()[order])
    prof["tier"] = tiers
    for col, out in (("industry", "top_industries"), ("region", "top_regions")):
        prof[out] = _top_values(accounts[col].to_numpy(dtype=object), labels, k) if col in accounts else ""
    return prof.reset_index()


def _tiers(value_pct: np.ndarray, whitespace_pct: np.ndarray) -> list[str]:
    """Tier per segment (segments ordered by value, highest first).

    The highest-value segment is Strategic when its median account is in the top 40 % of the book; other
    segments are Strategic only from the top 20 %, unless their untapped potential is high (then Grow);
    below the 35th percentile is the Long tail; between, high untapped potential means Grow, else Maintain.
    """
    out = []
    for i, (v, ws) in enumerate(zip(value_pct, whitespace_pct)):
        high_ws = bool(np.isfinite(ws) and ws >= _GROW_WHITESPACE)
        if not np.isfinite(v) or v < _LONG_TAIL_VALUE:
            out.append("Long tail")
        elif (i == 0 and v >= _HIGH) or (v >= _STRATEGIC_VALUE and not high_ws):
            out.append("Strategic")
        elif high_ws:
            out.append("Grow")
        else:
            out.append("Maintain")
    return out


def auto_names(profiles: pd.DataFrame, method: str, model: dict | None = None) -> list[str]:
    """Business names per segment, derived from the profile; unique (see ``_disambiguate``).

    Clusters are named after their tier with the value/need words ("Strategic – high value, high need",
    "Grow – mid value, high potential", "Maintain – mid value, low need", "Long tail – low value, low need");
    the need words are left out when the book has no service need. ABC tiers and value × need cells carry the
    rule that defines them.
    """
    k = len(profiles)
    if method == "abc" and model is not None:
        cuts = [0.0] + [float(c) for c in model["params"]["abc_cuts"]] + [1.0]
        letters = "ABCDEFGHIJ"
        names = [f"{letters[i]} – {'top' if i == 0 else 'next'} {cuts[i + 1] - cuts[i]:.0%} of revenue"
                 for i in range(k)]
        names[-1] = f"{letters[k - 1]} – long tail ({cuts[-1] - cuts[-2]:.0%} of revenue)"
    elif method == "value-need" and model is not None:
        g = len(model["value_cuts"]) + 1
        words = ["High", "Low"] if g == 2 else ["High", "Mid", "Low"]
        names = [f"{words[i // g]} value · {words[i % g].lower()} need" for i in range(k)]
    else:
        names = []
        for r in profiles.itertuples():
            need = f", {_level(r.need_pct)} need" if np.isfinite(r.need_pct) else ""
            if r.tier == "Strategic":
                names.append(f"Strategic – high value{need}")
            elif r.tier == "Grow":
                names.append(f"Grow – {_level(r.value_pct)} value, high potential")
            elif r.tier == "Maintain":
                names.append(f"Maintain – mid value{need}")
            else:
                names.append(f"Long tail – low value{need}")
    return _disambiguate(names, profiles)


_DIMENSIONS = (("value_pct", "value"), ("need_pct", "need"), ("whitespace_pct", "potential"))


def _disambiguate(names: list[str], profiles: pd.DataFrame) -> list[str]:
    """Segments that got the same name are told apart.

    Two of them by a profile dimension the name does not already state, the one they differ most on
    ("…, lower potential" / "…, higher potential") — never by value, or by need where the name gives a need
    level, which would contradict the head ("high value, …, lower value"). Otherwise (more than two, or no
    clear difference) the tier word is numbered in segment order, that is by value, highest first
    ("Strategic 1 – high value", "Strategic 2 – high value"), so the word that tells them apart comes first
    and survives a truncated label.
    """
    out = list(names)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name, []).append(i)
    for name, members in groups.items():
        if len(members) < 2:
            continue
        if len(members) == 2:
            spreads = []
            for col, word in _DIMENSIONS:
                if word in name:  # the name already states this dimension
                    continue
                if col in profiles.columns:
                    v = profiles[col].to_numpy(dtype=float)[members]
                    if np.isfinite(v).all():
                        spreads.append((abs(v[0] - v[1]), col, word))
            if spreads:
                spread, col, word = max(spreads)
                if spread >= 0.05:
                    v = profiles[col].to_numpy(dtype=float)[members]
                    lo, hi = (members if v[0] <= v[1] else members[::-1])
                    out[lo], out[hi] = f"{name}, lower {word}", f"{name}, higher {word}"
                    continue
        head, sep, tail = name.partition(" – ")
        for rank, i in enumerate(members, start=1):
            out[i] = f"{head} {rank}{sep}{tail}" if sep else f"{name} ({rank})"
    seen: dict[str, int] = {}
    for i, name in enumerate(out):  # a disambiguated name may still collide with another segment's name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            out[i] = f"{name} ({seen[name]})"
    return out


def apply_names(auto: list[str], names: dict | None) -> list[str]:
    """Auto names overlaid with the user's ``names`` (segment id → name; keys may be strings from JSON).

    Raises
    ------
    ValueError : an unknown segment id, an empty name or two segments with the same name.
    """
    out = list(auto)
    for key, value in (names or {}).items():
        try:
            i = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"segment names are keyed by segment id (0..{len(out) - 1}), got {key!r}") from None
        if not 0 <= i < len(out):
            raise ValueError(f"there is no segment {i} to rename (segments are 0..{len(out) - 1})")
        text = str(value).strip()
        if not text:
            raise ValueError(f"the name of segment {i} is empty")
        out[i] = text
    dup = sorted({n for n in out if out.count(n) > 1})
    if dup:
        raise ValueError(f"two segments cannot share the name {dup[0]!r}")
    return out


def _reference_hours(managers: pd.DataFrame | None) -> dict[str, float]:
    """Median capacity (hours/year) of one manager per role; the book-wide median for roles nobody holds."""
    if managers is None or len(managers) == 0 or "capacity_hours" not in managers:
        return dict.fromkeys(ROLES, DEFAULT_CAPACITY_HOURS)
    cap = pd.to_numeric(managers["capacity_hours"], errors="coerce")
    overall = float(cap.median()) if cap.notna().any() else DEFAULT_CAPACITY_HOURS
    by_role = cap.groupby(managers["role"].astype("string")).median() if "role" in managers else pd.Series()
    out = {r: float(by_role.get(r, overall)) for r in ROLES}
    for r, v in by_role.items():
        out.setdefault(str(r), float(v))
    return out


def default_coverage(profiles: pd.DataFrame, names: list[str], managers: pd.DataFrame | None) -> pd.DataFrame:
    """The coverage model per segment: the serving role by tier, from practice; the ratio from the book.

    Hours per account default to the segment's mean ``service_need`` (the book's own measure of what its
    accounts need), so the plan the allocation builds matches the work there is; accounts per manager follow
    as the role's capacity ÷ those hours. Without service need in the book the practice default ratio of the
    tier is used. The practice range is kept beside (``practice_range``) and ``outside_practice`` flags a
    ratio outside it — for example a "strategic" segment whose accounts need so little that one manager
    would hold 15 of them.
    """
    ref = _reference_hours(managers)
    rows = []
    for r, name in zip(profiles.itertuples(), names):
        practice = COVERAGE_PRACTICE[r.tier]
        role = practice["role"]
        need = getattr(r, "service_need_mean", np.nan)
        if need is not None and np.isfinite(need) and need > 0:
            apm = float(ref[role] / need)
        else:
            apm = float(practice["accounts_per_manager"])
        rows.append({"segment_id": int(r.segment_id), "segment": name, "tier": r.tier, "role": role,
                     "accounts_per_manager": apm})
    cov = pd.DataFrame(rows)
    return _complete_coverage(cov, profiles, ref)


def _complete_coverage(cov: pd.DataFrame, profiles: pd.DataFrame, ref: dict[str, float]) -> pd.DataFrame:
    cov = cov.copy()
    cov["reference_hours"] = [ref.get(r, DEFAULT_CAPACITY_HOURS) for r in cov["role"]]
    cov["hours_per_account"] = cov["reference_hours"] / cov["accounts_per_manager"]
    n = profiles.set_index("segment_id")["n_accounts"].reindex(cov["segment_id"]).to_numpy()
    cov["n_accounts"] = n.astype("int64")
    cov["hours_needed"] = cov["n_accounts"] * cov["hours_per_account"]
    cov["headcount_needed"] = cov["hours_needed"] / cov["reference_hours"]
    lo = cov["tier"].map(lambda t: COVERAGE_PRACTICE.get(t, {}).get("range", (np.nan, np.nan))[0])
    hi = cov["tier"].map(lambda t: COVERAGE_PRACTICE.get(t, {}).get("range", (np.nan, np.nan))[1])
    cov["practice_range"] = [f"{a:g}–{b:g}" for a, b in zip(lo, hi)]
    cov["outside_practice"] = ~cov["accounts_per_manager"].between(lo, hi)
    return cov[["segment_id", "segment", "tier", "role", "accounts_per_manager", "hours_per_account",
                "reference_hours", "n_accounts", "hours_needed", "headcount_needed", "practice_range",
                "outside_practice"]]


def apply_coverage(coverage: pd.DataFrame, profiles: pd.DataFrame, managers: pd.DataFrame | None,
                   overrides: dict | None) -> pd.DataFrame:
    """The coverage model with the user's edits: ``{segment_id: {"role", "accounts_per_manager" or
    "hours_per_account"}}``. Ratio and hours stay consistent through the role's reference capacity (hours per
    account = capacity ÷ accounts per manager).

    Raises
    ------
    ValueError : an unknown segment, role or a ratio that is not a positive number.
    """
    if not overrides:
        return coverage
    ref = _reference_hours(managers)
    cov = coverage.copy().set_index("segment_id")
    for key, edit in overrides.items():
        try:
            i = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"coverage edits are keyed by segment id, got {key!r}") from None
        if i not in cov.index:
            raise ValueError(f"there is no segment {i} in the coverage model")
        edit = dict(edit or {})
        unknown = set(edit) - {"role", "accounts_per_manager", "hours_per_account"}
        if unknown:
            raise ValueError(f"unknown coverage setting(s) {', '.join(sorted(unknown))} for segment {i}")
        if "role" in edit:
            role = str(edit["role"]).strip()
            if not role:
                raise ValueError(f"the serving role of segment {i} is empty")
            cov.loc[i, "role"] = role
        role_hours = ref.get(cov.loc[i, "role"], DEFAULT_CAPACITY_HOURS)
        for field in ("accounts_per_manager", "hours_per_account"):
            if field in edit and edit[field] is not None:
                try:
                    v = float(edit[field])
                except (TypeError, ValueError):
                    raise ValueError(f"{field} of segment {i} must be a number, got {edit[field]!r}") from None
                if not np.isfinite(v) or v <= 0:
                    raise ValueError(f"{field} of segment {i} must be a positive number, got {edit[field]!r}")
                cov.loc[i, "accounts_per_manager"] = v if field == "accounts_per_manager" else role_hours / v
    return _complete_coverage(cov.reset_index(), profiles, ref)


#: the capacity-gap row of a team without roles (every manager may serve every segment)
ANY_ROLE = "any role (the team has no roles)"


def capacity_gap(coverage: pd.DataFrame, managers: pd.DataFrame | None) -> pd.DataFrame:
    """Hours and headcount each role needs under the coverage model vs the current team.

    Returns one row per role (the coverage roles first, then any other role the team has; one row, ``ANY_ROLE``,
    when no manager has a role): ``role``,
    ``accounts``, ``hours_needed`` and ``hours_available`` (hours/year), ``hours_gap`` (needed − available;
    positive = shortfall), ``headcount_needed`` (FTE), ``headcount_current``, ``headcount_gap`` (FTE).
    """
    need = coverage.groupby("role", sort=False).agg(accounts=("n_accounts", "sum"),
                                                    hours_needed=("hours_needed", "sum"),
                                                    headcount_needed=("headcount_needed", "sum"))
    roleless = managers is not None and len(managers) and (
        "role" not in managers or managers["role"].isna().all())
    if roleless:
        # a team without roles (Maven's agents, a Salesforce user list) serves every segment, as the
        # reallocation treats it: one row for the whole team, not "Key Account Manager: 0 now" beside "(no role)"
        need = need.sum().to_frame(ANY_ROLE).T.rename_axis("role")
        managers = managers.assign(role=ANY_ROLE)
    if managers is not None and len(managers) and "role" in managers:
        role = managers["role"].astype("string").fillna("(no role)")
        cap = pd.to_numeric(managers["capacity_hours"], errors="coerce").fillna(0.0)
        have = pd.DataFrame({"role": role, "cap": cap}).groupby("role").agg(
            hours_available=("cap", "sum"), headcount_current=("cap", "size"))
    else:
        have = pd.DataFrame(columns=["hours_available", "headcount_current"])
    order = list(dict.fromkeys([r for r in ROLES if r in need.index] + list(need.index) + list(have.index)))
    out = pd.DataFrame(index=pd.Index(order, name="role"))
    out = out.join(need).join(have)
    for c in ("accounts", "hours_needed", "headcount_needed", "hours_available", "headcount_current"):
        out[c] = pd.to_numeric(out[c], errors="coerce").fillna(0.0)
    out["accounts"] = out["accounts"].astype("int64")
    out["headcount_current"] = out["headcount_current"].astype("int64")
    out["hours_gap"] = out["hours_needed"] - out["hours_available"]
    out["headcount_gap"] = out["headcount_needed"] - out["headcount_current"]
    return out.reset_index()[["role", "accounts", "hours_needed", "hours_available", "hours_gap",
                              "headcount_needed", "headcount_current", "headcount_gap"]]

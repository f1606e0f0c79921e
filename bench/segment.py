"""Benchmark of workbench.segment on a large book: fit + labels, k="auto", the whole segment() call, and the
quality/speed of our k-means against scikit-learn ``KMeans(n_init=10)`` on the same scaled features.

The book is drawn with numpy following the tier process documented in ``workbench.sampledata`` (shares
3/15/34/48 %, log-normal revenue around 1.4M/140k/45k/4.5k EUR, potential = revenue × tier multiplier, service
need ∝ revenue^0.3 around 170/55/18/3.5 h, 4 % churned accounts with zero revenue) — generating 1M accounts
with monthly history through the generator itself takes minutes, which is not what is measured here.

Run: ``.venv/bin/python bench/segment.py --accounts 1000000``. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd

from workbench.book import AccountBook
from workbench.segment import AccountSegmenter, segment
from workbench.segment.cluster import cluster_scores, kmeans_fit

_TIERS = {  # share, revenue median (EUR/yr), log-sd, potential multiplier range, need median (h/yr)
    "Strategic": (0.03, 1_400_000, 0.55, (1.1, 1.5), 170),
    "Grow": (0.15, 140_000, 0.60, (1.8, 4.0), 55),
    "Maintain": (0.34, 45_000, 0.55, (1.0, 1.25), 18),
    "Long tail": (0.48, 4_500, 0.90, (1.0, 1.6), 3.5),
}


def synthetic_book(n: int, seed: int = 0) -> tuple[AccountBook, np.ndarray]:
    """A canonical book of ``n`` accounts with planted tiers (returned as the second value)."""
    rng = np.random.default_rng(seed)
    names = list(_TIERS)
    tier = rng.choice(len(names), n, p=[_TIERS[t][0] for t in names])
    med = np.array([_TIERS[t][1] for t in names], dtype=float)[tier]
    sd = np.array([_TIERS[t][2] for t in names])[tier]
    lo = np.array([_TIERS[t][3][0] for t in names])[tier]
    hi = np.array([_TIERS[t][3][1] for t in names])[tier]
    need_med = np.array([_TIERS[t][4] for t in names], dtype=float)[tier]
    revenue = med * np.exp(rng.normal(0, 1, n) * sd)
    potential = np.round(revenue * rng.uniform(lo, hi), -2)
    need = np.round(need_med * (revenue / med) ** 0.3 * np.exp(rng.normal(0, 0.3, n)), 1)
    revenue = np.where(rng.random(n) < 0.04, 0.0, np.round(revenue, 2))
    industries = np.array(["Maschinenbau", "Großhandel", "IT-Dienstleistungen", "Bau", "Logistik", "Handel"])
    regions = np.array(["Bayern", "Nordrhein-Westfalen", "Baden-Württemberg", "Hessen", "Berlin", "Wien"])
    accounts = pd.DataFrame({
        "account_id": pd.array(np.char.add("A", np.arange(n).astype(str)), dtype="string"),
        "name": "Account", "industry": industries[rng.integers(0, len(industries), n)],
        "region": regions[rng.integers(0, len(regions), n)], "revenue_12m": revenue, "potential": potential,
        "service_need": need})
    m = max(n // 500, 3)
    roles = np.array(["Key Account Manager", "Account Manager", "Inside Sales"])
    managers = pd.DataFrame({"manager_id": [f"M{i}" for i in range(m)], "name": "Manager",
                             "role": roles[rng.choice(3, m, p=[0.2, 0.5, 0.3])],
                             "capacity_hours": rng.uniform(1300, 1600, m).round()})
    return AccountBook(accounts=accounts, managers=managers), tier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of our fit (the best is reported)")
    args = ap.parse_args()
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    book, tier = synthetic_book(args.accounts, args.seed)
    n = book.n_accounts
    print(f"book: {n:,} accounts, {len(book.managers):,} managers, k = {args.k}")

    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall times on a shared machine inflate; CPU seconds of this process are printed beside them)")
    AccountSegmenter(k=args.k).fit(book.accounts.head(2_000))  # warm-up: imports and first-call overheads
    fit_times, fit_cpu = [], []
    for _ in range(max(args.repeat, 1)):
        t, c = time.perf_counter(), time.process_time()
        model = AccountSegmenter(k=args.k, seed=args.seed).fit(book.accounts)
        labels = model.labels_
        fit_times.append(time.perf_counter() - t)
        fit_cpu.append(time.process_time() - c)
    fit_s = min(fit_times)
    print(f"fit + labels (features, scaling, k-means, CH/DB scores), k={args.k}: {fit_s:.2f} s wall, "
          f"{min(fit_cpu):.2f} s CPU (runs: {', '.join(f'{s:.2f}' for s in fit_times)})")

    t, c = time.perf_counter(), time.process_time()
    auto = AccountSegmenter(k="auto", seed=args.seed).fit(book.accounts)
    auto_s, auto_cpu = time.perf_counter() - t, time.process_time() - c
    print(f"k='auto' (k = 2..10, CH + DB on all rows, silhouette on a 5k sample): {auto_s:.2f} s wall, "
          f"{auto_cpu:.2f} s CPU, chose k = {auto.k_}")

    t, c = time.perf_counter(), time.process_time()
    seg = segment(book, k=args.k, seed=args.seed)
    seg_s, seg_cpu = time.perf_counter() - t, time.process_time() - c
    print(f"segment() with profiles, names, coverage, stability ({len(seg.quality['stability_runs'])} refits): "
          f"{seg_s:.2f} s wall, {seg_cpu:.2f} s CPU; stability ARI {seg.quality['stability']:.3f}")
    ari_truth = float(adjusted_rand_score(tier, labels))
    print(f"ARI vs planted tiers (k={args.k}): {ari_truth:.3f}")

    # Quality vs speed on the same scaled matrix: our k-means core vs scikit-learn with 10 restarts.
    T = np.column_stack([np.log1p(np.clip(book.accounts[c].to_numpy(dtype=float), 0, None))
                         for c in ("revenue_12m", "potential", "service_need")])
    X = model.scaler_.transform(T)
    t, c = time.perf_counter(), time.process_time()
    _, our_labels, _ = kmeans_fit(X, args.k, seed=args.seed)
    ours_s, ours_cpu = time.perf_counter() - t, time.process_time() - c
    ours_inertia = cluster_scores(X, our_labels, args.k)["inertia"]
    t, c = time.perf_counter(), time.process_time()
    ref = KMeans(n_clusters=args.k, n_init=10, random_state=args.seed).fit(np.ascontiguousarray(X))
    sk_s, sk_cpu = time.perf_counter() - t, time.process_time() - c
    sk_inertia = cluster_scores(X, ref.labels_, args.k)["inertia"]
    gap = ours_inertia / sk_inertia - 1
    print(f"k-means core: ours {ours_s:.2f} s wall / {ours_cpu:.2f} s CPU, inertia {ours_inertia:,.1f}; "
          f"scikit-learn KMeans(n_init=10) {sk_s:.2f} s wall / {sk_cpu:.2f} s CPU, inertia {sk_inertia:,.1f}; "
          f"inertia gap {gap:+.3%}, time {ours_s / sk_s:.0%} of theirs (wall)")
    print(json.dumps({"stage": "segment", "accounts": n, "seconds": round(fit_s, 3),
                      "cpu_seconds": round(min(fit_cpu), 3), "k": args.k,
                      "auto_seconds": round(auto_s, 3), "auto_cpu_seconds": round(auto_cpu, 3),
                      "auto_k": int(auto.k_), "segment_seconds": round(seg_s, 3),
                      "segment_cpu_seconds": round(seg_cpu, 3), "load_average": round(os.getloadavg()[0], 2), "stability_ari": seg.quality["stability"],
                      "ari_vs_planted": round(ari_truth, 4),
                      "kmeans_seconds": round(ours_s, 3), "kmeans_cpu_seconds": round(ours_cpu, 3),
                      "inertia": ours_inertia,
                      "baseline": "sklearn KMeans(n_init=10)", "baseline_seconds": round(sk_s, 3),
                      "baseline_cpu_seconds": round(sk_cpu, 3),
                      "baseline_inertia": sk_inertia, "inertia_gap": gap,
                      "time_share_of_baseline": round(ours_s / sk_s, 4)}))


if __name__ == "__main__":
    main()

"""Clustering kernels for large books: sample-initialised k-means with full-data Lloyd passes, cluster scores.

Why not plain scikit-learn ``KMeans(n_init=10)`` on every row: at 1M accounts it takes several seconds. Fitting
k-means++ with restarts on a sample finds the basin; a few Lloyd iterations over all rows in float32 then land
within a fraction of a percent of its inertia (``bench/segment.py`` measures both). Calinski–Harabasz and
Davies–Bouldin are computed from labels with ``bincount`` on all rows; silhouette needs all pairwise distances,
so it runs on a sample, for all candidate k in one pass over the distance matrix.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kmeans_fit", "lloyd", "nearest", "cluster_scores", "silhouette_many", "gmm_log_prob", "single_thread",
           "distinct_rows"]

_CHUNK = 65_536  # rows per block: the per-column temporaries stay in cache


def single_thread():
    """Run scikit-learn's OpenMP loops on one thread.

    On small samples its busy-waiting OpenMP threads gain nothing, and on a shared 2-core machine under load
    they were measured 15× slower (k-means with 10 restarts on 20k rows: 9.2 s vs 0.5 s single-threaded).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def distinct_rows(X: np.ndarray) -> int:
    """Number of distinct rows of ``X``.

    A clustering asked for more clusters than there are distinct points cannot find them (scikit-learn warns and
    returns duplicate centres); callers cap the number of clusters with this.
    """
    if len(X) == 0:
        return 0
    C = np.ascontiguousarray(X)
    C = C + 0.0  # -0.0 and 0.0 are the same point but not the same bytes
    return int(len(np.unique(C.view(np.dtype((np.void, C.dtype.itemsize * C.shape[1]))))))


def nearest(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre per row and the squared distance to it (float64).

    Distances are accumulated column by column (``X`` is best Fortran-ordered, as ``RobustScaler`` makes it):
    with a handful of features a BLAS product is starved and was measured ~10× slower than these
    elementwise passes, and the exact difference form needs no ``|x|² − 2x·c + |c|²`` cancellation.

    Parameters
    ----------
    X : n × d float32 features.
    centers : k × d centres.
    """
    n, d = X.shape
    C = np.asarray(centers, dtype=np.float32)
    k = len(C)
    labels = np.empty(n, dtype=np.int64)
    d2 = np.empty(n, dtype=np.float64)
    for s in range(0, n, _CHUNK):
        e = min(s + _CHUNK, n)
        cols = [X[s:e, j] for j in range(d)]
        best = np.full(e - s, np.inf, dtype=np.float32)
        lab = np.zeros(e - s, dtype=np.int64)
        tmp = np.empty(e - s, dtype=np.float32)
        for c in range(k):  # k ≤ a few dozen and d small: loops over centres and features, never over rows
            acc = np.zeros(e - s, dtype=np.float32)
            for j in range(d):
                np.subtract(cols[j], C[c, j], out=tmp)
                np.multiply(tmp, tmp, out=tmp)
                acc += tmp
            closer = acc < best
            lab[closer] = c
            np.minimum(best, acc, out=best)
        labels[s:e] = lab
        d2[s:e] = best
    return labels, d2


def _centroids(X: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.stack([np.bincount(labels, weights=X[:, j], minlength=k) for j in range(X.shape[1])], axis=1)
    return sums, counts


def lloyd(X: np.ndarray, centers: np.ndarray, max_iter: int = 50, tol: float = 1e-5
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Lloyd iterations on all rows from ``centers`` until the inertia improves by less than ``tol`` (relative).

    An empty cluster is re-seeded at the row farthest from its centre (deterministic).

    Returns
    -------
    centers, labels, squared distances (per row), iterations run.
    """
    C = centers.astype(np.float64).copy()
    k = len(C)
    labels, d2 = nearest(X, C)
    prev = d2.sum()
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        sums, counts = _centroids(X, labels, k)
        empty = counts == 0
        if empty.any():
            far = np.argsort(-d2, kind="stable")[: int(empty.sum())]
            sums[empty] = X[far]
            counts[empty] = 1.0
        C = sums / counts[:, None]
        labels, d2 = nearest(X, C)
        cur = d2.sum()
        if prev - cur <= tol * max(cur, 1e-12):
            break
        prev = cur
    return C, labels, d2, it


def kmeans_fit(X: np.ndarray, k: int, seed: int = 0, sample_size: int = 10_000, n_init: int = 10,
               max_iter: int = 50, tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means: k-means++ with ``n_init`` restarts on a random sample, then Lloyd on all rows.

    Parameters
    ----------
    X : n × d float32 scaled features.
    k : number of clusters; fewer when the sample has fewer distinct rows than ``k`` (the result then has as
        many centres as there are distinct rows).
    seed : random seed for the sample and the initialisation.
    sample_size : rows the restarts run on (all rows when the book is smaller).
    n_init : k-means++ restarts on the sample.
    max_iter, tol : Lloyd stopping rule on all rows (relative inertia improvement).

    Returns
    -------
    centers (k' × d float64, k' = min(k, distinct sample rows)), labels (n int64), squared distance of each row to its centre (n float64).
    """
    from sklearn.cluster import KMeans

    n = len(X)
    rng = np.random.default_rng(seed)
    S = X if n <= sample_size else X[np.sort(rng.choice(n, sample_size, replace=False))]
    k = min(k, distinct_rows(S))
    with single_thread():
        km = KMeans(n_clusters=k, n_init=n_init, random_state=seed, max_iter=300).fit(S)
    C, labels, d2, _ = lloyd(X, km.cluster_centers_, max_iter=max_iter, tol=tol)
    return C, labels, d2


def cluster_scores(X: np.ndarray, labels: np.ndarray, k: int) -> dict:
    """Inertia, Calinski–Harabasz and Davies–Bouldin of ``labels`` on all rows (vectorised; same definitions as
    scikit-learn's ``calinski_harabasz_score`` / ``davies_bouldin_score``).
    """
    n = len(X)
    sums, counts = _centroids(X, labels, k)
    used = counts > 0
    C = np.zeros_like(sums)
    C[used] = sums[used] / counts[used, None]
    d2 = np.zeros(n)
    for j in range(X.shape[1]):
        diff = X[:, j] - C[labels, j]
        d2 += diff * diff
    within = float(d2.sum())
    mean = sums.sum(0) / n
    between = float((counts * ((C - mean) ** 2).sum(1)).sum())
    kk = int(used.sum())
    if kk < 2 or kk >= n:
        return {"inertia": within, "calinski_harabasz": float("nan"), "davies_bouldin": float("nan")}
    ch = 1.0 if within == 0 else between * (n - kk) / (within * (kk - 1))
    spread = np.bincount(labels, weights=np.sqrt(d2), minlength=k)[used] / counts[used]
    Cu = C[used]
    dist = np.sqrt(((Cu[:, None, :] - Cu[None, :, :]) ** 2).sum(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (spread[:, None] + spread[None, :]) / dist
    ratio[~np.isfinite(ratio)] = 0.0
    np.fill_diagonal(ratio, 0.0)
    db = float(ratio.max(1).mean()) if np.any(dist > 0) else 0.0
    return {"inertia": within, "calinski_harabasz": float(ch), "davies_bouldin": db}


def silhouette_many(Xs: np.ndarray, label_sets: list[np.ndarray], chunk: int = 1024) -> list[float]:
    """Mean silhouette of each labelling in ``label_sets`` on the same sample ``Xs``, in one distance pass.

    The pairwise distance block of a chunk of rows is multiplied by the stacked one-hot matrices of all
    labellings, so scoring k = 2..10 costs one distance computation instead of nine.
    """
    m = len(Xs)
    X = Xs.astype(np.float32)
    xx = (X * X).sum(1)
    blocks, offsets = [], [0]
    for lab in label_sets:
        k = int(lab.max()) + 1
        onehot = np.zeros((m, k), dtype=np.float32)
        onehot[np.arange(m), lab] = 1.0
        blocks.append(onehot)
        offsets.append(offsets[-1] + k)
    H = np.concatenate(blocks, axis=1)
    sums = np.empty((m, H.shape[1]), dtype=np.float64)
    for s in range(0, m, chunk):
        xb = X[s:s + chunk]
        D2 = xb @ X.T
        D2 *= -2.0
        D2 += xx[s:s + chunk, None]
        D2 += xx[None, :]
        np.maximum(D2, 0.0, out=D2)
        D = np.sqrt(D2, out=D2)
        D[np.arange(len(xb)), np.arange(s, s + len(xb))] = 0.0
        sums[s:s + chunk] = D @ H
    out = []
    for i, lab in enumerate(label_sets):
        S = sums[:, offsets[i]:offsets[i + 1]]
        size = H[:, offsets[i]:offsets[i + 1]].sum(0).astype(np.float64)
        own = size[lab]
        a = np.where(own > 1, S[np.arange(m), lab] / np.maximum(own - 1, 1), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_other = S / size[None, :]
        mean_other[np.arange(m), lab] = np.inf
        mean_other[:, size == 0] = np.inf
        b = mean_other.min(1)
        denom = np.maximum(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_i = np.where((own > 1) & (denom > 0), (b - a) / denom, 0.0)
        out.append(float(s_i.mean()) if int((size > 0).sum()) > 1 else float("nan"))
    return out


def gmm_log_prob(X: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """Log of weight × Gaussian density per row and component (full covariances), n × k, for ``predict``."""
    n, d = X.shape
    k = len(weights)
    out = np.empty((n, k))
    Xd = X.astype(np.float64)
    for j in range(k):  # loop over components (≤ 10), never over accounts
        L = np.linalg.cholesky(covariances[j])
        z = np.linalg.solve(L, (Xd - means[j]).T)
        maha = (z * z).sum(0)
        logdet = 2.0 * np.log(np.diag(L)).sum()
        out[:, j] = np.log(weights[j]) - 0.5 * (d * np.log(2 * np.pi) + logdet + maha)
    return out

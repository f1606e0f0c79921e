"""Purchase-history CLV model for monthly data: the beta-geometric/beta-Bernoulli (BG/BB) member of the BG/NBD family.

BG/NBD (Fader, Hardie & Lee 2005) assumes purchases in continuous time; monthly revenue history only says
whether an account bought in a month, which is the discrete-time setting of its sibling BG/BB (Fader, Hardie
& Shang 2010): while alive, an account buys in a month with probability p ~ beta(α, β) and drops out before
each month with probability θ ~ beta(γ, δ). A "purchase" is a month with positive revenue. Per account: ``x``
repeat purchase months after the first, ``t_x`` months from the first to the last purchase, ``n`` months
observed after the first purchase. The fit is maximum likelihood on the distinct (x, t_x, n) triplets weighted
by their counts — with monthly data there are at most a few thousand, so it costs the same for 2,000 or
1,000,000 accounts. Fitted attributes: ``params_`` (α, β, γ, δ).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

__all__ = ["BGBB", "rfm_from_matrix"]


def rfm_from_matrix(revenue: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frequency/recency/age per account from a (accounts × months) revenue matrix.

    Returns
    -------
    x, t_x, n, buyer : repeat purchase months, months first → last purchase, months observed after the first
        purchase, and whether the account bought at all (the others have x = t_x = n = 0).
    """
    pos = revenue > 0
    n_t = revenue.shape[1]
    buyer = pos.any(axis=1)
    first = pos.argmax(axis=1)
    last = n_t - 1 - pos[:, ::-1].argmax(axis=1)
    x = np.where(buyer, pos.sum(axis=1) - 1, 0)
    t_x = np.where(buyer, last - first, 0)
    n = np.where(buyer, n_t - 1 - first, 0)
    return x.astype(np.int64), t_x.astype(np.int64), n.astype(np.int64), buyer


class BGBB:
    """BG/BB model of monthly purchases (see the module docstring).

    Parameters
    ----------
    penalizer : L2 penalty on the log-parameters (keeps the fit finite on degenerate data).
    """

    def __init__(self, penalizer: float = 1e-4):
        self.penalizer = penalizer

    @staticmethod
    def _log_terms(p: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log of the likelihood's two parts: alive through n, and each possible drop-out month after t_x.

        All arguments of the beta functions are a parameter plus a whole number of months, so each log-gamma
        is looked up in a short table per parameter instead of evaluated per account and month.
        """
        a, b, g, d = p
        top = int(n.max()) + 2 if len(n) else 2
        k = np.arange(top + 1)
        ga, gb, gab = special.gammaln(a + k), special.gammaln(b + k), special.gammaln(a + b + k)
        gd, ggd, ggd1 = special.gammaln(d + k), special.gammaln(g + d + k), special.gammaln(g + d + 1 + k)
        lg_g, lg_g1 = special.gammaln(g), special.gammaln(g + 1)
        base = special.betaln(a, b) + special.betaln(g, d)
        alive = ga[x] + gb[n - x] - gab[n] + lg_g + gd[n] - ggd[n] - base
        i = np.arange(int(np.max(n - t_x)) if len(n) else 0)[None, :]
        ok = i < (n - t_x)[:, None]
        m = np.minimum(t_x[:, None] + i, top)  # masked cells are clipped into the tables, then dropped
        died = np.where(ok, ga[x][:, None] + gb[np.minimum(m - x[:, None], top)] - gab[m]
                        + lg_g1 + gd[m] - ggd1[m] - base, -np.inf)
        return alive, died

    def fit(self, x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> BGBB:
        """Maximum likelihood on the distinct (x, t_x, n) triplets. Returns ``self``."""
        x, t_x, n = (np.asarray(v, dtype=np.int64) for v in (x, t_x, n))
        span = int(n.max()) + 1 if len(n) else 1
        key, counts = np.unique((x * span + t_x) * span + n, return_counts=True)
        ux, utx, un = key // (span * span), (key // span) % span, key % span
        keep = un > 0  # an account first seen in the last month tells nothing yet
        ux, utx, un = ux[keep], utx[keep], un[keep]
        w = counts[keep].astype(float)
        if w.sum() < 10:
            raise ValueError("the BG/BB model needs at least 10 accounts with more than one month of history")

        def neg_ll(logp: np.ndarray) -> float:
            alive, died = self._log_terms(np.exp(logp), ux, utx, un)
            ll = np.logaddexp(alive, special.logsumexp(died, axis=1)) if died.shape[1] else alive
            return float(-(w * ll).sum() / w.sum() + self.penalizer * np.sum(logp ** 2))

        res = optimize.minimize(neg_ll, x0=np.zeros(4), method="L-BFGS-B", options={"maxiter": 500})
        self.n_evaluations_ = int(res.nfev)
        self.params_ = tuple(float(v) for v in np.exp(res.x))
        self.converged_ = bool(res.success)
        self.log_likelihood_ = float(-res.fun)
        return self

    def _log_lik(self, x, t_x, n) -> np.ndarray:
        alive, died = self._log_terms(np.asarray(self.params_), x.astype(np.int64), t_x.astype(np.int64),
                                      n.astype(np.int64))
        return np.logaddexp(alive, special.logsumexp(died, axis=1)) if died.shape[1] else alive

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Probability that each account is alive in the month after the history."""
        a, b, g, d = self.params_
        x, n = x.astype(float), n.astype(float)
        num = special.betaln(a + x, b + n - x) - special.betaln(a, b) + special.betaln(g, d + n + 1) \
            - special.betaln(g, d)
        return np.exp(num - self._log_lik(x, t_x, n))

    def monthly_purchase_probability(self, months: int, x: np.ndarray, t_x: np.ndarray,
                                     n: np.ndarray) -> np.ndarray:
        """Probability of a purchase in each of the next ``months`` months: array (accounts, months)."""
        a, b, g, d = self.params_
        x, n = x.astype(float), n.astype(float)
        k = np.arange(1, months + 1)[None, :]
        log_p = (special.betaln(a + x + 1, b + n - x) - special.betaln(a, b))[:, None] \
            + special.betaln(g, d + n[:, None] + k) - special.betaln(g, d)
        return np.exp(log_p - self._log_lik(x, t_x, n)[:, None])

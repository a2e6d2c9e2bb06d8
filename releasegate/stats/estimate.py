"""The `Estimate` every comparison returns, and the small helpers shared by the estimators.

Orientation: an estimate is Δ = "candidate relative to incumbent", signed so that a
negative Δ means the candidate is worse.  ``confidence`` (e.g. 0.95) is one-sided:
``ci_low`` is a ``confidence`` lower bound and ``ci_high`` a ``confidence`` upper bound, so
``[ci_low, ci_high]`` is a two-sided interval at level ``2 * confidence - 1``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Estimate", "cluster_robust"]


@dataclass(frozen=True)
class Estimate:
    """One oriented comparison of candidate against incumbent.

    Attributes:
        estimate: point estimate of Δ (negative = candidate worse).
        ci_low: one-sided ``confidence`` lower bound of Δ.
        ci_high: one-sided ``confidence`` upper bound of Δ.
        p_worse: one-sided p-value of H0: Δ ≥ 0 against H1: Δ < 0.
        n: number of independent units used (items, clusters, rounds or round pairs).
        method: short human-readable name of the procedure used.
        se: standard error of ``estimate`` where one exists (bootstrap SD for bootstraps).
    """

    estimate: float
    ci_low: float
    ci_high: float
    p_worse: float
    n: int
    method: str
    se: float | None = None


def check_confidence(confidence: float) -> None:
    """Raise ValueError unless 0.5 < confidence < 1."""
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0.5, 1), got {confidence}")


def paired_arrays(cand: Sequence[float], inc: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Return both arms as 1-D float arrays of equal length, or raise ValueError."""
    c = np.asarray(cand, dtype=float).ravel()
    i = np.asarray(inc, dtype=float).ravel()
    if c.shape != i.shape:
        raise ValueError(f"paired arms differ in length: {c.size} vs {i.size}")
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(i))):
        raise ValueError("scores must be finite")
    return c, i


def degenerate(value: float, n: int, method: str) -> Estimate:
    """An estimate known without sampling error (zero variance): a point interval."""
    return Estimate(value, value, value, 1.0 if value >= 0 else 0.0, n, method, 0.0)


def uninformative(value: float, n: int, method: str) -> Estimate:
    """An estimate from too few units to bound: an infinitely wide interval, p_worse 1."""
    return Estimate(value, -math.inf, math.inf, 1.0, n, method, None)


def t_estimate(mean: float, se: float, df: int, n: int, confidence: float, method: str) -> Estimate:
    """Student-t interval and one-sided p-value for an estimate with standard error ``se``."""
    if df < 1 or not math.isfinite(se):
        return uninformative(mean, n, method)
    if se == 0.0:
        return degenerate(mean, n, method)
    crit = float(stats.t.ppf(confidence, df))
    p_worse = float(stats.t.cdf(mean / se, df))
    return Estimate(mean, mean - crit * se, mean + crit * se, p_worse, n, method, se)


def cluster_robust(
    d: np.ndarray, clusters: Sequence[Hashable], confidence: float, method: str
) -> Estimate:
    """Mean of per-item differences ``d`` with a cluster-robust (CR1) standard error.

    Items sharing a cluster id (e.g. questions about one passage) are correlated, so the
    residuals are summed within each cluster: SE = sqrt(G/(G-1) · Σ_g (Σ_{i∈g} (dᵢ − d̄))²) / n
    over G clusters, with a t reference on G − 1 degrees of freedom.  With every item in its
    own cluster this is exactly the ordinary SE sd(d)/√n.  ``n`` in the result is G.

    Raises:
        ValueError: if ``clusters`` is not one id per item.
    """
    index: dict[Hashable, int] = {}
    codes = np.array([index.setdefault(label, len(index)) for label in clusters], dtype=np.intp)
    if codes.shape != d.shape:
        raise ValueError(f"clusters must give one id per item: {codes.size} ids, {d.size} items")
    groups = len(index)
    if d.size == 0:
        return uninformative(0.0, 0, method)
    mean = float(d.mean())
    if groups < 2:
        return uninformative(mean, groups, method)
    if np.all(d == d[0]):
        return degenerate(mean, groups, method)
    totals = np.bincount(codes, weights=d - mean, minlength=groups)
    se = math.sqrt(groups / (groups - 1) * float(np.sum(totals**2))) / d.size
    return t_estimate(mean, se, groups - 1, groups, confidence, method)

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


def all_equal(x: np.ndarray) -> bool:
    """Whether the values in ``x`` are equal up to rounding (spread ≤ 1e-12 of their size)."""
    return x.size > 0 and float(np.ptp(x)) <= 1e-12 * max(1.0, float(np.max(np.abs(x))))


def constant_estimate(value: float, n: int, confidence: float, method: str) -> Estimate:
    """Exact sign-flip inference when all ``n`` units show the same effect ``value``.

    Zero spread is not certainty: of the 2ⁿ sign patterns only the observed one (and, for
    ``value`` = 0, all of them) is as extreme, so p_worse = 2⁻ⁿ when ``value`` < 0 and 1
    otherwise.  Every subset mean equals ``value``, so the interval is the point
    [value, value] once 2ⁿ·(1 − confidence) ≥ 1 (n ≥ 5 at 0.95), and ±inf before that —
    the same answer `sign_flip` gives on constant data.
    """
    p_worse = 0.5**n if value < 0 else 1.0
    if math.floor((1.0 - confidence) * 2.0**n + 1e-9) < 1:  # no SE: more units would tell
        return Estimate(value, -math.inf, math.inf, p_worse, n, method, None)
    return Estimate(value, value, value, p_worse, n, method, 0.0)


def uninformative(value: float, n: int, method: str) -> Estimate:
    """An estimate from too few units to bound: an infinitely wide interval, p_worse 1."""
    return Estimate(value, -math.inf, math.inf, 1.0, n, method, None)


def t_estimate(mean: float, se: float, df: int, n: int, confidence: float, method: str) -> Estimate:
    """Student-t interval and one-sided p-value for an estimate with standard error ``se``.

    ``se`` = 0 means every unit showed the same value: `constant_estimate`, not certainty.
    """
    if df < 1 or not math.isfinite(se):
        return uninformative(mean, n, method)
    if se == 0.0:  # every unit equal: exact sign-flip, not certainty
        return constant_estimate(mean, n, confidence, method)
    crit = float(stats.t.ppf(confidence, df))
    p_worse = float(stats.t.cdf(mean / se, df))
    return Estimate(mean, mean - crit * se, mean + crit * se, p_worse, n, method, se)


def mean_estimate(r: np.ndarray, confidence: float, method: str) -> Estimate:
    """Mean of independent per-pair effects ``r`` (log-ratios of rounds) with a t interval.

    Student t on n − 1 degrees of freedom, p_worse from the same statistic.  No pairs give
    NaN and one pair its value, both with an infinite interval and p_worse 1; all rᵢ equal
    (up to rounding) give the exact sign-flip answer (`constant_estimate`).
    """
    n = r.size
    if n == 0:
        return uninformative(math.nan, 0, method)
    mean = float(r.mean())
    if n == 1:
        return uninformative(mean, 1, method)
    if all_equal(r):
        return constant_estimate(mean, n, confidence, f"{method} (constant: sign-flip)")
    se = float(r.std(ddof=1)) / math.sqrt(n)
    return t_estimate(mean, se, n - 1, n, confidence, method)


def sign_flip(
    totals: np.ndarray, sizes: np.ndarray | None, confidence: float
) -> tuple[float, float, float]:
    """Exact sign-flip bounds and one-sided p-value for a mean over few units.

    Unit g contributes the total T_g of its ``sizes[g]`` items (1 each when ``sizes`` is None)
    and the estimate is ΣT / Σsizes.  Under H0: Δ = θ the centred totals T_g − θ·size_g are
    taken as symmetric about 0, so all 2ᴳ sign patterns are equally likely.  p_worse (θ = 0)
    = share of patterns whose flipped total is ≤ the observed one.  Flipping the subset F
    moves the total by −2·Σ_F (T − θ·size), so the test inverts into order statistics of
    the 2ᴳ − 1 subset means m_F = Σ_F T / Σ_F size (Hartigan): the lower bound is the k-th
    smallest, the upper the k-th largest, k = ⌊2ᴳ·(1 − confidence)⌋, and the interval
    agrees with p_worse exactly.  k = 0 (G < 5 at 0.95) gives ±inf.  Enumerates 2ᴳ subsets,
    so callers keep G below ~20.
    """
    w = np.ones_like(totals) if sizes is None else np.asarray(sizes, dtype=float)
    sums = np.zeros(1)
    weights = np.zeros(1)
    for t, size in zip(totals, w, strict=True):  # all 2ᴳ subset sums by doubling
        sums = np.concatenate((sums, sums + t))
        weights = np.concatenate((weights, weights + size))
    tol = 1e-12 * float(np.sum(np.abs(totals)))
    # Flipping F changes ΣT to ΣT − 2·Σ_F T, which is ≤ ΣT exactly when Σ_F T ≥ 0.
    p_worse = float(np.count_nonzero(sums >= -tol)) / sums.size
    means = sums[1:] / weights[1:]
    k = math.floor((1.0 - confidence) * sums.size + 1e-9)
    if k < 1:
        return -math.inf, math.inf, p_worse
    low = float(np.partition(means, k - 1)[k - 1])
    high = float(np.partition(means, means.size - k)[means.size - k])
    return low, high, p_worse


EXACT_CLUSTERS_BELOW = 20


def cluster_robust(
    d: np.ndarray,
    clusters: Sequence[Hashable],
    confidence: float,
    method: str,
    *,
    exact_below: int = EXACT_CLUSTERS_BELOW,
) -> Estimate:
    """Mean of per-item differences ``d`` with a cluster-robust (CR1) standard error.

    Items sharing a cluster id (e.g. questions about one passage) are correlated, so the
    residuals are summed within each cluster: SE = sqrt(G/(G-1) · Σ_g (Σ_{i∈g} (dᵢ − d̄))²) / n
    over G clusters, with a t reference on G − 1 degrees of freedom.  With every item in its
    own cluster this is exactly the ordinary SE sd(d)/√n.  ``n`` in the result is G.

    With fewer than ``exact_below`` clusters, or when every cluster has the same mean (SE 0),
    the t reference is replaced by the exact sign-flip over cluster totals (`sign_flip`;
    `constant_estimate` when all cluster means are equal), so 2 clusters that both lost
    give p_worse = 0.25, not certainty.  ``se`` is still the CR1 value.

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
    totals = np.bincount(codes, weights=d, minlength=groups)
    sizes = np.bincount(codes, minlength=groups).astype(float)
    resid = totals - mean * sizes
    se = math.sqrt(groups / (groups - 1) * float(np.sum(resid**2))) / d.size
    cluster_means = totals / sizes
    if all_equal(cluster_means):
        return constant_estimate(mean, groups, confidence, f"{method}, sign-flip exact")
    if groups < exact_below:
        low, high, p_worse = sign_flip(totals, sizes, confidence)
        return Estimate(mean, low, high, p_worse, groups, f"{method}, sign-flip exact", se)
    return t_estimate(mean, se, groups - 1, groups, confidence, method)

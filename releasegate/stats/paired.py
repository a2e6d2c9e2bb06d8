"""Paired quality comparisons: the same items scored by both models.

Pairing by item removes the item-difficulty variance both arms share, which is why a paired
test needs far fewer items than an unpaired one (Miller 2024, "Adding Error Bars to Evals").
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
from scipy import stats

from releasegate.stats.estimate import (
    Estimate,
    all_equal,
    check_confidence,
    cluster_robust,
    constant_estimate,
    paired_arrays,
    sign_flip,
    t_estimate,
    uninformative,
)
from releasegate.stats.tango import CORRECTION, tango_bounds, tango_z

__all__ = ["paired_binary", "paired_numeric"]

EXACT_BINARY_BELOW = 30  # kept for callers; paired_binary no longer switches method
EXACT_NUMERIC_BELOW = 20


def paired_binary(
    cand: Sequence[float],
    inc: Sequence[float],
    confidence: float = 0.95,
    clusters: Sequence[Hashable] | None = None,
    *,
    exact_below: int = EXACT_BINARY_BELOW,
) -> Estimate:
    """Difference in accuracy (cand − inc) of 0/1 scores paired by item.

    Only discordant items move Δ̂: b = items only the incumbent got right, c = items only
    the candidate got right; Δ̂ = (c − b)/n.

    * Interval: Tango's score interval (`releasegate.stats.tango`) for every b + c,
      including 0, with a continuity correction of ½ on c − b.  It does not condition on
      b + c, so it stays honest when the candidate only loses (c = 0: the lower bound lies
      well below Δ̂) or nothing is discordant (b = c = 0 at n = 20 gives [−0.160, 0.160],
      so a 5-point margin needs ≥ 70 items without a discordant one; the exact binomial
      answer is 59).  Newcombe's hybrid score interval was not used: with b = c = 0 and as
      many both-right as both-wrong items it collapses to [0, 0].
    * p_worse = Φ((c − b + ½)/√(b + c)), the corrected McNemar statistic, which is the
      upper bound's score statistic at Δ = 0, so ci_high < 0 at level 1 − α exactly when
      p_worse < α; b = c = 0 gives 1.
    * ``se`` = (ci_high − ci_low)/(2z), the interval's implied standard error.
    * with ``clusters`` (one id per item): `cluster_robust` on the per-item differences
      (exact sign-flip over clusters when they are few); ``n`` is then the number of clusters.

    Args:
        cand: candidate scores, 0 or 1 per item.
        inc: incumbent scores for the same items in the same order.
        confidence: one-sided confidence of each bound.
        clusters: optional cluster id per item.
        exact_below: accepted for compatibility and ignored (one method serves every count).

    Raises:
        ValueError: on unequal lengths, scores other than 0/1, or a bad ``confidence``.
    """
    del exact_below
    check_confidence(confidence)
    c_arr, i_arr = paired_arrays(cand, inc)
    if not np.all(np.isin(c_arr, (0.0, 1.0)) & np.isin(i_arr, (0.0, 1.0))):
        raise ValueError("paired_binary needs scores that are 0 or 1")
    n = c_arr.size
    if clusters is not None:
        return cluster_robust(c_arr - i_arr, clusters, confidence, "paired binary, cluster-robust")
    if n == 0:
        return uninformative(math.nan, 0, "McNemar (no items)")
    b = int(np.sum((i_arr == 1) & (c_arr == 0)))
    c = int(np.sum((c_arr == 1) & (i_arr == 0)))
    z = float(stats.norm.ppf(confidence))
    low, high = (float(v) for v in tango_bounds(b, c, n, z))
    p_worse = float(stats.norm.cdf(tango_z(b, c, n, 0.0, CORRECTION)))
    se = (high - low) / (2.0 * z)
    return Estimate((c - b) / n, low, high, p_worse, n, f"McNemar, Tango score (b={b}, c={c})", se)


def paired_numeric(
    cand: Sequence[float],
    inc: Sequence[float],
    confidence: float = 0.95,
    clusters: Sequence[Hashable] | None = None,
    *,
    higher_is_better: bool = True,
    exact_below: int = EXACT_NUMERIC_BELOW,
) -> Estimate:
    """Mean difference of numeric scores paired by item.

    dᵢ = candᵢ − incᵢ (or incᵢ − candᵢ when lower is better), Δ̂ = mean(d).

    * n ≥ ``exact_below``: Student-t interval on d; p_worse equals
      ``scipy.stats.ttest_rel(cand, inc, alternative="less")`` (for higher-is-better).
    * 1 ≤ n < ``exact_below``: exact sign-flip inference over all 2ⁿ sign patterns, valid
      when d is symmetric about Δ.  p_worse = share of patterns whose flipped sum is ≤ the
      observed one.  The interval inverts the same test: its bounds are order statistics
      of the 2ⁿ − 1 subset means of d (Hartigan), so it agrees with p_worse exactly.  With
      2ⁿ·(1 − confidence) < 1 (n < 5 at 0.95) no finite bound exists and ±inf is returned.
    * all dᵢ equal (any n ≥ 2): the same sign-flip answer in closed form
      (`constant_estimate`): p_worse = 2⁻ⁿ if Δ̂ < 0 else 1, e.g. 0.25 for two items that
      both lost; a point interval only once 2⁻ⁿ ≤ 1 − confidence.
    * with ``clusters``: `cluster_robust` (CR1 t, or exact sign-flip over clusters when
      they are few or all cluster means are equal); ``n`` = clusters.

    Raises:
        ValueError: on unequal lengths, non-finite scores or a bad ``confidence``.
    """
    check_confidence(confidence)
    c_arr, i_arr = paired_arrays(cand, inc)
    d = c_arr - i_arr if higher_is_better else i_arr - c_arr
    n = d.size
    if clusters is not None:
        return cluster_robust(d, clusters, confidence, "paired numeric, cluster-robust")
    if n == 0:
        return uninformative(math.nan, 0, "paired numeric (no items)")
    mean = float(d.mean())
    if n == 1:
        return uninformative(mean, 1, "paired numeric (one item)")
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if all_equal(d):
        return constant_estimate(mean, n, confidence, "paired sign-flip exact (constant)")
    if n < exact_below:
        low, high, p_worse = sign_flip(d, None, confidence)
        return Estimate(mean, low, high, p_worse, n, "paired sign-flip exact", se)
    return t_estimate(mean, se, n - 1, n, confidence, "paired t")

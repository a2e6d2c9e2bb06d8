"""Per-round scalar metrics (throughput, peak memory) compared as paired log-ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from releasegate.stats.estimate import (
    Estimate,
    check_confidence,
    degenerate,
    paired_arrays,
    t_estimate,
    uninformative,
)

__all__ = ["paired_log_ratio"]


def paired_log_ratio(
    cand_values: Sequence[float],
    inc_values: Sequence[float],
    higher_is_better: bool,
    confidence: float = 0.95,
) -> Estimate:
    """Mean log-ratio of one value per arm per round, rounds paired.

    rᵢ = log(candᵢ / incᵢ) when higher is better (throughput) or log(incᵢ / candᵢ) when
    lower is better (memory), so negative = candidate worse; Δ̂ = mean(r) with a Student-t
    interval on n − 1 degrees of freedom (exp(Δ̂) is the geometric-mean ratio).

    Edge cases never raise: all rᵢ equal (up to rounding) gives Δ̂ with the point interval
    [Δ̂, Δ̂] (p_worse 1 if Δ̂ ≥ 0 else 0); a single round gives its log-ratio with an
    infinite interval and p_worse 1; no rounds give NaN with an infinite interval.

    Raises:
        ValueError: on unequal lengths, non-positive or non-finite values, or bad confidence.
    """
    check_confidence(confidence)
    c_arr, i_arr = paired_arrays(cand_values, inc_values)
    if not (np.all(c_arr > 0) and np.all(i_arr > 0)):
        raise ValueError("paired_log_ratio needs positive values")
    r = np.log(c_arr) - np.log(i_arr)
    if not higher_is_better:
        r = -r
    n = r.size
    method = "paired log-ratio t"
    if n == 0:
        return uninformative(math.nan, 0, method)
    mean = float(r.mean())
    if n == 1:
        return uninformative(mean, 1, method)
    if float(np.ptp(r)) <= 1e-12 * max(1.0, abs(mean)):  # equal up to rounding
        return degenerate(mean, n, method)
    se = float(r.std(ddof=1)) / math.sqrt(n)
    return t_estimate(mean, se, n - 1, n, confidence, method)

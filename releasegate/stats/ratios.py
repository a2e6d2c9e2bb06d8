"""Per-round scalar metrics (throughput, peak memory) compared as paired log-ratios."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from releasegate.stats.estimate import (
    Estimate,
    check_confidence,
    mean_estimate,
    paired_arrays,
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

    The t reference is kept even for 2–4 pairs: an exact sign-flip test cannot give a finite
    95 % bound below 5 pairs (2ⁿ·0.05 < 1), and the suite's default is 4 rounds; the t
    interval on log-ratios held its one-sided coverage at 3 pairs in simulation
    (`releasegate.stats.coverage.coverage_log_ratio`).

    Edge cases never raise: all rᵢ equal (up to rounding) is not certainty but the exact
    sign-flip answer (`constant_estimate`): p_worse = 2⁻ⁿ if Δ̂ < 0 else 1, with a point
    interval only once 2⁻ⁿ ≤ 1 − confidence (n ≥ 5 at 0.95) and ±inf before; a single round
    gives its log-ratio with an infinite interval and p_worse 1; no rounds give NaN with an
    infinite interval.

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
    return mean_estimate(r, confidence, "paired log-ratio t")

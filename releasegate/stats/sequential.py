"""Always-valid inference for looking at results after every round (mSPRT).

Checking a fixed-n test after every round and stopping at the first "significant" look
inflates the false-alarm rate several-fold.  The mixture sequential probability ratio test
(Johari et al., "Peeking at A/B tests", KDD 2017) gives p-values and confidence sequences
that stay valid however often one looks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["SequentialResult", "msprt"]


@dataclass(frozen=True)
class SequentialResult:
    """Running always-valid inference after each look (arrays along the last axis).

    Attributes:
        mean: running mean θ̂ₙ of the per-round effects.
        p_values: always-valid two-sided p-values pₙ for H0: θ = θ₀ (non-increasing).
        ci_low: running lower bound of the (1 − alpha) confidence sequence.
        ci_high: running upper bound of the (1 − alpha) confidence sequence.
    """

    mean: np.ndarray
    p_values: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def msprt(
    effects: ArrayLike,
    variance: float,
    tau2: float | None = None,
    theta0: float = 0.0,
    alpha: float = 0.05,
) -> SequentialResult:
    """Always-valid p-values and confidence sequence for a normal mean.

    Each round contributes one effect estimate xᵢ ~ N(θ, V) (e.g. the round's log-ratio).
    After n rounds, with θ̂ₙ the running mean and a N(θ₀, τ²) mixing distribution,

        Λₙ = sqrt(V / (V + nτ²)) · exp(τ² n² (θ̂ₙ − θ₀)² / (2V (V + nτ²))),
        pₙ = min(pₙ₋₁, 1/Λₙ),  p₀ = 1.

    Rejecting the first time pₙ ≤ alpha has false-alarm probability ≤ alpha however many
    looks are taken.  The confidence sequence collects the θ with Λₙ(θ) < 1/alpha:
    θ̂ₙ ± sqrt(2V(V + nτ²)/(τ²n²) · (log(1/alpha) + ½·log((V + nτ²)/V))), intersected
    over looks so it only narrows.

    Args:
        effects: per-round effects; the last axis is time (so a 2-D array runs many
            sequences at once).
        variance: V, the per-round variance (known or a pilot estimate).
        tau2: mixing variance τ²; defaults to V.  Choose it near the squared effect size you
            care about.
        theta0: the null value θ₀.
        alpha: level of the confidence sequence.

    Raises:
        ValueError: on a non-positive variance or tau2, alpha outside (0, 1), or
            non-finite effects.
    """
    x = np.asarray(effects, dtype=float)
    if x.ndim == 0:
        x = x.reshape(1)
    if not np.all(np.isfinite(x)):
        raise ValueError("msprt needs finite effects")
    v = float(variance)
    t2 = v if tau2 is None else float(tau2)
    if not (v > 0 and t2 > 0 and math.isfinite(v) and math.isfinite(t2)):
        raise ValueError("variance and tau2 must be positive and finite")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    n = np.arange(1, x.shape[-1] + 1, dtype=float)
    mean = np.cumsum(x, axis=-1) / n
    spread = v + n * t2
    log_lambda = 0.5 * np.log(v / spread) + t2 * n**2 * (mean - theta0) ** 2 / (2 * v * spread)
    p_values = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lambda)), axis=-1)
    threshold = math.log(1 / alpha) + 0.5 * np.log(spread / v)
    radius = np.sqrt(2 * v * spread / (t2 * n**2) * threshold)
    ci_low = np.maximum.accumulate(mean - radius, axis=-1)
    ci_high = np.minimum.accumulate(mean + radius, axis=-1)
    return SequentialResult(mean, p_values, ci_low, ci_high)

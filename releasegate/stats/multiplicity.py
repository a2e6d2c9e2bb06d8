"""Multiplicity control across the gate's FAIL tests (Holm step-down).

Ten independent checks at 5 % each give a ~40 % chance of a false FAIL when nothing
changed; Holm keeps the family-wise error at ``alpha`` under any dependence.  PASS needs
every critical check to pass (an intersection–union test), which needs no correction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["holm", "holm_adjusted"]


def _validated(p_values: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_values, dtype=float).ravel()
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    return p


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order.

    With p₍₁₎ ≤ … ≤ p₍ₘ₎: p̃₍ₖ₎ = max_{j ≤ k} min(1, (m − j + 1)·p₍ⱼ₎).  Hypothesis k is
    rejected at family level alpha exactly when p̃ₖ ≤ alpha.

    Raises:
        ValueError: if a p-value is NaN or outside [0, 1].
    """
    p = _validated(p_values)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return [float(v) for v in adjusted]


def holm(p_values: Sequence[float], alpha: float) -> list[bool]:
    """Holm step-down rejections at family-wise level ``alpha``, in the input order.

    Walk the p-values from smallest to largest, rejecting the k-th (1-based) while
    p₍ₖ₎ ≤ alpha / (m − k + 1); stop at the first that fails.

    Raises:
        ValueError: if ``alpha`` is not in (0, 1) or a p-value is NaN or outside [0, 1].
    """
    if not 0.0 < alpha < 1.0 or math.isnan(alpha):
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    p = _validated(p_values)
    m = p.size
    reject = [False] * m
    for k, i in enumerate(np.argsort(p, kind="stable")):
        if p[i] > alpha / (m - k):
            break
        reject[int(i)] = True
    return reject

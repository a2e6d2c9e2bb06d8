"""Sample-size planning: how many units a check needs, and how many more would settle it."""

from __future__ import annotations

import math

from scipy import stats

from releasegate.stats.estimate import Estimate

__all__ = ["required_n", "required_n_mcnemar", "units_to_decide"]


def _z(alpha: float, power: float, one_sided: bool) -> tuple[float, float]:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    tail = alpha if one_sided else alpha / 2.0
    return float(stats.norm.isf(tail)), float(stats.norm.ppf(power))


def required_n(
    sd: float, delta: float, alpha: float = 0.05, power: float = 0.8, one_sided: bool = True
) -> int:
    """Units needed to detect a mean paired difference ``delta`` (normal approximation).

    n = ⌈(z_α + z_β)² · sd² / δ²⌉ with z_α = z_{1−α} (one-sided) or z_{1−α/2} (two-sided) and
    z_β = z_{power}; sd is the SD of the per-unit differences.  Miller's example: sd² = 1/9,
    δ = 0.03, two-sided α = 0.05, 80 % power → 969.

    Raises:
        ValueError: if sd < 0, delta == 0, or alpha / power are outside (0, 1).
    """
    if not sd >= 0 or delta == 0 or not math.isfinite(delta):
        raise ValueError("required_n needs sd >= 0 and a finite, non-zero delta")
    z_a, z_b = _z(alpha, power, one_sided)
    return max(1, math.ceil(((z_a + z_b) * sd / delta) ** 2 - 1e-9))


def required_n_mcnemar(
    discordance: float,
    delta: float,
    alpha: float = 0.05,
    power: float = 0.8,
    one_sided: bool = True,
) -> int:
    """Items needed by McNemar's test for an accuracy change ``delta`` (Connor 1987).

    n = ⌈(z_α·√ψ + z_β·√(ψ − δ²))² / δ²⌉ where ψ is the expected share of discordant items.
    Two-sided α = 0.05, 80 % power, δ = 0.05: ψ = 0.10 → 312, 0.20 → 626.

    Raises:
        ValueError: unless 0 < δ² < ψ ≤ 1, or alpha / power are outside (0, 1).
    """
    if not (0.0 < delta**2 < discordance <= 1.0):
        raise ValueError("required_n_mcnemar needs 0 < delta**2 < discordance <= 1")
    z_a, z_b = _z(alpha, power, one_sided)
    root = z_a * math.sqrt(discordance) + z_b * math.sqrt(discordance - delta**2)
    return math.ceil(root**2 / delta**2 - 1e-9)


def units_to_decide(
    est: Estimate, margin: float, confidence: float = 0.95, power: float = 0.8
) -> int | None:
    """Roughly how many units in total would make this check decisive.

    Assumes the SE shrinks as 1/√n and the true Δ equals the current estimate, so the
    distance to the margin boundary is |Δ̂ + M|:

        n_needed = ⌈n · (se · (z_conf + z_power) / |Δ̂ + M|)²⌉,  never below n.

    Returns None where it cannot tell: no ``se``, non-finite values, n < 2, or an estimate
    sitting exactly on the boundary −M.
    """
    if est.se is None or est.n < 2:
        return None
    gap = abs(est.estimate + margin)
    values = (est.se, est.estimate, margin)
    if not all(math.isfinite(v) for v in values) or gap == 0.0:
        return None
    z_a, z_b = _z(1.0 - confidence, power, one_sided=True)
    needed = est.n * (est.se * (z_a + z_b) / gap) ** 2
    return max(est.n, math.ceil(needed))

"""How much more data would roughly decide an inconclusive check (the report's hint)."""

from __future__ import annotations

import math

from releasegate.stats import Estimate, units_to_decide

__all__ = ["units_hint"]


def units_hint(
    est: Estimate, margin: float, confidence: float, fail_alpha: float, used: int | None = None
) -> int | None:
    """Units in total (items or round pairs) that would roughly decide an undecided check.

    Assumes the true Δ equals the estimate and the SE shrinks as 1/√n
    (:func:`releasegate.stats.units_to_decide`):

    - Δ̂ > −M, the PASS side is short: the ``confidence`` lower bound must clear −M.
    - Δ̂ ≤ −M, the FAIL side is short: the one-sided p must fall below ``fail_alpha`` (the
      caller passes α over the number of tested checks, Holm's strictest level).

    ``est.n`` may count fewer units than ran (clusters of items, pairs with data): the answer is
    scaled to ``used`` and is always more than ``used``. None where it cannot tell (no SE,
    n < 2, an estimate on the boundary).
    """
    if est.estimate > -margin:
        needed = units_to_decide(est, margin, confidence)
    else:
        needed = units_to_decide(est, 0.0, 1.0 - fail_alpha)
    if needed is None:
        return None
    ran = max(used or 0, est.n)
    return max(ran + 1, math.ceil(needed * ran / est.n))

"""Non-inferiority verdict for one check.

The gate does not ask "did anything change?" but "is the candidate no worse than the
incumbent by more than the margin M?".  PASS needs positive evidence of non-inferiority
(the lower confidence bound of Δ lies above −M); FAIL needs positive evidence of harm (the
multiplicity-adjusted test of H0: Δ ≥ 0 rejects, and the estimate is beyond −M); anything
else — too little data to tell — is INCONCLUSIVE rather than a silent pass.
"""

from __future__ import annotations

from typing import Literal

from releasegate.stats.estimate import Estimate

__all__ = ["Verdict", "decide"]

Verdict = Literal["pass", "fail", "inconclusive"]


def decide(est: Estimate, margin: float, fail_rejected: bool) -> Verdict:
    """Verdict of one check from its estimate.

    Args:
        est: the oriented estimate (negative = candidate worse).
        margin: non-inferiority margin M ≥ 0 on the scale of ``est``.
        fail_rejected: whether the Holm-adjusted test of H0: Δ ≥ 0 rejected for this check.

    Returns:
        "pass" when ci_low > −M; "fail" when ``fail_rejected`` and the estimate < −M;
        otherwise "inconclusive".

    Raises:
        ValueError: if ``margin`` is negative.
    """
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if est.ci_low > -margin:
        return "pass"
    if fail_rejected and est.estimate < -margin:
        return "fail"
    return "inconclusive"

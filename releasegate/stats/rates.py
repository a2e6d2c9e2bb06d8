"""Exact inference for a failure rate: the request-error check and its calibration.

The candidate's share of failed requests is judged against a fixed limit L and against the
incumbent, with exact tests (no normal approximation: the counts are small):

- p_limit: one-sided binomial p of H0: rate ≤ L against rate > L, P(X ≥ e | Bin(n, L)).
- p_inc: one-sided Fisher exact p of H0: candidate's rate ≤ incumbent's (conditional on the
  total number of failures, P(X ≥ e) for the hypergeometric count of the candidate's).
- p = max(p_limit, p_inc): an intersection–union test of "above the limit AND above the
  incumbent", valid at any α without adjustment; an environment where both arms fail alike
  gives a large p_inc, so it cannot FAIL the candidate.
- PASS evidence: the one-sided Clopper–Pearson upper bound at ``confidence`` is at most L.

:func:`error_check_rates` gives the exact probabilities of each verdict for true rates (an
enumeration of all outcomes), :func:`simulate_error_check` the same by simulation; both are
what ``benchmarks/interval_coverage.py`` and the tests call.  Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "ErrorCheckRates",
    "RateTest",
    "cp_bounds",
    "error_check_rates",
    "error_rate_test",
    "error_verdicts",
    "requests_to_fail",
    "requests_to_pass",
    "simulate_error_check",
]


@dataclass(frozen=True)
class RateTest:
    """The request-error check's numbers for one run.

    Attributes:
        rate: the candidate's observed share of failed requests.
        low: one-sided ``confidence`` Clopper–Pearson lower bound of the candidate's rate.
        high: one-sided ``confidence`` Clopper–Pearson upper bound (PASS when ≤ limit).
        p_limit: exact binomial p of H0: rate ≤ limit.
        p_inc: one-sided Fisher exact p of H0: candidate's rate ≤ incumbent's.
        p: max(p_limit, p_inc), the p-value that joins the gate's Holm family.
    """

    rate: float
    low: float
    high: float
    p_limit: float
    p_inc: float
    p: float


def _counts(errors: np.ndarray, n: int) -> None:
    if n < 1 or np.any(errors < 0) or np.any(errors > n):
        raise ValueError(f"need 0 <= errors <= n and n >= 1, got n={n}")


def cp_bounds(errors: np.ndarray | int, n: int, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Clopper–Pearson bounds (lower, upper) at ``confidence`` each.

    upper = Beta⁻¹(confidence; e + 1, n − e) (1 when e = n), lower = Beta⁻¹(1 − confidence;
    e, n − e + 1) (0 when e = 0): the two-sided CP interval at 2·confidence − 1.

    Raises:
        ValueError: unless 0 ≤ errors ≤ n, n ≥ 1 and 0 < confidence < 1.
    """
    e = np.asarray(errors, dtype=float)
    _counts(e, n)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = np.where(e >= n, 1.0, stats.beta.ppf(confidence, e + 1, np.maximum(n - e, 1)))
        lower = np.where(e <= 0, 0.0, stats.beta.ppf(1 - confidence, np.maximum(e, 1), n - e + 1))
    return lower, upper


def _p_limit(errors: np.ndarray, n: int, limit: float) -> np.ndarray:
    if limit <= 0.0:
        return np.where(errors > 0, 0.0, 1.0)
    return np.minimum(1.0, stats.binom.sf(errors - 1, n, limit))


def _p_inc(ce: np.ndarray, cn: int, ie: np.ndarray, in_: int) -> np.ndarray:
    # Fisher's one-sided p: P(X ≥ ce), X ~ Hypergeom(total cn + in_, failures ce + ie, draws cn)
    return np.minimum(1.0, stats.hypergeom.sf(ce - 1, cn + in_, ce + ie, cn))


def error_rate_test(
    ce: int, cn: int, ie: int, in_: int, limit: float, confidence: float
) -> RateTest:
    """The exact tests and bounds of the request-error check (see the module docstring).

    Args:
        ce, cn: the candidate's failed and total requests.
        ie, in_: the incumbent's failed and total requests.
        limit: the largest acceptable failure rate (``gate.max_error_rate``).
        confidence: one-sided level of the Clopper–Pearson bounds (``gate.pass_confidence``).

    Raises:
        ValueError: on impossible counts, a limit outside [0, 1] or confidence outside (0, 1).
    """
    if not 0.0 <= limit <= 1.0:
        raise ValueError(f"limit must lie in [0, 1], got {limit}")
    _counts(np.asarray(ie), in_)
    low, high = cp_bounds(ce, cn, confidence)
    p_limit = float(_p_limit(np.asarray(ce), cn, limit))
    p_inc = float(_p_inc(np.asarray(ce), cn, np.asarray(ie), in_))
    return RateTest(ce / cn, float(low), float(high), p_limit, p_inc, max(p_limit, p_inc))


def error_verdicts(
    ce: np.ndarray,
    cn: int,
    ie: np.ndarray,
    in_: int,
    limit: float,
    alpha: float,
    confidence: float,
) -> np.ndarray:
    """Verdict codes of the check alone (no other checks in the family) for count arrays.

    1 = FAIL (p < alpha), 0 = PASS (CP upper bound < limit), -1 = INCONCLUSIVE; the same
    rule as :func:`releasegate.stats.decide` applies to the check's estimate.
    """
    ce, ie = np.asarray(ce), np.asarray(ie)
    _, high = cp_bounds(ce, cn, confidence)
    p = np.maximum(_p_limit(ce, cn, limit), _p_inc(ce, cn, ie, in_))
    return np.where(high < limit, 0, np.where((p < alpha) & (ce > cn * limit), 1, -1))


@dataclass(frozen=True)
class ErrorCheckRates:
    """How often the check alone says each verdict, and how often its CP bound covers."""

    fail: float
    pass_: float
    inconclusive: float
    coverage: float  # P(CP upper bound ≥ the candidate's true rate)


def error_check_rates(
    rate_cand: float,
    rate_inc: float,
    n_cand: int,
    n_inc: int,
    limit: float,
    alpha: float,
    confidence: float,
) -> ErrorCheckRates:
    """Exact verdict probabilities for true rates, by enumerating every pair of counts."""
    ce, ie = np.arange(n_cand + 1), np.arange(n_inc + 1)
    pc, pi = stats.binom.pmf(ce, n_cand, rate_cand), stats.binom.pmf(ie, n_inc, rate_inc)
    keep_c, keep_i = pc > 1e-15, pi > 1e-15  # outcomes that cannot matter at this precision
    ce, pc, ie, pi = ce[keep_c], pc[keep_c], ie[keep_i], pi[keep_i]
    grid_c, grid_i = np.meshgrid(ce, ie, indexing="ij")
    codes = error_verdicts(grid_c, n_cand, grid_i, n_inc, limit, alpha, confidence)
    weight = np.outer(pc, pi)
    _, high = cp_bounds(ce, n_cand, confidence)
    return ErrorCheckRates(
        float(weight[codes == 1].sum()),
        float(weight[codes == 0].sum()),
        float(weight[codes == -1].sum()),
        min(1.0, float(pc[high >= rate_cand].sum())),
    )


def simulate_error_check(
    rate_cand: float,
    rate_inc: float,
    n_cand: int,
    n_inc: int,
    limit: float,
    alpha: float,
    confidence: float,
    reps: int,
    rng: np.random.Generator,
) -> ErrorCheckRates:
    """The same as :func:`error_check_rates`, by simulating ``reps`` runs."""
    ce = rng.binomial(n_cand, rate_cand, reps)
    ie = rng.binomial(n_inc, rate_inc, reps)
    codes = error_verdicts(ce, n_cand, ie, n_inc, limit, alpha, confidence)
    _, high = cp_bounds(ce, n_cand, confidence)
    return ErrorCheckRates(
        float(np.mean(codes == 1)),
        float(np.mean(codes == 0)),
        float(np.mean(codes == -1)),
        float(np.mean(high >= rate_cand)),
    )


def _first_n(ok: Callable[[int], bool], start: int, cap: int) -> int | None:
    """The least n in [start, cap] with ok(n), by doubling then bisection (ok ~ monotone)."""
    if ok(start):
        return start
    lo, hi = start, start
    while not ok(hi):
        if hi >= cap:
            return None
        lo, hi = hi, min(cap, hi * 2)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def requests_to_pass(
    errors: int, n: int, limit: float, confidence: float, cap: int = 10_000_000
) -> int | None:
    """Requests in total at which the observed rate's CP upper bound would be below ``limit``.

    Assumes the rate stays at ``errors / n``; None when that rate is not below the limit.
    Zero errors need ⌈log(1 − confidence) / log(1 − limit)⌉ (299 for 1 % at 95 %).
    """
    rate = errors / n
    if not rate < limit or n < 1:
        return None

    def ok(m: int) -> bool:
        return bool(cp_bounds(round(rate * m), m, confidence)[1] < limit)

    return _first_n(ok, n, cap)


def requests_to_fail(
    errors: int, n: int, limit: float, alpha: float, cap: int = 10_000_000
) -> int | None:
    """Requests in total at which the observed rate's binomial p against the limit < alpha.

    Assumes the rate stays at ``errors / n``; None when that rate is not above the limit.
    """
    rate = errors / n
    if not rate > limit or n < 1:
        return None

    def ok(m: int) -> bool:
        return bool(_p_limit(np.asarray(round(rate * m)), m, limit) < alpha)

    return _first_n(ok, n, cap)

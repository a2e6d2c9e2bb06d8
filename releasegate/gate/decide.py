"""The decide stage: comparisons + policy → per-check verdicts, overall verdict, recommendation.

- A check PASSes when its one-sided lower confidence bound (``gate.pass_confidence``) lies
  above −margin (non-inferiority).
- A check FAILs when the candidate is significantly worse — Holm-adjusted one-sided p-value
  below ``gate.alpha`` across all checks of the run — **and** the estimate is beyond −margin.
- Otherwise it is INCONCLUSIVE, with a rough count of units that would decide it.
- The request-error check is tested the same way (:mod:`releasegate.gate.error_rate`): its
  p-value (candidate's rate above the limit and above the incumbent) joins the Holm family.

Reasons state the effect in the reader's terms with :func:`releasegate.gate.effect.describe`,
the same text every report shows.

Overall: FAIL if any critical check fails; PASS only if every critical check passes;
INCONCLUSIVE otherwise. Advisory checks are reported and never gate.
"""

from __future__ import annotations

import math

from releasegate.gate.compare import Comparison
from releasegate.gate.effect import describe
from releasegate.gate.hints import units_hint
from releasegate.gate.result import CheckResult, Recommendation, Verdict
from releasegate.stats import decide, holm_adjusted
from releasegate.stats.rates import requests_to_fail, requests_to_pass
from releasegate.suite import Suite
from releasegate.suite.models import GatePolicy

UNITS = {
    "quality": "items",
    "peak_rss": "rounds",
    "output_tokens_per_s": "rounds",
    "requests_per_s": "rounds",
    "error_rate": "requests",
}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def interval_kind(method: str, confidence: float) -> str:
    """What an estimate's [ci_low, ci_high] is, from its method."""
    level = f"{100 * confidence:g}%"
    if "confidence sequence" in method:
        return f"{level} always-valid confidence sequence"
    if "Clopper" in method:
        return f"one-sided {level} Clopper–Pearson bounds"
    return f"one-sided {level} bounds"


def _error_hint(c: Comparison, policy: GatePolicy) -> tuple[int | None, str]:
    """(requests in total that would decide it, why it is open) for an open error check."""
    assert c.estimate is not None and c.candidate_value is not None
    n, rate, inc = c.estimate.n, c.candidate_value, c.incumbent_value or 0.0
    errors = round(rate * n)
    if rate > 0 and inc >= rate:
        return None, f"both arms fail alike (incumbent {inc:.2%}): environment?"
    if rate > c.margin and inc > c.margin:
        return None, f"both arms above the limit (incumbent {inc:.2%}): environment?"
    if rate > c.margin:
        more = requests_to_fail(errors, n, c.margin, policy.alpha)
        return more, "above the limit, but not significantly"
    more = requests_to_pass(errors, n, c.margin, policy.pass_confidence)
    return more, "too few requests to show it is within the limit"


def _reason(r: CheckResult, c: Comparison, more: int | None, why: str = "") -> str:
    if c.estimate is None:
        return f"no data: {c.note}"
    effect = describe(r).summary
    if c.note and (r.metric != "error_rate" or c.verdict is not None):
        effect = f"{effect}; {c.note}"  # e.g. round pairs dropped or floored
    if c.verdict is not None:
        return effect
    prefix = f"{c.note}: " if r.metric == "error_rate" and c.note else ""
    p = f"adjusted p={r.p_value:.2g} < α={r.alpha:g}" if r.p_value is not None else ""
    if r.verdict == "pass":
        return f"{prefix}{effect}: within margin"
    if r.verdict == "fail":
        if r.metric == "error_rate":
            return f"{prefix}{effect}: above the limit and above the incumbent ({p})"
        return f"{prefix}{effect}: significantly worse ({p}) and beyond margin"
    unit = UNITS.get(r.metric, "rounds")
    hint = f"; about {more} {unit} in total would decide it" if more else ""
    return f"{prefix}{effect}: {why or 'cannot tell yet'}{hint}"


def decide_checks(suite: Suite, comparisons: list[Comparison]) -> list[CheckResult]:
    """Per-check verdicts with Holm control of false FAILs across all checks.

    ``suite.gate.alpha`` is the family-wise α actually spent (sequential looks and their
    fallback pass a suite carrying their share); each result records it with its p-value,
    and the confidence and kind of its interval.
    """
    policy = suite.gate
    # Holm's family: every tested check, the request-error check included. Checks whose
    # verdict is preset (e.g. performance against a mismatched baseline) or that have no
    # data take no part, so they do not dilute the others' α.
    tested = [i for i, c in enumerate(comparisons) if c.estimate is not None and c.verdict is None]
    adjusted = holm_adjusted([comparisons[i].estimate.p_worse for i in tested]) if tested else []
    p_adj = [1.0] * len(comparisons)
    for i, p in zip(tested, adjusted, strict=True):
        p_adj[i] = p
    results = []
    for c, p in zip(comparisons, p_adj, strict=True):
        check, est = c.check, c.estimate
        more, why = None, ""
        if est is None or c.verdict is not None:
            verdict: Verdict = c.verdict or "inconclusive"
        else:
            verdict = decide(est, c.margin, fail_rejected=p < policy.alpha)
            if verdict == "inconclusive" and check.metric == "error_rate":
                more, why = _error_hint(c, policy)
            elif verdict == "inconclusive":
                fail_alpha = policy.alpha / len(tested)
                more = units_hint(est, c.margin, policy.pass_confidence, fail_alpha, c.units_run)
        tested_here = est is not None and c.verdict is None
        result = CheckResult(
            name=check.name,
            metric=check.metric,
            workload=check.workload,
            severity=check.severity,
            owner=check.owner,
            verdict=verdict,
            estimate=_finite(est.estimate) if est else None,
            ci_low=_finite(est.ci_low) if est else None,
            ci_high=_finite(est.ci_high) if est else None,
            margin=c.margin,
            margin_input=check.margin,
            scale=c.scale,  # type: ignore[arg-type]
            n=est.n if est else 0,
            p_value=p if tested_here else None,
            alpha=policy.alpha if tested_here else None,
            confidence=policy.pass_confidence if est else None,
            interval=interval_kind(est.method, policy.pass_confidence) if est else "",
            candidate_value=c.candidate_value,
            incumbent_value=c.incumbent_value,
            unit=c.unit,
            method=est.method if est else "",
            more_needed=more,
        )
        result.reason = _reason(result, c, more, why)
        results.append(result)
    return results


def overall(checks: list[CheckResult]) -> tuple[Verdict, Recommendation]:
    """The run's verdict and what to do about it."""
    critical = [c for c in checks if c.severity == "critical"]
    failed = [c for c in critical if c.verdict == "fail"]
    open_ = [c for c in critical if c.verdict == "inconclusive"]
    if failed:
        reasons = [f"{c.name} ({c.owner}): {c.reason}" for c in failed]
        return "fail", Recommendation(
            action="rollback",
            reasons=["keep (or restore) the incumbent: a critical check failed", *reasons],
        )
    if not critical or open_:
        reasons = [f"{c.name} ({c.owner}): {c.reason}" for c in open_]
        if not critical:
            reasons = ["the suite has no critical checks"]
        return "inconclusive", Recommendation(
            action="hold",
            reasons=["hold the release: not every critical check could be decided", *reasons],
        )
    reasons = [f"{c.name}: {c.reason}" for c in critical]
    return "pass", Recommendation(
        action="promote", reasons=["every critical check is within its margin", *reasons]
    )

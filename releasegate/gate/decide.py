"""The decide stage: comparisons + policy → per-check verdicts, overall verdict, recommendation.

- A check PASSes when its one-sided lower confidence bound (``gate.pass_confidence``) lies
  above −margin (non-inferiority).
- A check FAILs when the candidate is significantly worse — Holm-adjusted one-sided p-value
  below ``gate.alpha`` across all checks of the run — **and** the estimate is beyond −margin.
- Otherwise it is INCONCLUSIVE, with a rough count of units that would decide it.

Overall: FAIL if any critical check fails; PASS only if every critical check passes;
INCONCLUSIVE otherwise. Advisory checks are reported and never gate.
"""

from __future__ import annotations

import math

from releasegate.gate.compare import Comparison
from releasegate.gate.hints import units_hint
from releasegate.gate.result import CheckResult, Recommendation, Verdict
from releasegate.stats import decide, holm_adjusted
from releasegate.suite import Suite

UNITS = {
    "quality": "items",
    "peak_rss": "rounds",
    "output_tokens_per_s": "rounds",
    "requests_per_s": "rounds",
}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _describe_change(c: Comparison) -> str:
    if c.candidate_value is None or c.incumbent_value is None:
        return ""
    if c.scale == "difference":
        return (
            f"candidate {c.candidate_value:.3f} vs incumbent {c.incumbent_value:.3f} "
            f"({c.candidate_value - c.incumbent_value:+.3f})"
        )
    rel = c.candidate_value / c.incumbent_value - 1 if c.incumbent_value else float("nan")
    return (
        f"candidate {c.candidate_value:.4g} {c.unit} vs incumbent "
        f"{c.incumbent_value:.4g} {c.unit} ({rel:+.1%})"
    )


def _reason(c: Comparison, verdict: Verdict, p_adj: float | None, more: int | None) -> str:
    check = c.check
    if c.estimate is None:
        return f"no data: {c.note}"
    if c.verdict is not None and c.check.metric != "error_rate":
        return f"{_describe_change(c)}; {c.note}"
    if c.check.metric == "error_rate":
        limit = f"limit {c.check.margin:.1%}"
        return {
            "pass": f"{c.note}: within {limit}",
            "fail": f"{c.note}: candidate above {limit}, incumbent within it",
            "inconclusive": f"{c.note}: both arms above {limit} (environment?)",
        }[verdict]
    est = c.estimate
    if c.scale == "difference":
        bound = f"lower bound {est.ci_low:+.3f} vs margin −{check.margin:g}"
    else:
        # Δ is a log-ratio oriented so that negative = worse; the worst plausible relative
        # worsening is exp(−ci_low) − 1 (+23 % slower, or the incumbent 23 % ahead).
        bound = (
            f"worst plausible worsening {math.expm1(-est.ci_low):+.1%}"
            if math.isfinite(est.ci_low)
            else "interval unbounded"
        )
        bound += f" vs margin {check.margin:.0%}"
    change = _describe_change(c)
    if c.note:  # e.g. round pairs dropped or floored
        change = f"{change}; {c.note}"
    if verdict == "pass":
        return f"{change}; {bound}: within margin"
    if verdict == "fail":
        return f"{change}; significantly worse (adjusted p={p_adj:.2g}) and beyond margin"
    unit = UNITS.get(check.metric, "rounds")
    hint = f"; about {more} {unit} in total would decide it" if more else ""
    return f"{change}; {bound}: cannot tell yet{hint}"


def decide_checks(suite: Suite, comparisons: list[Comparison]) -> list[CheckResult]:
    """Per-check verdicts with Holm control of false FAILs across all checks."""
    policy = suite.gate
    # Holm's family: the tested checks. Threshold checks (verdict set, e.g. request errors)
    # and checks without data take no part, so they do not dilute the others' α.
    tested = [i for i, c in enumerate(comparisons) if c.estimate is not None and c.verdict is None]
    adjusted = holm_adjusted([comparisons[i].estimate.p_worse for i in tested]) if tested else []
    p_adj = [1.0] * len(comparisons)
    for i, p in zip(tested, adjusted, strict=True):
        p_adj[i] = p
    results = []
    for c, p in zip(comparisons, p_adj, strict=True):
        check, est = c.check, c.estimate
        if est is None or c.verdict is not None:
            verdict: Verdict = c.verdict or "inconclusive"
            more = None
        else:
            verdict = decide(est, c.margin, fail_rejected=p < policy.alpha)
            more = (
                units_hint(
                    est, c.margin, policy.pass_confidence, policy.alpha / len(tested), c.units_run
                )
                if verdict == "inconclusive"
                else None
            )
        results.append(
            CheckResult(
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
                p_value=p if est and c.verdict is None else None,
                candidate_value=c.candidate_value,
                incumbent_value=c.incumbent_value,
                unit=c.unit,
                method=est.method if est else "",
                reason=_reason(c, verdict, p, more),
                more_needed=more,
            )
        )
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

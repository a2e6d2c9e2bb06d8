"""One check's effect in the reader's terms: the one place every report and reason gets it.

A check's Δ is oriented (negative = candidate worse) and on the scale the test uses; people
read the candidate's change: "+52.3% TTFT p95 (slower)", "-47.0% tok/s", "+89.0% memory",
"-4.8 points", "1.39% of requests failed". :func:`describe` turns the estimate, its bounds
and the margin into that one signed number, its interval and the allowed change, all in the
same terms, so no report can show two different numbers for the same effect:

- latency tails, Δ = log(incumbent/candidate): change = exp(−Δ) − 1 (positive = slower);
- peak memory, Δ = log(incumbent/candidate): change = exp(−Δ) − 1 (positive = more memory);
- throughput, Δ = log(candidate/incumbent): change = exp(Δ) − 1 (negative = fewer tok/s);
- quality, Δ = difference of mean scores: 100·Δ points;
- request errors, Δ = −(the candidate's failure rate): the rate itself.

The bound that decides PASS (ci_low) maps to the worse end of the interval, and −margin to
the allowed change, so "interval inside the allowed change" is exactly PASS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from releasegate.gate.compare import ROUND_VALUES, TAILS
from releasegate.gate.result import CheckResult

DASH = "—"
_LABELS = {
    "ttft_p95": "TTFT p95",
    "ttft_p99": "TTFT p99",
    "e2e_p95": "e2e p95",
    "e2e_p99": "e2e p99",
    "itl_p95": "ITL p95",
    "output_tokens_per_s": "tok/s",
    "requests_per_s": "req/s",
    "peak_rss": "memory",
}
VALUE_LABELS = {  # what candidate_value / incumbent_value are (not the effect)
    "quality": "mean score",
    "peak_rss": "mean peak of rounds",
    "error_rate": "failed share",
    **{m: "mean of rounds" for m in ROUND_VALUES},
    **{m: f"p{round(100 * q)}, geo-mean of rounds" for m, (_, q) in TAILS.items()},
}


@dataclass(frozen=True)
class Effect:
    """A check's effect in the reader's terms (see the module docstring).

    Attributes:
        value, low, high: the change and its interval (low ≤ high), or None without data.
        limit: the worst change the margin allows, in the same terms.
        higher_is_worse: whether a larger change is worse (latency, memory, errors).
        text: the signed change with its unit, e.g. "+52.3% TTFT p95 (slower)".
        interval: "[low, high]" in the same format.
        margin: the allowed change, e.g. "≤ +25.0%" or "≥ -5.0 points".
    """

    value: float | None
    low: float | None
    high: float | None
    limit: float
    higher_is_worse: bool
    text: str
    interval: str
    margin: str

    @property
    def summary(self) -> str:
        """E.g. ``+52.3% TTFT p95 (slower) [+47.6%, +56.6%], allowed ≤ +25.0%``."""
        if self.value is None:
            return f"no estimate, allowed {self.margin}"
        return f"{self.text} {self.interval}, allowed {self.margin}"


def _pct(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+∞" if x > 0 else "-∞"
    if x >= 9.995:  # an interval from three round pairs can reach millions of percent
        return ">+999%"
    return f"{_tenths(x):+.1f}%"


def _tenths(x: float) -> float:
    """100·x rounded to one decimal, without a "-0.0"."""
    return round(100 * x, 1) + 0.0


def _points(x: float) -> str:
    if not math.isfinite(x):
        return f"{_pct(x)} points"
    return f"{_tenths(x):+.1f} points"


def _rate(x: float) -> str:
    return f"{100 * x:.2f}%" if math.isfinite(x) else _pct(x)


def _transform(metric: str, scale: str) -> tuple[Callable[[float], float], bool, str, str]:
    """(Δ → change, whether the change grows with Δ, unit label, kind)."""
    if metric == "error_rate":
        return (lambda d: -d), False, "of requests failed", "rate"
    if scale == "difference":
        return (lambda d: d), True, "", "points"
    if metric in TAILS or metric == "peak_rss":
        return (lambda d: math.expm1(-d)), False, _LABELS[metric], "percent"
    return (lambda d: math.expm1(d)), True, _LABELS.get(metric, ""), "percent"


def describe(check: CheckResult) -> Effect:
    """The check's effect, interval and allowed change in the reader's terms."""
    to, increasing, label, kind = _transform(check.metric, check.scale)
    show = {"rate": _rate, "points": _points, "percent": _pct}[kind]

    def mapped(d: float | None) -> float | None:
        return None if d is None else to(d)

    value = mapped(check.estimate)
    # A missing bound is unbounded (an interval too wide to state).
    lo_d = check.ci_low if check.ci_low is not None else -math.inf
    hi_d = check.ci_high if check.ci_high is not None else math.inf
    ends = (to(lo_d), to(hi_d)) if increasing else (to(hi_d), to(lo_d))
    low, high = ends if value is not None else (None, None)
    limit = to(-check.margin)
    worse_high = not increasing
    if value is None:
        text, interval = DASH, DASH
    else:
        text = show(value)
        text = f"{text} {label}".rstrip()
        if check.metric in TAILS and value != 0:
            text += " (slower)" if value > 0 else " (faster)"
        interval = f"[{show(ends[0])}, {show(ends[1])}]"
    margin = f"{'≤' if worse_high else '≥'} {show(limit)}"
    return Effect(value, low, high, limit, worse_high, text, interval, margin)


def values_label(check: CheckResult) -> str:
    """What the plain per-arm values are, e.g. "p95, geo-mean of rounds" (Harrell–Davis)."""
    return VALUE_LABELS.get(check.metric, "value")

"""The hint on an inconclusive check: how many units in total would roughly decide it."""

from __future__ import annotations

import pytest

from releasegate.gate.compare import Comparison
from releasegate.gate.decide import decide_checks
from releasegate.gate.hints import units_hint
from releasegate.stats import Estimate
from releasegate.suite import parse_suite


def est(estimate: float, se: float, n: int, low: float) -> Estimate:
    return Estimate(estimate, low, -low, 0.2, n, "test", se)


def test_pass_side_hand_worked() -> None:
    # n·(se·(z.95 + z.8)/(Δ̂ + M))² = 10·(0.05·(1.6449 + 0.8416)/0.05)² = 61.83 → 62
    assert units_hint(est(-0.05, 0.05, 10, -0.13), 0.1, 0.95, 0.0025) == 62


def test_fail_side_gets_a_hint_at_holms_strictest_level() -> None:
    # Δ̂ = −0.2 beyond −M = −0.1: n·(se·(z.9975 + z.8)/|Δ̂|)² = 10·(0.1·3.6487/0.2)² = 33.3 → 34
    assert units_hint(est(-0.2, 0.1, 10, -0.4), 0.1, 0.95, 0.01 / 4) == 34


def test_never_fewer_units_than_already_ran() -> None:
    # 20 clusters of 10 items: the hint is in items, and more than the 200 that ran
    close = est(-0.02, 0.01, 20, -0.04)
    needed = units_hint(close, 0.05, 0.95, 0.01, used=200)
    assert needed is not None and needed > 200
    assert needed == pytest.approx(200 * units_hint(close, 0.05, 0.95, 0.01) / 20, rel=0.06)
    # a formula that says "already enough" still names more than ran
    assert units_hint(est(0.5, 0.01, 8, -0.1), 0.05, 0.95, 0.01) == 9
    assert units_hint(Estimate(0.0, -1, 1, 0.5, 1, "one", None), 0.05, 0.95, 0.01) is None


def test_decide_names_the_hint_for_a_check_short_of_a_fail() -> None:
    suite = parse_suite(
        """\
name: h
server: {url: "http://127.0.0.1:1"}
candidate: {id: a}
incumbent: {id: b}
load:
  - {name: l, prompts: [hi], requests_per_round: 2, rounds: 8}
gate:
  checks:
    - {name: tput, metric: output_tokens_per_s, margin: 0.1, owner: perf}
"""
    )
    check = suite.gate.checks[0]
    # −20 % with p = 0.02: beyond the margin but not significant at α = 1 %
    worse = Estimate(-0.2, -0.37, -0.03, 0.02, 8, "paired log-ratio t", 0.09)
    comparison = Comparison(check, worse, "log-ratio", 0.0953, 80.0, 100.0, "tok/s", units_run=8)
    (result,) = decide_checks(suite, [comparison])
    assert result.verdict == "inconclusive"
    # FAIL side at α/1: 8·(0.09·(z.99 + z.8)/0.2)² = 8·(0.09·3.168/0.2)² = 16.3 → 17
    # (the PASS-side formula used before named 37 rounds: a distance to a bound it cannot reach)
    assert result.more_needed == 17
    assert f"about {result.more_needed} rounds in total would decide it" in result.reason

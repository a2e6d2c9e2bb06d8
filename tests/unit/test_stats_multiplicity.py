"""Holm step-down and the non-inferiority verdict."""

from __future__ import annotations

import math

import pytest

from releasegate.stats import Estimate, decide, holm, holm_adjusted


def test_holm_hand_worked_example() -> None:
    # sorted: 0.005 <= 0.05/4 yes; 0.01 <= 0.05/3 yes; 0.03 <= 0.05/2 no -> stop
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p, 0.05) == [True, False, False, True]
    # adjusted: 4*0.005=0.02, 3*0.01=0.03, max(2*0.03, .03)=0.06, max(1*0.04, .06)=0.06
    assert holm_adjusted(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_step_down_stops_at_first_failure() -> None:
    # 0.04 alone would pass its own step (0.05/1) but the step before it failed
    assert holm([0.03, 0.04], 0.05) == [False, False]
    assert holm([0.02, 0.04], 0.05) == [True, True]
    assert holm_adjusted([0.03, 0.04]) == pytest.approx([0.06, 0.06])


def test_holm_agrees_with_adjusted_values_and_clips() -> None:
    p = [0.001, 0.2, 0.011, 0.012, 0.6, 0.013]
    adjusted = holm_adjusted(p)
    assert max(adjusted) <= 1.0
    for alpha in (0.01, 0.05, 0.1):
        assert holm(p, alpha) == [a <= alpha for a in adjusted]
    assert holm([], 0.05) == [] and holm_adjusted([]) == []


def test_holm_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        holm([0.1, 1.2], 0.05)
    with pytest.raises(ValueError):
        holm([0.1], 0.0)
    with pytest.raises(ValueError):
        holm_adjusted([math.nan])


def _est(estimate: float, low: float, high: float) -> Estimate:
    return Estimate(estimate, low, high, 0.5, 100, "test")


def test_decide_cases() -> None:
    margin = 0.02
    assert decide(_est(0.0, -0.01, 0.01), margin, fail_rejected=False) == "pass"
    # a significant but small drop inside the margin still passes
    assert decide(_est(-0.01, -0.015, -0.005), margin, fail_rejected=True) == "pass"
    assert decide(_est(-0.05, -0.08, -0.03), margin, fail_rejected=True) == "fail"
    # clearly worse but Holm did not reject: not enough evidence to fail
    assert decide(_est(-0.05, -0.08, -0.03), margin, fail_rejected=False) == "inconclusive"
    # rejected, but the estimate lies within the margin while the bound crosses it
    assert decide(_est(-0.015, -0.03, -0.001), margin, fail_rejected=True) == "inconclusive"
    assert decide(_est(0.0, -math.inf, math.inf), margin, fail_rejected=False) == "inconclusive"
    with pytest.raises(ValueError):
        decide(_est(0.0, -0.01, 0.01), -0.1, fail_rejected=False)

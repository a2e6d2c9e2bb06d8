"""Sample-size planning."""

from __future__ import annotations

import math

import numpy as np
import pytest

from releasegate.stats import (
    Estimate,
    paired_numeric,
    required_n,
    required_n_mcnemar,
    units_to_decide,
)


def test_required_n_miller_example() -> None:
    assert required_n(math.sqrt(1 / 9), 0.03, alpha=0.05, power=0.8, one_sided=False) == 969


def test_required_n_one_sided_needs_fewer() -> None:
    one = required_n(1.0, 0.1, alpha=0.05, power=0.8, one_sided=True)
    # (1.6449 + 0.8416)^2 / 0.01 = 618.3
    assert one == 619
    assert one < required_n(1.0, 0.1, alpha=0.05, power=0.8, one_sided=False)


@pytest.mark.parametrize(("psi", "expected"), [(0.10, 312), (0.15, 469), (0.20, 626), (0.30, 940)])
def test_required_n_mcnemar_connor_table(psi: float, expected: int) -> None:
    assert required_n_mcnemar(psi, 0.05, alpha=0.05, power=0.8, one_sided=False) == expected


def test_required_n_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        required_n(1.0, 0.0)
    with pytest.raises(ValueError):
        required_n(1.0, 0.1, power=1.0)
    with pytest.raises(ValueError):
        required_n_mcnemar(0.001, 0.05)


def test_units_to_decide_formula() -> None:
    est = Estimate(-0.01, -0.03, 0.01, 0.2, 100, "test", se=0.012)
    z = 1.6448536269514722 + 0.8416212335729143
    expected = math.ceil(100 * (0.012 * z / abs(-0.01 + 0.03)) ** 2)
    assert units_to_decide(est, 0.03, confidence=0.95, power=0.8) == expected == 223


def test_units_to_decide_never_below_n_and_none_when_unknown() -> None:
    decisive = Estimate(0.0, -0.001, 0.001, 0.5, 500, "test", se=0.0005)
    assert units_to_decide(decisive, 0.05) == 500
    assert units_to_decide(Estimate(0.0, -1, 1, 0.5, 10, "test", se=None), 0.05) is None
    assert units_to_decide(Estimate(-0.05, -1, 1, 0.5, 10, "test", se=0.1), 0.05) is None
    assert units_to_decide(Estimate(math.nan, -1, 1, 1.0, 0, "test", se=0.1), 0.05) is None


def test_units_to_decide_makes_interval_decisive() -> None:
    rng = np.random.default_rng(31)
    d = rng.normal(0.0, 0.3, 40)  # truth 0, margin 0.05: a pilot of 40 is not enough
    pilot = paired_numeric(d, np.zeros(40), confidence=0.95)
    assert pilot.ci_low < -0.05
    needed = units_to_decide(pilot, 0.05, confidence=0.95, power=0.8)
    assert needed is not None and needed > 40
    passes = 0
    for _ in range(200):
        full = rng.normal(0.0, 0.3, needed)
        passes += paired_numeric(full, np.zeros(needed), confidence=0.95).ci_low > -0.05
    assert passes / 200 > 0.6  # planned for ~0.8 power at the pilot's (noisy) estimate

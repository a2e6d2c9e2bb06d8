"""Always-valid mSPRT p-values and confidence sequences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from releasegate.stats import msprt


def test_matches_formula_by_hand() -> None:
    x = [0.5, -0.2, 0.9]
    v, tau2 = 2.0, 0.5
    result = msprt(x, variance=v, tau2=tau2)
    expected = []
    p = 1.0
    for n in range(1, 4):
        mean = sum(x[:n]) / n
        lam = math.sqrt(v / (v + n * tau2)) * math.exp(
            tau2 * n**2 * mean**2 / (2 * v * (v + n * tau2))
        )
        p = min(p, 1 / lam)
        expected.append(p)
    assert result.p_values == pytest.approx(expected)
    assert result.mean == pytest.approx([0.5, 0.15, 0.4])


def test_p_values_never_increase_and_cs_never_widens() -> None:
    x = np.random.default_rng(40).normal(0.3, 1.0, 50)
    result = msprt(x, variance=1.0)
    assert np.all(np.diff(result.p_values) <= 0)
    assert np.all(np.diff(result.ci_low) >= 0) and np.all(np.diff(result.ci_high) <= 0)
    assert np.all(result.ci_low <= result.ci_high)


def test_false_alarm_rate_under_continuous_peeking() -> None:
    rng = np.random.default_rng(41)
    x = rng.normal(0.0, 1.0, size=(2000, 20))
    result = msprt(x, variance=1.0, tau2=0.25)
    ever = np.mean(result.p_values[:, -1] <= 0.05)
    assert ever < 0.07
    naive_z = np.cumsum(x, axis=1) / np.sqrt(np.arange(1, 21))
    naive = np.mean(np.any(np.abs(naive_z) > 1.96, axis=1))
    assert naive > 0.15  # peeking at a fixed-n test inflates alpha several-fold


def test_confidence_sequence_covers_throughout() -> None:
    rng = np.random.default_rng(42)
    x = rng.normal(-0.4, 1.0, size=(2000, 20))
    result = msprt(x, variance=1.0, tau2=0.25, theta0=0.0, alpha=0.05)
    always = np.all((result.ci_low <= -0.4) & (result.ci_high >= -0.4), axis=1)
    assert always.mean() > 0.93


def test_power_against_a_real_shift() -> None:
    x = np.random.default_rng(43).normal(-1.0, 1.0, size=(500, 20))
    assert np.mean(msprt(x, variance=1.0).p_values[:, -1] <= 0.05) > 0.85  # ~0.94


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        msprt([0.1, 0.2], variance=0.0)
    with pytest.raises(ValueError):
        msprt([0.1, math.inf], variance=1.0)
    with pytest.raises(ValueError):
        msprt([0.1], variance=1.0, alpha=1.5)

"""Per-round log-ratio comparisons (throughput, memory)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from releasegate.stats import paired_log_ratio


def test_matches_scipy_paired_t_on_logs() -> None:
    inc = np.array([50.1, 48.7, 52.3, 49.9, 51.0, 47.8])
    cand = np.array([45.2, 44.9, 47.0, 46.1, 45.5, 44.0])
    est = paired_log_ratio(cand, inc, higher_is_better=True, confidence=0.95)
    r = np.log(cand / inc)
    se = r.std(ddof=1) / math.sqrt(6)
    assert est.estimate == pytest.approx(r.mean())
    assert est.se == pytest.approx(se)
    assert est.ci_low == pytest.approx(r.mean() - stats.t.ppf(0.95, 5) * se)
    assert est.ci_high == pytest.approx(r.mean() + stats.t.ppf(0.95, 5) * se)
    ref = stats.ttest_rel(np.log(cand), np.log(inc), alternative="less").pvalue
    assert est.p_worse == pytest.approx(ref)
    assert est.estimate < 0 and est.n == 6


def test_lower_is_better_flips_sign() -> None:
    inc = [1000.0, 1010.0, 990.0]
    cand = [1200.0, 1190.0, 1220.0]  # more memory: worse
    est = paired_log_ratio(cand, inc, higher_is_better=False, confidence=0.95)
    assert est.estimate == pytest.approx(-np.mean(np.log(np.array(cand) / inc)))
    assert est.estimate < 0


def test_constant_ratios_use_exact_sign_flip_not_certainty() -> None:
    """Regression (issue 10, defect 6): constant log-ratios gave a point interval, p = 0."""
    same = paired_log_ratio([10.0, 12.0, 9.0], [10.0, 12.0, 9.0], higher_is_better=True)
    assert same.estimate == 0 and same.p_worse == 1.0
    assert same.ci_low == -math.inf and same.ci_high == math.inf  # 2^3 * 0.05 < 1
    worse = paired_log_ratio([5.0, 6.0, 4.5], [10.0, 12.0, 9.0], higher_is_better=True)
    assert worse.estimate == pytest.approx(-math.log(2))
    assert worse.p_worse == pytest.approx(1 / 8)  # exact sign-flip over 3 pairs
    assert worse.ci_low == -math.inf
    five = paired_log_ratio([5.0] * 5, [10.0] * 5, higher_is_better=True)
    assert five.p_worse == pytest.approx(1 / 32)
    assert five.ci_low == five.ci_high == pytest.approx(-math.log(2))


def test_too_few_rounds_do_not_crash() -> None:
    one = paired_log_ratio([90.0], [100.0], higher_is_better=True)
    assert one.estimate == pytest.approx(math.log(0.9))
    assert one.ci_low == -math.inf and one.ci_high == math.inf and one.p_worse == 1.0
    none = paired_log_ratio([], [], higher_is_better=True)
    assert math.isnan(none.estimate) and none.n == 0 and none.p_worse == 1.0


def test_rejects_non_positive_values() -> None:
    with pytest.raises(ValueError):
        paired_log_ratio([1.0, 0.0], [1.0, 1.0], higher_is_better=True)


def test_coverage() -> None:
    rng = np.random.default_rng(21)
    truth = math.log(0.9)
    covered = 0
    for _ in range(500):
        load = rng.lognormal(0, 0.2, 6)
        inc = 100 * load * rng.lognormal(0, 0.03, 6)
        cand = 90 * load * rng.lognormal(0, 0.03, 6)
        est = paired_log_ratio(cand, inc, higher_is_better=True, confidence=0.975)
        covered += est.ci_low <= truth <= est.ci_high
    assert 0.88 <= covered / 500 <= 0.99

"""Paired quality estimators: McNemar (normal / exact / clustered) and numeric (t / sign-flip)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from releasegate.stats import paired_binary, paired_numeric


def _binary_pairs(b: int, c: int, both: int, neither: int) -> tuple[list[int], list[int]]:
    cand = [0] * b + [1] * c + [1] * both + [0] * neither
    inc = [1] * b + [0] * c + [1] * both + [0] * neither
    return cand, inc


def _draw_binary(rng: np.random.Generator, n: int, probs: list[float]) -> tuple:
    cat = rng.choice(4, size=n, p=probs)  # 0 both right, 1 inc only, 2 cand only, 3 neither
    inc = np.isin(cat, [0, 1]).astype(float)
    cand = np.isin(cat, [0, 2]).astype(float)
    return cand, inc


def test_mcnemar_normal_hand_example() -> None:
    cand, inc = _binary_pairs(b=10, c=25, both=100, neither=65)  # n = 200
    est = paired_binary(cand, inc, confidence=0.95)
    se = math.sqrt(35 - 15**2 / 200) / 200  # = sqrt(33.875)/200
    assert est.n == 200
    assert est.estimate == pytest.approx(0.075)
    assert est.se == pytest.approx(se) and se == pytest.approx(0.0291011, rel=1e-5)
    assert est.ci_low == pytest.approx(0.075 - 1.6448536 * se, rel=1e-6)
    assert est.ci_high == pytest.approx(0.075 + 1.6448536 * se, rel=1e-6)
    assert est.p_worse == pytest.approx(stats.norm.cdf(15 / math.sqrt(35)))
    assert est.p_worse == pytest.approx(0.99438, abs=1e-4)


def test_mcnemar_orientation_candidate_worse() -> None:
    cand, inc = _binary_pairs(b=40, c=10, both=100, neither=50)
    est = paired_binary(cand, inc, confidence=0.95)
    assert est.estimate == pytest.approx(-30 / 200)
    assert est.ci_high < 0
    assert est.p_worse == pytest.approx(stats.norm.cdf(-30 / math.sqrt(50)))


def test_mcnemar_exact_matches_binomtest_and_clopper_pearson() -> None:
    cand, inc = _binary_pairs(b=9, c=3, both=30, neither=8)  # n = 50, m = 12
    est = paired_binary(cand, inc, confidence=0.95)
    assert "exact" in est.method
    assert est.estimate == pytest.approx(-6 / 50)
    assert est.p_worse == pytest.approx(stats.binomtest(3, 12, 0.5, alternative="less").pvalue)
    pi_low = stats.beta.ppf(0.05, 3, 10)
    pi_high = stats.beta.ppf(0.95, 4, 9)
    assert est.ci_low == pytest.approx(12 / 50 * (2 * pi_low - 1))
    assert est.ci_high == pytest.approx(12 / 50 * (2 * pi_high - 1))
    # the one-sided CP upper bound of pi agrees with binomtest's interval
    ci = stats.binomtest(3, 12, 0.5, alternative="less").proportion_ci(confidence_level=0.95)
    assert pi_high == pytest.approx(ci.high)


def test_mcnemar_exact_extreme_counts() -> None:
    cand, inc = _binary_pairs(b=0, c=5, both=10, neither=5)
    est = paired_binary(cand, inc, confidence=0.95)
    assert est.ci_high == pytest.approx(5 / 20)  # pi_high = 1
    assert est.p_worse == pytest.approx(1.0)
    cand, inc = _binary_pairs(b=5, c=0, both=10, neither=5)
    est = paired_binary(cand, inc, confidence=0.95)
    assert est.ci_low == pytest.approx(-5 / 20)
    assert est.p_worse == pytest.approx(0.5**5)


def test_mcnemar_no_discordant_items() -> None:
    est = paired_binary([1, 0, 1, 1], [1, 0, 1, 1], confidence=0.95)
    assert (est.estimate, est.ci_low, est.ci_high, est.p_worse, est.n) == (0.0, 0.0, 0.0, 1.0, 4)


def test_binary_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        paired_binary([1, 0.5], [1, 0], confidence=0.95)
    with pytest.raises(ValueError):
        paired_binary([1, 0], [1], confidence=0.95)
    with pytest.raises(ValueError):
        paired_binary([1, 0], [1, 0], confidence=0.3)


def test_binary_clusters_hand_computed() -> None:
    cand = [1, 1, 0, 1, 0, 0, 1, 1]
    inc = [0, 1, 1, 0, 0, 1, 1, 0]
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    d = np.array(cand, float) - np.array(inc, float)  # 1 0 -1 1 0 -1 0 1, mean 1/8
    resid_totals = [1 - 2 / 8, 0 - 2 / 8, -1 - 2 / 8, 1 - 2 / 8]
    se = math.sqrt(4 / 3 * sum(t**2 for t in resid_totals)) / 8
    est = paired_binary(cand, inc, confidence=0.9, clusters=groups)
    assert est.n == 4
    assert est.estimate == pytest.approx(d.mean())
    assert est.se == pytest.approx(se)
    assert est.ci_low == pytest.approx(d.mean() - stats.t.ppf(0.9, 3) * se)
    assert est.p_worse == pytest.approx(stats.t.cdf(d.mean() / se, 3))


def test_singleton_clusters_equal_ordinary_t() -> None:
    rng = np.random.default_rng(5)
    cand, inc = rng.normal(size=40), rng.normal(size=40)
    clustered = paired_numeric(cand, inc, 0.95, clusters=list(range(40)))
    plain = paired_numeric(cand, inc, 0.95)
    assert clustered.se == pytest.approx(plain.se)
    assert clustered.ci_low == pytest.approx(plain.ci_low)
    assert clustered.p_worse == pytest.approx(plain.p_worse)


def test_clustered_interval_is_wider_when_clusters_share_effects() -> None:
    rng = np.random.default_rng(6)
    groups = np.repeat(np.arange(20), 10)
    shared = rng.normal(0, 1, 20)[groups]
    cand = shared + rng.normal(0, 0.3, 200)
    inc = rng.normal(0, 0.3, 200)
    plain = paired_numeric(cand, inc, 0.95)
    clustered = paired_numeric(cand, inc, 0.95, clusters=groups)
    assert clustered.se > 2 * plain.se
    assert clustered.n == 20


def test_paired_numeric_t_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    inc = rng.normal(0.6, 0.2, 50)
    cand = inc - 0.05 + rng.normal(0, 0.1, 50)
    est = paired_numeric(cand, inc, confidence=0.95)
    d = cand - inc
    se = d.std(ddof=1) / math.sqrt(50)
    assert est.method == "paired t"
    assert est.p_worse == pytest.approx(stats.ttest_rel(cand, inc, alternative="less").pvalue)
    assert est.ci_low == pytest.approx(d.mean() - stats.t.ppf(0.95, 49) * se)
    assert est.ci_high == pytest.approx(d.mean() + stats.t.ppf(0.95, 49) * se)
    flipped = paired_numeric(cand, inc, confidence=0.95, higher_is_better=False)
    assert flipped.estimate == pytest.approx(-est.estimate)
    assert flipped.p_worse == pytest.approx(1 - est.p_worse)


def test_sign_flip_matches_brute_force() -> None:
    d = np.array([0.3, -0.1, 0.25, 0.4, -0.05, 0.2, 0.15, -0.2])
    inc = np.zeros_like(d)
    est = paired_numeric(d, inc, confidence=0.95)
    assert est.method == "paired sign-flip exact"
    sums = [float(np.dot(s, d)) for s in itertools.product([1, -1], repeat=d.size)]
    observed = float(d.sum())
    p_brute = sum(s <= observed + 1e-12 for s in sums) / len(sums)
    assert est.p_worse == pytest.approx(p_brute)
    means = sorted(
        float(np.mean(sub)) for k in range(1, d.size + 1) for sub in itertools.combinations(d, k)
    )
    k = math.floor(0.05 * 2**d.size)  # 12
    assert est.ci_low == pytest.approx(means[k - 1])
    assert est.ci_high == pytest.approx(means[-k])


def test_sign_flip_interval_agrees_with_p_value() -> None:
    rng = np.random.default_rng(8)
    for _ in range(200):
        d = rng.normal(-0.3, 1.0, 9)
        est = paired_numeric(d, np.zeros(9), confidence=0.95)
        assert (est.ci_high < 0) == (est.p_worse <= 0.05)


def test_sign_flip_too_few_items_gives_infinite_interval() -> None:
    est = paired_numeric([1.0, 2.0, 1.5, 0.5], [0.0, 0.0, 0.0, 0.0], confidence=0.95)
    assert est.ci_low == -math.inf and est.ci_high == math.inf
    assert est.p_worse == pytest.approx(1.0)  # every flip sum <= the all-positive sum


def test_constant_and_empty_numeric() -> None:
    est = paired_numeric([1.0, 2.0, 3.0], [1.5, 2.5, 3.5], confidence=0.95)
    assert (est.estimate, est.ci_low, est.ci_high, est.p_worse) == (-0.5, -0.5, -0.5, 0.0)
    single = paired_numeric([0.2], [0.9], confidence=0.95)
    assert single.estimate == pytest.approx(-0.7)
    assert single.ci_low == -math.inf and single.p_worse == 1.0
    empty = paired_numeric([], [], confidence=0.95)
    assert math.isnan(empty.estimate) and empty.p_worse == 1.0 and empty.n == 0


def test_binary_coverage_and_power() -> None:
    rng = np.random.default_rng(11)
    probs = [0.6, 0.1, 0.05, 0.25]  # truth: Δ = 0.05 - 0.10
    covered = rejected = 0
    for _ in range(500):
        cand, inc = _draw_binary(rng, 200, probs)
        est = paired_binary(cand, inc, confidence=0.975)
        covered += est.ci_low <= -0.05 <= est.ci_high
        rejected += est.p_worse <= 0.05
    assert 0.88 <= covered / 500 <= 0.99
    assert rejected / 500 > 0.4  # power of a 5-point drop at n = 200, psi = 0.15 (~0.52)
    covered = 0
    for _ in range(500):
        cand, inc = _draw_binary(rng, 60, probs)  # exact path, m ~ 9
        est = paired_binary(cand, inc, confidence=0.975)
        covered += est.ci_low <= -0.05 <= est.ci_high
    assert 0.88 <= covered / 500 <= 0.995


def test_binary_false_alarm_rate_under_null() -> None:
    rng = np.random.default_rng(12)
    hits = sum(
        paired_binary(*_draw_binary(rng, 150, [0.6, 0.1, 0.1, 0.2]), 0.95).p_worse <= 0.05
        for _ in range(500)
    )
    assert hits / 500 < 0.09


def test_numeric_coverage_small_and_large_n() -> None:
    rng = np.random.default_rng(13)
    for n in (10, 40):
        covered = 0
        for _ in range(500):
            inc = rng.normal(0.5, 0.2, n)
            cand = inc - 0.1 + rng.normal(0, 0.15, n)
            est = paired_numeric(cand, inc, confidence=0.975)
            covered += est.ci_low <= -0.1 <= est.ci_high
        assert 0.88 <= covered / 500 <= 0.99, n


def test_numeric_power_for_clear_regression() -> None:
    rng = np.random.default_rng(14)
    hits = 0
    for _ in range(200):
        inc = rng.normal(0.5, 0.2, 60)
        cand = inc - 0.1 + rng.normal(0, 0.15, 60)
        hits += paired_numeric(cand, inc, confidence=0.95).p_worse <= 0.05
    assert hits / 200 > 0.95

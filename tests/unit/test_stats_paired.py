"""Paired quality estimators: McNemar (Tango score / clustered) and numeric (t / sign-flip)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize, stats

from releasegate.stats import paired_binary, paired_numeric
from releasegate.stats.estimate import cluster_robust
from releasegate.stats.tango import tango_bounds


def _binary_pairs(b: int, c: int, both: int, neither: int) -> tuple[list[int], list[int]]:
    cand = [0] * b + [1] * c + [1] * both + [0] * neither
    inc = [1] * b + [0] * c + [1] * both + [0] * neither
    return cand, inc


def _draw_binary(rng: np.random.Generator, n: int, probs: list[float]) -> tuple:
    cat = rng.choice(4, size=n, p=probs)  # 0 both right, 1 inc only, 2 cand only, 3 neither
    inc = np.isin(cat, [0, 1]).astype(float)
    cand = np.isin(cat, [0, 2]).astype(float)
    return cand, inc


def _tango_reference(b: int, c: int, n: int, confidence: float, corr: float) -> tuple:
    """Independent Tango bounds: numerical constrained MLE (no closed form) and brentq."""
    z = stats.norm.ppf(confidence)
    a_cnt = n - b - c

    def score(delta0: float, shift: float) -> float:
        lo_p, hi_p = max(0.0, -delta0), (1.0 - delta0) / 2  # P(lost) keeping all cells >= 0

        def nll(p: float) -> float:
            cells = (p, p + delta0, 1.0 - 2 * p - delta0)
            return -sum(
                k * math.log(max(x, 1e-300)) for k, x in zip((b, c, a_cnt), cells, strict=True)
            )

        p_hat = optimize.minimize_scalar(
            nll, bounds=(lo_p, hi_p), method="bounded", options={"xatol": 1e-13}
        ).x
        var = n * (2 * p_hat + delta0 - delta0**2)
        return (c - b + shift - n * delta0) / math.sqrt(var)

    est = (c - b) / n
    low = optimize.brentq(lambda x: score(x, -corr) - z, -1 + 1e-9, est, xtol=1e-12)
    high = optimize.brentq(lambda x: score(x, corr) + z, est, 1 - 1e-9, xtol=1e-12)
    return low, high


@pytest.mark.parametrize(
    ("b", "c", "both", "neither"),
    [(10, 25, 100, 65), (9, 3, 30, 8), (5, 1, 60, 30), (2, 7, 5, 6), (1, 7, 1, 12)],
)
def test_tango_matches_independent_implementation(b: int, c: int, both: int, neither: int) -> None:
    cand, inc = _binary_pairs(b, c, both, neither)
    n = b + c + both + neither
    est = paired_binary(cand, inc, confidence=0.95)
    low, high = _tango_reference(b, c, n, 0.95, 0.5)
    assert est.estimate == pytest.approx((c - b) / n)
    assert est.ci_low == pytest.approx(low, abs=1e-7)
    assert est.ci_high == pytest.approx(high, abs=1e-7)
    assert est.p_worse == pytest.approx(stats.norm.cdf((c - b + 0.5) / math.sqrt(b + c)))
    z = stats.norm.ppf(0.95)
    raw = tango_bounds(b, c, n, z, correction=0.0)  # uncorrected Tango (1998)
    ref = _tango_reference(b, c, n, 0.95, 0.0)
    assert float(raw[0]) == pytest.approx(ref[0], abs=1e-7)
    assert float(raw[1]) == pytest.approx(ref[1], abs=1e-7)


def test_tango_uncorrected_matches_wald_at_large_n() -> None:
    b, c, n = 400, 500, 10_000  # near-normal: score and Wald bounds agree to O(1/n)
    se = math.sqrt(b + c - (c - b) ** 2 / n) / n
    low, high = tango_bounds(b, c, n, 1.6448536, correction=0.0)
    assert float(low) == pytest.approx(0.01 - 1.6448536 * se, abs=2e-4)
    assert float(high) == pytest.approx(0.01 + 1.6448536 * se, abs=2e-4)


def test_mcnemar_orientation_candidate_worse() -> None:
    cand, inc = _binary_pairs(b=40, c=10, both=100, neither=50)
    est = paired_binary(cand, inc, confidence=0.95)
    assert est.estimate == pytest.approx(-30 / 200)
    assert est.ci_high < 0
    assert est.p_worse == pytest.approx(stats.norm.cdf(-29.5 / math.sqrt(50)))


def test_lost_only_lower_bound_is_below_the_estimate() -> None:
    """Regression (issue 10, defect 1): with c = 0 the old lower bound equalled Δ̂."""
    cand, inc = _binary_pairs(b=5, c=0, both=60, neither=31)  # n = 96, 5 lost, none won
    est = paired_binary(cand, inc, confidence=0.95)
    assert est.estimate == pytest.approx(-5 / 96)
    assert est.ci_low < est.estimate - 0.04  # Tango: -0.1098 (old exact path: -0.0521)
    assert est.ci_low == pytest.approx(_tango_reference(5, 0, 96, 0.95, 0.5)[0], abs=1e-7)
    assert est.ci_low < -0.05  # so a 5-point margin cannot PASS on this table


def test_no_discordant_items_is_not_certainty() -> None:
    """Regression: b = c = 0 gave [0, 0] and one item could PASS any margin."""
    n, z = 20, stats.norm.ppf(0.95)
    est = paired_binary([1] * 12 + [0] * 8, [1] * 12 + [0] * 8, confidence=0.95)
    # the bound solves (n·psi − 1/2)^2 = z^2 · n · psi(1 − psi): psi = 0.15975 at n = 20
    qa, qb = n**2 + z**2 * n, n + z**2 * n
    psi = (qb + math.sqrt(qb**2 - qa)) / (2 * qa)
    assert (est.estimate, est.p_worse) == (0.0, 1.0)
    assert est.ci_low == pytest.approx(-psi, abs=1e-9) and psi == pytest.approx(0.15975, abs=1e-5)
    assert est.ci_high == pytest.approx(psi, abs=1e-9)
    # a 5-point margin cannot PASS until 70 concordant items (the exact binomial bound: 59)
    assert (
        paired_binary([1] * 69, [1] * 69).ci_low < -0.05 < paired_binary([1] * 70, [1] * 70).ci_low
    )
    assert paired_binary([1], [1]).ci_low < -0.5


def test_binary_p_value_agrees_with_interval() -> None:
    for confidence in (0.9, 0.975):
        for b, c in itertools.product(range(14), repeat=2):
            cand, inc = _binary_pairs(b, c, 20, 40 - b - c)
            est = paired_binary(cand, inc, confidence=confidence)
            assert est.ci_low <= est.estimate <= est.ci_high
            assert (est.ci_high < 0) == (est.p_worse < 1 - confidence), (b, c, confidence)


def test_binary_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        paired_binary([1, 0.5], [1, 0], confidence=0.95)
    with pytest.raises(ValueError):
        paired_binary([1, 0], [1], confidence=0.95)
    with pytest.raises(ValueError):
        paired_binary([1, 0], [1, 0], confidence=0.3)


def test_binary_few_clusters_use_exact_sign_flip() -> None:
    cand = [1, 1, 0, 1, 0, 0, 1, 1]
    inc = [0, 1, 1, 0, 0, 1, 1, 0]
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    totals = [1.0, 0.0, -1.0, 1.0]  # per-cluster sums of d, each cluster 2 items
    est = paired_binary(cand, inc, confidence=0.9, clusters=groups)
    assert est.n == 4 and "sign-flip" in est.method
    assert est.estimate == pytest.approx(1 / 8)
    flips = [float(np.dot(s, totals)) for s in itertools.product([1, -1], repeat=4)]
    assert est.p_worse == pytest.approx(sum(f <= 1.0 + 1e-12 for f in flips) / 16)
    subset_means = sorted(
        sum(sub) / (2 * k) for k in range(1, 5) for sub in itertools.combinations(totals, k)
    )
    assert est.ci_low == pytest.approx(subset_means[0])  # k = floor(0.1 * 16) = 1
    assert est.ci_high == pytest.approx(subset_means[-1])


def test_clustered_mcnemar_with_two_lost_items_is_not_certain() -> None:
    """Regression (defect 6): two lost items in two clusters gave p = 0 and FAILed."""
    est = paired_binary([0, 0], [1, 1], confidence=0.95, clusters=["a", "b"])
    assert est.p_worse == pytest.approx(0.25)
    assert est.ci_low == -math.inf and est.ci_high == math.inf


def test_cluster_robust_cr1_hand_computed() -> None:
    d = np.array([1, 0, -1, 1, 0, -1, 0, 1], dtype=float)
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    resid_totals = [1 - 2 / 8, 0 - 2 / 8, -1 - 2 / 8, 1 - 2 / 8]
    se = math.sqrt(4 / 3 * sum(t**2 for t in resid_totals)) / 8
    est = cluster_robust(d, groups, 0.9, "cr1", exact_below=2)  # force the t reference
    assert est.n == 4 and est.method == "cr1"
    assert est.estimate == pytest.approx(d.mean())
    assert est.se == pytest.approx(se)
    assert est.ci_low == pytest.approx(d.mean() - stats.t.ppf(0.9, 3) * se)
    assert est.p_worse == pytest.approx(stats.t.cdf(d.mean() / se, 3))


def test_many_clusters_with_equal_means_use_closed_form_sign_flip() -> None:
    d = np.tile([-1.0, 0.0], 25)  # 25 clusters of 2 items, every cluster mean -0.5
    est = cluster_robust(d, np.repeat(np.arange(25), 2), 0.95, "cr1")
    assert est.p_worse == pytest.approx(0.5**25) and est.ci_low == est.ci_high == -0.5


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


def test_constant_differences_are_not_certainty() -> None:
    """Regression (defect 6): constant differences gave a point interval with p = 0."""
    two = paired_numeric([0.5, 0.5], [1.0, 1.0], confidence=0.95)
    assert two.p_worse == pytest.approx(0.25)  # exact sign-flip: 1 pattern of 4
    assert two.ci_low == -math.inf and two.ci_high == math.inf
    three = paired_numeric([1.0, 2.0, 3.0], [1.5, 2.5, 3.5], confidence=0.95)
    assert three.estimate == -0.5 and three.p_worse == pytest.approx(0.125)
    five = paired_numeric([0.0] * 5, [0.2] * 5, confidence=0.95)  # 2^-5 < 0.05: a point
    assert five.p_worse == pytest.approx(1 / 32) and five.ci_low == five.ci_high == -0.2
    many = paired_numeric([0.0] * 30, [0.2] * 30, confidence=0.95)
    assert many.p_worse == pytest.approx(0.5**30) and many.ci_high == pytest.approx(-0.2)
    better = paired_numeric([1.0] * 6, [0.5] * 6, confidence=0.95)
    assert better.p_worse == 1.0
    # the closed form is what the enumeration gives on the same data
    brute = [
        float(np.dot(s, [-0.5] * 3)) <= -1.5 + 1e-12 for s in itertools.product([1, -1], repeat=3)
    ]
    assert three.p_worse == pytest.approx(sum(brute) / 8)
    single = paired_numeric([0.2], [0.9], confidence=0.95)
    assert single.estimate == pytest.approx(-0.7)
    assert single.ci_low == -math.inf and single.p_worse == 1.0
    empty = paired_numeric([], [], confidence=0.95)
    assert math.isnan(empty.estimate) and empty.p_worse == 1.0 and empty.n == 0


def test_binary_coverage_and_power() -> None:
    rng = np.random.default_rng(11)
    probs = [0.6, 0.1, 0.05, 0.25]  # truth: Δ = 0.05 - 0.10
    covered = rejected = 0
    for _ in range(300):
        cand, inc = _draw_binary(rng, 200, probs)
        est = paired_binary(cand, inc, confidence=0.975)
        covered += est.ci_low <= -0.05 <= est.ci_high
        rejected += est.p_worse <= 0.05
    assert 0.9 <= covered / 300 <= 0.995
    assert rejected / 300 > 0.35  # power of a 5-point drop at n = 200, psi = 0.15 (~0.5)


def test_binary_false_alarm_rate_under_null() -> None:
    rng = np.random.default_rng(12)
    hits = sum(
        paired_binary(*_draw_binary(rng, 150, [0.6, 0.1, 0.1, 0.2]), 0.95).p_worse <= 0.05
        for _ in range(300)
    )
    assert hits / 300 < 0.09


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

"""Harrell–Davis quantiles and the per-round-pair tail log-ratio."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.stats.mstats import hdquantiles

from releasegate.stats import harrell_davis, hd_weights, tail_ratio
from releasegate.stats.tails import round_log_ratios


def _rounds(rng: np.random.Generator, n_rounds: int, scale: float, size: int = 30) -> tuple:
    """Paired rounds sharing a per-round load factor; the candidate is ``scale`` x slower."""
    load = np.exp(rng.normal(0, 0.3, n_rounds))
    inc = [f * rng.lognormal(0, 0.5, size) for f in load]
    cand = [scale * f * rng.lognormal(0, 0.5, size) for f in load]
    return cand, inc


def test_hd_median_of_symmetric_sample() -> None:
    assert harrell_davis(np.arange(1, 11), 0.5) == pytest.approx(5.5)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9, 0.95, 0.99])
def test_hd_matches_scipy_hdquantiles(q: float) -> None:
    x = np.random.default_rng(2).lognormal(0, 1, 57)
    assert harrell_davis(x, q) == pytest.approx(float(hdquantiles(x, [q])[0]), rel=1e-10)


def test_hd_direct_formula() -> None:
    x = np.array([3.0, 1.0, 4.0, 1.5, 9.0, 2.6])
    n, q = x.size, 0.9
    a, b = q * (n + 1), (1 - q) * (n + 1)
    w = [stats.beta.cdf(i / n, a, b) - stats.beta.cdf((i - 1) / n, a, b) for i in range(1, n + 1)]
    assert harrell_davis(x, q) == pytest.approx(float(np.dot(w, np.sort(x))))
    assert hd_weights(n, q).sum() == pytest.approx(1.0)


def test_hd_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        harrell_davis([], 0.5)
    with pytest.raises(ValueError):
        harrell_davis([1.0, 2.0], 1.0)
    with pytest.raises(ValueError):
        harrell_davis([1.0, math.nan], 0.5)


def _direct_r(cand: list, inc: list, q: float) -> np.ndarray:
    return np.array(
        [
            math.log(harrell_davis(i, q)) - math.log(harrell_davis(c, q))
            for c, i in zip(cand, inc, strict=True)
        ]
    )


def test_point_estimate_orientation_and_scale() -> None:
    rng = np.random.default_rng(3)
    inc = [rng.lognormal(0, 0.5, 25) for _ in range(6)]
    cand = [1.5 * r for r in inc]  # every request 50 % slower: every pair says -log 1.5
    est = tail_ratio(cand, inc, 0.95, confidence=0.95)
    assert est.estimate == pytest.approx(-math.log(1.5))
    assert est.n == 6
    # constant effects are not certainty: exact sign-flip p = 2^-6, a point once 2^-n <= 5 %
    assert est.p_worse == pytest.approx(1 / 64)
    assert est.ci_low == pytest.approx(-math.log(1.5)) and est.ci_high == pytest.approx(est.ci_low)
    higher = tail_ratio(cand, inc, 0.95, higher_is_better=True)
    assert higher.estimate == pytest.approx(math.log(1.5)) and higher.p_worse == 1.0
    three = tail_ratio(cand[:3], inc[:3], 0.95)
    assert three.p_worse == pytest.approx(1 / 8) and three.ci_low == -math.inf


def test_t_interval_on_per_pair_log_ratios_with_unequal_rounds() -> None:
    rng = np.random.default_rng(4)
    sizes = [20, 31, 17, 25, 28]
    inc = [rng.lognormal(0, 0.5, s) for s in sizes]
    cand = [rng.lognormal(0.1, 0.5, s + 3) for s in sizes]
    est = tail_ratio(cand, inc, 0.9, confidence=0.95)
    r = _direct_r(cand, inc, 0.9)
    se = r.std(ddof=1) / math.sqrt(5)
    assert est.estimate == pytest.approx(r.mean())
    assert est.se == pytest.approx(se)
    assert est.ci_low == pytest.approx(r.mean() - stats.t.ppf(0.95, 4) * se)
    assert est.ci_high == pytest.approx(r.mean() + stats.t.ppf(0.95, 4) * se)
    assert est.p_worse == pytest.approx(stats.ttest_1samp(r, 0.0, alternative="less").pvalue)
    assert np.allclose(round_log_ratios(cand, inc, 0.9), r)


def test_three_pairs_interval_agrees_with_p_value() -> None:
    """Regression (issue 10, defect 4): the 3-pair bootstrap disagreed with its p-value."""
    rng = np.random.default_rng(5)
    for _ in range(100):
        cand, inc = _rounds(rng, 3, 1.15)
        for confidence in (0.9, 0.95):
            est = tail_ratio(cand, inc, 0.95, confidence=confidence)
            assert (est.ci_high < 0) == (est.p_worse < 1 - confidence)
            assert (est.ci_low > 0) == (est.p_worse > confidence)
        wide = tail_ratio(cand, inc, 0.95, confidence=0.99)
        assert wide.ci_low < est.ci_low and wide.ci_high > est.ci_high  # not min/max of resamples


def test_n_boot_and_rng_are_accepted_and_ignored() -> None:
    cand, inc = _rounds(np.random.default_rng(5), 8, 1.1)
    plain = tail_ratio(cand, inc, 0.95)
    assert tail_ratio(cand, inc, 0.95, n_boot=7, rng=np.random.default_rng(1)) == plain


def test_few_rounds_and_degenerate_inputs() -> None:
    cand, inc = _rounds(np.random.default_rng(6), 3, 1.0)
    est = tail_ratio(cand, inc, 0.95)
    assert est.n == 3 and est.ci_low <= est.estimate <= est.ci_high
    one = tail_ratio(cand[:1], inc[:1], 0.95)
    assert one.ci_low == -math.inf and one.ci_high == math.inf and one.p_worse == 1.0
    dropped = tail_ratio([*cand, []], [*inc, [1.0, 2.0]], 0.95)
    assert dropped.n == 3
    none = tail_ratio([], [], 0.95)
    assert none.n == 0 and math.isnan(none.estimate)
    with pytest.raises(ValueError):
        tail_ratio(cand, inc[:2], 0.95)
    with pytest.raises(ValueError):
        tail_ratio([[1.0, math.nan]] * 3, inc, 0.95)
    with pytest.raises(ValueError):
        tail_ratio([[1.0, math.inf]] * 3, inc, 0.95)
    with pytest.raises(ValueError):
        tail_ratio(cand, inc, 1.0)


def test_non_positive_values_are_dropped_not_fatal() -> None:
    cand, inc = _rounds(np.random.default_rng(7), 4, 1.1)
    clean = tail_ratio(cand, inc, 0.95)
    zeros = [np.concatenate((r, [0.0, 0.0, -1.0])) for r in cand]  # zero inter-token gaps
    assert tail_ratio(zeros, inc, 0.95) == clean
    only_zero = tail_ratio([*cand, [0.0, 0.0]], [*inc, [1.0]], 0.95)
    assert only_zero.n == 4 and only_zero.estimate == clean.estimate


def test_power_for_tripled_tail_share() -> None:
    rng = np.random.default_rng(10)
    hits = 0
    for _ in range(100):
        cand, inc = _rounds(rng, 8, 1.0)
        cand = [np.where(rng.random(r.size) < 0.15, 3 * r, r) for r in cand]  # 15 % 3x slower
        hits += tail_ratio(cand, inc, 0.95).p_worse <= 0.05
    assert hits / 100 > 0.85


def _benchmark_candidate():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "tail_estimators.py"
    spec = importlib.util.spec_from_file_location("tail_estimators", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_pooled_jackknife_candidate_matches_textbook() -> None:
    """The not-adopted candidate of benchmarks/tail_estimators.py, by a direct jackknife."""
    bench = _benchmark_candidate()
    rng = np.random.default_rng(4)
    sizes = [20, 31, 17, 25, 28]
    inc = [rng.lognormal(0, 0.5, s) for s in sizes]
    cand = [rng.lognormal(0.1, 0.5, s + 3) for s in sizes]

    def theta(keep: list[int]) -> float:
        c = np.concatenate([cand[k] for k in keep])
        i = np.concatenate([inc[k] for k in keep])
        return math.log(hdquantiles(i, [0.9])[0]) - math.log(hdquantiles(c, [0.9])[0])

    loo = np.array([theta([k for k in range(5) if k != j]) for j in range(5)])
    se = 5 / 4 * math.sqrt(4 / 5 * float(np.sum((loo - loo.mean()) ** 2)))  # x R/(R-1)
    est = bench.pooled(cand, inc, 0.9, confidence=0.95)
    assert est.estimate == pytest.approx(theta(list(range(5)))) and est.se == pytest.approx(se)
    assert est.ci_high == pytest.approx(est.estimate + stats.t.ppf(0.95, 4) * se)
    assert est.p_worse == pytest.approx(stats.t.cdf(est.estimate / se, 4))
    assert est.estimate != pytest.approx(tail_ratio(cand, inc, 0.9).estimate)  # differs in kind

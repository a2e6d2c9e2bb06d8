"""Harrell–Davis quantiles and the paired-round tail bootstrap."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats
from scipy.stats.mstats import hdquantiles

from releasegate.stats import harrell_davis, hd_weights, tail_ratio


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


def test_point_estimate_orientation_and_scale() -> None:
    rng = np.random.default_rng(3)
    inc = [rng.lognormal(0, 0.5, 25) for _ in range(6)]
    cand = [1.5 * r for r in inc]  # every request 50 % slower
    est = tail_ratio(cand, inc, 0.95, confidence=0.95, n_boot=300, rng=rng)
    assert est.estimate == pytest.approx(-math.log(1.5))
    assert est.n == 6
    assert est.ci_low == pytest.approx(-math.log(1.5)) and est.ci_high == pytest.approx(est.ci_low)
    assert est.p_worse < 1e-6
    higher = tail_ratio(cand, inc, 0.95, higher_is_better=True, n_boot=300, rng=rng)
    assert higher.estimate == pytest.approx(math.log(1.5))


def test_bootstrap_equals_direct_recomputation_with_unequal_rounds() -> None:
    rng = np.random.default_rng(4)
    sizes = [20, 31, 17, 25, 28]
    inc = [rng.lognormal(0, 0.5, s) for s in sizes]
    cand = [rng.lognormal(0.1, 0.5, s + 3) for s in sizes]
    est = tail_ratio(cand, inc, 0.9, confidence=0.95, n_boot=200, rng=np.random.default_rng(9))
    idx = np.random.default_rng(9).integers(0, 5, size=(200, 5))
    boot = np.array(
        [
            math.log(harrell_davis(np.concatenate([inc[i] for i in row]), 0.9))
            - math.log(harrell_davis(np.concatenate([cand[i] for i in row]), 0.9))
            for row in idx
        ]
    )
    assert est.se == pytest.approx(boot.std(ddof=1))
    expand = math.sqrt(5 / 4)
    level = stats.norm.cdf(expand * stats.t.ppf(0.95, 4))
    assert est.ci_high == pytest.approx(np.quantile(boot, level))
    assert est.ci_low == pytest.approx(np.quantile(boot, 1 - level))
    assert est.p_worse == pytest.approx(stats.t.cdf(est.estimate / (expand * boot.std(ddof=1)), 4))


def test_deterministic_given_generator() -> None:
    cand, inc = _rounds(np.random.default_rng(5), 8, 1.1)
    one = tail_ratio(cand, inc, 0.95, rng=np.random.default_rng(1))
    two = tail_ratio(cand, inc, 0.95, rng=np.random.default_rng(1))
    assert one == two


def test_few_rounds_and_degenerate_inputs() -> None:
    cand, inc = _rounds(np.random.default_rng(6), 3, 1.0)
    est = tail_ratio(cand, inc, 0.95, n_boot=500, rng=np.random.default_rng(0))
    assert est.n == 3 and est.ci_low <= est.estimate <= est.ci_high
    one = tail_ratio(cand[:1], inc[:1], 0.95)
    assert one.ci_low == -math.inf and one.ci_high == math.inf and one.p_worse == 1.0
    dropped = tail_ratio([*cand, []], [*inc, [1.0, 2.0]], 0.95, n_boot=500)
    assert dropped.n == 3
    with pytest.raises(ValueError):
        tail_ratio(cand, inc[:2], 0.95)
    with pytest.raises(ValueError):
        tail_ratio([[1.0, -1.0]] * 3, inc, 0.95)


def test_speed_2000_resamples() -> None:
    cand, inc = _rounds(np.random.default_rng(7), 8, 1.0)
    tail_ratio(cand, inc, 0.95, n_boot=50)  # warm caches
    start = time.perf_counter()
    tail_ratio(cand, inc, 0.95, n_boot=2000, rng=np.random.default_rng(0))
    assert time.perf_counter() - start < 1.0  # ~0.03 s when measured; generous for loaded CI


def test_coverage_and_null_rate() -> None:
    rng = np.random.default_rng(8)
    truth = -math.log(1.2)
    covered = false_alarms = 0
    sims = 200
    for _ in range(sims):
        cand, inc = _rounds(rng, 8, 1.2)
        est = tail_ratio(cand, inc, 0.95, confidence=0.975, n_boot=400, rng=rng)
        covered += est.ci_low <= truth <= est.ci_high
        null_cand, null_inc = _rounds(rng, 8, 1.0)
        null = tail_ratio(null_cand, null_inc, 0.95, n_boot=400, rng=rng)
        false_alarms += null.p_worse <= 0.05
    assert 0.88 <= covered / sims <= 0.995
    assert false_alarms / sims < 0.1


def test_power_for_tripled_tail_share() -> None:
    rng = np.random.default_rng(10)
    hits = 0
    for _ in range(100):
        cand, inc = _rounds(rng, 8, 1.0)
        cand = [np.where(rng.random(r.size) < 0.15, 3 * r, r) for r in cand]  # 15 % 3x slower
        hits += tail_ratio(cand, inc, 0.95, n_boot=400, rng=rng).p_worse <= 0.05
    assert hits / 100 > 0.85  # about 0.97 in simulation

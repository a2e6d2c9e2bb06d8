"""Simulated one-sided coverage of the gate's lower bounds, with known truth.

Each function draws ``runs`` data sets from a model whose true Δ is known, bounds each with
the estimator the gate uses, and reports how often the ``confidence`` lower bound lay at or
below the truth (it should be ≥ ``confidence``), with a two-sided 95 % Clopper–Pearson
interval for that share.  Pure and seeded: the same arguments give the same numbers.  Data
generation is vectorised; the bound itself is computed by the production code.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from releasegate.stats.estimate import mean_estimate
from releasegate.stats.quantiles import hd_weights
from releasegate.stats.ratios import paired_log_ratio
from releasegate.stats.tango import tango_bounds

__all__ = ["coverage_binary", "coverage_log_ratio", "coverage_tail"]


def _summary(low: np.ndarray, truth: float, margin: float, **model: float) -> dict[str, float]:
    """Coverage of lower bounds ``low`` for ``truth``, its Clopper–Pearson interval, P(PASS)."""
    runs = int(low.size)
    covered = int(np.count_nonzero(low <= truth + 1e-12))
    cp_low = float(stats.beta.ppf(0.025, covered, runs - covered + 1)) if covered else 0.0
    cp_high = float(stats.beta.ppf(0.975, covered + 1, runs - covered)) if covered < runs else 1.0
    return {
        **model,
        "truth": truth,
        "runs": runs,
        "covered": covered,
        "coverage": covered / runs,
        "cp_low": cp_low,
        "cp_high": cp_high,
        "pass_rate": float(np.mean(low > -margin)),  # P(ci_low > −margin): P(PASS) if alone
    }


def coverage_binary(
    n: int,
    lost: float,
    won: float,
    runs: int = 2000,
    seed: int = 0,
    *,
    confidence: float = 0.95,
    margin: float = 0.05,
) -> dict[str, float]:
    """Coverage of `paired_binary`'s lower bound for n items of 0/1 scores.

    Each item independently is lost by the candidate (incumbent right, candidate wrong) with
    probability ``lost``, won with probability ``won``, else concordant; true
    Δ = won − lost.  Uses `tango_bounds`, the routine `paired_binary` calls, on all runs
    at once.  ``pass_rate`` is P(ci_low > −margin).
    """
    if not (n >= 1 and lost >= 0 and won >= 0 and lost + won <= 1 and runs >= 1):
        raise ValueError("coverage_binary needs n >= 1, runs >= 1 and 0 <= lost + won <= 1")
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, [lost, won, 1.0 - lost - won], size=runs)
    z = float(stats.norm.ppf(confidence))
    low, _ = tango_bounds(counts[:, 0], counts[:, 1], n, z)
    return _summary(low, won - lost, margin, n=n, lost=lost, won=won)


def coverage_tail(
    pairs: int,
    runs: int = 2000,
    seed: int = 0,
    *,
    q: float = 0.95,
    slowdown: float = 0.1,
    requests: tuple[int, int] = (50, 200),
    shock_sd: float = 0.3,
    arm_sd: float = 0.05,
    sigma: float = 0.5,
    confidence: float = 0.95,
    margin: float = 0.05,
) -> dict[str, float]:
    """Coverage of `tail_ratio`'s lower bound over ``pairs`` paired latency rounds.

    Round pair i draws a request count uniformly from ``requests`` (the same for both arms,
    which ran interleaved) and a shared load shock exp(N(0, shock_sd²)); each arm's round
    adds its own exp(N(0, arm_sd²)); requests are lognormal(0, ``sigma``) times those, and
    the candidate's are exp(``slowdown``) times slower.  Every quantile then moves by the same
    factor, so the true Δ = −slowdown.  Per-round HD quantiles are computed vectorised with
    `hd_weights`; the interval is `mean_estimate`, the routine `tail_ratio` ends in.
    """
    if pairs < 1 or runs < 1 or not 1 <= requests[0] <= requests[1]:
        raise ValueError("coverage_tail needs pairs >= 1, runs >= 1, 1 <= requests[0] <= [1]")
    rng = np.random.default_rng(seed)
    size = rng.integers(requests[0], requests[1] + 1, size=(runs, pairs))
    shock = rng.normal(0.0, shock_sd, (runs, pairs))
    log_hd = np.empty((2, runs, pairs))
    for s in np.unique(size):
        cells = size == s
        w = hd_weights(int(s), q)
        for arm in range(2):  # 0 candidate, 1 incumbent
            draws = np.sort(rng.lognormal(0.0, sigma, (int(cells.sum()), int(s))), axis=1)
            log_hd[arm][cells] = np.log(draws @ w)
    log_hd += shock + rng.normal(0.0, arm_sd, (2, runs, pairs))
    log_hd[0] += slowdown
    r = log_hd[1] - log_hd[0]  # log HD(inc) − log HD(cand): negative = candidate slower
    low = np.array([mean_estimate(row, confidence, "tail").ci_low for row in r])
    return _summary(low, -slowdown, margin, pairs=pairs, q=q)


def coverage_log_ratio(
    pairs: int,
    runs: int = 2000,
    seed: int = 0,
    *,
    ratio: float = 0.95,
    shock_sd: float = 0.2,
    noise_sd: float = 0.03,
    confidence: float = 0.95,
    margin: float = 0.05,
) -> dict[str, float]:
    """Coverage of `paired_log_ratio`'s lower bound for a per-round throughput.

    Round i has a shared load factor exp(N(0, shock_sd²)); each arm's value is 100 times
    that times exp(N(0, noise_sd²)), the candidate's times ``ratio``; true Δ = log(ratio).
    """
    if pairs < 1 or runs < 1 or not ratio > 0:
        raise ValueError("coverage_log_ratio needs pairs >= 1, runs >= 1 and ratio > 0")
    rng = np.random.default_rng(seed)
    load = 100.0 * np.exp(rng.normal(0.0, shock_sd, (runs, pairs)))
    inc = load * np.exp(rng.normal(0.0, noise_sd, (runs, pairs)))
    cand = ratio * load * np.exp(rng.normal(0.0, noise_sd, (runs, pairs)))
    low = np.array(
        [
            paired_log_ratio(c, i, higher_is_better=True, confidence=confidence).ci_low
            for c, i in zip(cand, inc, strict=True)
        ]
    )
    return _summary(low, math.log(ratio), margin, pairs=pairs, ratio=ratio)

"""Simulated one-sided coverage of the gate's lower bounds, with known truth.

Each function draws ``runs`` data sets from a model whose true Δ is known, bounds each with
the estimator the gate uses, and reports how often the ``confidence`` lower bound lay at or
below the truth (it should be ≥ ``confidence``), with a two-sided 95 % Clopper–Pearson
interval for that share.  Pure and seeded: the same arguments give the same numbers.  Data
generation is vectorised within a run; the bound is computed by the production code.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import stats

from releasegate.stats.ratios import paired_log_ratio
from releasegate.stats.tails import tail_ratio
from releasegate.stats.tango import tango_bounds

__all__ = [
    "coverage_summary",
    "coverage_binary",
    "coverage_log_ratio",
    "coverage_tail",
    "tail_rounds",
]


def coverage_summary(
    low: np.ndarray, truth: float, margin: float, **model: float
) -> dict[str, float]:
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
    return coverage_summary(low, won - lost, margin, n=n, lost=lost, won=won)


def tail_rounds(
    pairs: int,
    runs: int,
    rng: np.random.Generator,
    *,
    slowdown: float = 0.1,
    requests: tuple[int, int] = (50, 200),
    shock_sd: float = 0.3,
    arm_sd: float = 0.05,
    sigma: float = 0.5,
    tail_share: float = 0.0,
    tail_slowdown: tuple[float, float] = (2.0, 4.0),
) -> Iterator[tuple[list[np.ndarray], list[np.ndarray]]]:
    """``runs`` simulated (candidate rounds, incumbent rounds) latency data sets.

    Round pair i draws a request count uniformly from ``requests`` (the same for both arms,
    which ran interleaved) and a shared load shock exp(N(0, shock_sd²)); each arm's round
    adds its own exp(N(0, arm_sd²)); requests are lognormal(0, ``sigma``), a ``tail_share``
    of them ``tail_slowdown`` times slower (uniform; the mixture of `gate.simulate`), times
    those factors, and the candidate's are exp(``slowdown``) times slower.  Every quantile,
    of one round or of all pooled, then moves by the same factor: the true Δ = −slowdown.
    """
    if pairs < 1 or runs < 1 or not 1 <= requests[0] <= requests[1]:
        raise ValueError("coverage_tail needs pairs >= 1, runs >= 1, 1 <= requests[0] <= [1]")

    def draw() -> Iterator[tuple[list[np.ndarray], list[np.ndarray]]]:
        for _ in range(runs):
            size = rng.integers(requests[0], requests[1] + 1, size=pairs)
            shock = rng.normal(0.0, shock_sd, pairs)
            data = []
            for arm in range(2):  # 0 candidate, 1 incumbent
                x = rng.lognormal(0.0, sigma, int(size.sum()))
                slow = rng.random(x.size) < tail_share
                x[slow] *= rng.uniform(*tail_slowdown, int(slow.sum()))
                x *= np.repeat(np.exp(shock + rng.normal(0.0, arm_sd, pairs)), size)
                x *= math.exp(slowdown if arm == 0 else 0.0)
                data.append(np.split(x, np.cumsum(size)[:-1]))
            yield data[0], data[1]

    return draw()


def coverage_tail(
    pairs: int,
    runs: int = 2000,
    seed: int = 0,
    *,
    q: float = 0.95,
    slowdown: float = 0.1,
    confidence: float = 0.95,
    margin: float = 0.05,
    **model: Any,
) -> dict[str, float]:
    """Coverage of `tail_ratio`'s lower bound over ``pairs`` paired latency rounds.

    Data from `tail_rounds` (``model`` holds its keyword arguments: request counts, shock
    and arm spreads, the heavy-tail mixture); true Δ = −slowdown.  Each run's rounds go
    through `tail_ratio` itself, the gate's estimator.
    """
    rng = np.random.default_rng(seed)
    low = np.array(
        [
            tail_ratio(cand, inc, q, confidence=confidence).ci_low
            for cand, inc in tail_rounds(pairs, runs, rng, slowdown=slowdown, **model)
        ]
    )
    return coverage_summary(low, -slowdown, margin, pairs=pairs, q=q)


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
    return coverage_summary(low, math.log(ratio), margin, pairs=pairs, ratio=ratio)

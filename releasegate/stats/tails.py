"""Tail-latency comparison: Harrell–Davis quantile log-ratio with a paired round bootstrap.

Requests inside one load round are correlated (batching, queueing), so the unit of
resampling is the round, and round i of the candidate is kept with round i of the incumbent
(they ran interleaved).  Rank tests such as Mann–Whitney are deliberately not used: they
barely move when only the tail degrades.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from releasegate.stats.estimate import Estimate, check_confidence, uninformative
from releasegate.stats.quantiles import harrell_davis, hd_weights

__all__ = ["tail_ratio"]

_BLOCK_CELLS = 4_000_000  # values sorted per bootstrap block (bounds memory use)


def tail_ratio(
    cand_rounds: Sequence[ArrayLike],
    inc_rounds: Sequence[ArrayLike],
    q: float,
    higher_is_better: bool = False,
    confidence: float = 0.95,
    n_boot: int = 2000,
    rng: np.random.Generator | None = None,
) -> Estimate:
    """Log-ratio of the ``q``-quantiles of two arms measured in paired rounds.

    Point estimate: Δ̂ = log(Q_inc / Q_cand) when lower is better (latency), or
    log(Q_cand / Q_inc) when higher is better, where Q is the Harrell–Davis q-quantile of all
    of an arm's requests pooled over rounds.  So Δ̂ = −0.1 means the candidate's tail is about
    10 % worse.

    Interval: expanded-percentile bootstrap over rounds.  Each resample draws round indices
    with replacement, uses the same indices for both arms, pools the drawn rounds and
    recomputes both HD quantiles, giving Δ*.  A plain percentile interval over R rounds is
    too narrow for small R (its spread shrinks by √((R−1)/R) and ignores t-tails), so the
    percentile levels are widened to Φ(√(R/(R−1)) · t_{R−1}(confidence)) (Hesterberg's
    expanded percentile interval); ci_low / ci_high are those lower / upper quantiles of Δ*.
    p_worse = T_{R−1}(Δ̂ / (√(R/(R−1)) · sd(Δ*))), the matching bootstrap-SE t-test, which
    unlike a count of Δ* ≥ 0 is not limited by the number of resamples.

    Round pairs where either arm has no values are dropped; ``n`` is the number of pairs
    used.  With a single pair the interval is infinite.  Very few rounds work but are
    coarse: 3 rounds have only 10 distinct resamples and in simulation the 95 % interval
    covered only ~77 % of the time (5 rounds: ~95 %, 8: ~96 %).  Prefer 8 or more rounds.

    Args:
        cand_rounds: candidate values, one array per round.
        inc_rounds: incumbent values, one array per round, paired with ``cand_rounds``.
        q: quantile level in (0, 1), e.g. 0.95.
        higher_is_better: orientation of the metric (False for latency).
        confidence: one-sided confidence of each bound.
        n_boot: bootstrap resamples.
        rng: random generator; None uses a fixed seed (0) so the same data give the same result.

    Raises:
        ValueError: on unequal round counts, non-positive or non-finite values, bad q or
            confidence, or n_boot < 1.
    """
    check_confidence(confidence)
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must lie in (0, 1), got {q}")
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    if len(cand_rounds) != len(inc_rounds):
        raise ValueError(f"arms differ in rounds: {len(cand_rounds)} vs {len(inc_rounds)}")
    cand, inc = [], []
    for c_round, i_round in zip(cand_rounds, inc_rounds, strict=True):
        c_arr = np.asarray(c_round, dtype=float).ravel()
        i_arr = np.asarray(i_round, dtype=float).ravel()
        for arr in (c_arr, i_arr):
            if not np.all(np.isfinite(arr) & (arr > 0)):
                raise ValueError("tail_ratio needs finite, positive values")
        if c_arr.size and i_arr.size:
            cand.append(c_arr)
            inc.append(i_arr)
    method = f"HD q{q:g} log-ratio, paired round bootstrap"
    rounds = len(cand)
    if rounds == 0:
        return uninformative(math.nan, 0, method)
    sign = 1.0 if higher_is_better else -1.0
    point = sign * math.log(harrell_davis(np.concatenate(cand), q)) - sign * math.log(
        harrell_davis(np.concatenate(inc), q)
    )
    if rounds == 1:
        return uninformative(point, 1, method)
    gen = rng if rng is not None else np.random.default_rng(0)
    idx = gen.integers(0, rounds, size=(n_boot, rounds))
    boot = sign * (np.log(_boot_hd(cand, idx, q)) - np.log(_boot_hd(inc, idx, q)))
    expand = math.sqrt(rounds / (rounds - 1))
    level = float(stats.norm.cdf(expand * stats.t.ppf(confidence, rounds - 1)))
    low, high = np.quantile(boot, [1.0 - level, level])
    se = float(boot.std(ddof=1)) if n_boot > 1 else 0.0
    if se > 0.0:
        p_worse = float(stats.t.cdf(point / (expand * se), rounds - 1))
    else:
        p_worse = 1.0 if point >= 0 else 0.0
    return Estimate(point, float(low), float(high), p_worse, rounds, method, se)


def _boot_hd(rounds: list[np.ndarray], idx: np.ndarray, q: float) -> np.ndarray:
    """HD ``q``-quantile of the pooled rounds for every resample row of ``idx`` (vectorised)."""
    lengths = np.array([r.size for r in rounds])
    width = int(lengths.max())
    padded = np.full((len(rounds), width), np.nan)
    for row, values in enumerate(rounds):
        padded[row, : values.size] = values
    totals = lengths[idx].sum(axis=1)
    out = np.empty(idx.shape[0])
    block = max(1, _BLOCK_CELLS // (idx.shape[1] * width))
    for start in range(0, idx.shape[0], block):
        rows = slice(start, start + block)
        pooled = np.sort(padded[idx[rows]].reshape(-1, idx.shape[1] * width), axis=1)  # NaN last
        sizes = totals[rows]
        target = out[rows]  # a view into out
        for size in np.unique(sizes):
            sel = sizes == size
            target[sel] = pooled[sel, :size] @ hd_weights(int(size), q)
    return out

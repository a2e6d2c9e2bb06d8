"""Tail check: the gate's per-pair t against a pooled-quantile jackknife candidate, same data.

    python benchmarks/tail_estimators.py [--runs 2000] [--power-runs 200] [--seed 0]

Coverage: one-sided coverage of each estimator's 95 % lower bound (goal ≥ 0.94) and the
median distance of that bound below the truth (smaller = more power), at 3/4/5/10 round
pairs for p95 and p99, in two models of `releasegate.stats.coverage.tail_rounds`:
``lognormal`` (50–200 requests a round, shock sd 0.3) and ``mixture`` (the latency model of
`releasegate.gate.simulate`: 60 requests, 3 % of them 2–4x slower).  Power: share of FAIL
verdicts of the whole fixed-n gate (`gate.simulate`: tail-only p95 slowdown) for 8 pairs of 60
requests with a 1.5x p95 (tests/unit/test_calibration) and a few other sizes (4 pairs is the
suite default), each run gated once with each estimator, with an exact McNemar p.  The
candidate covers (every cell ≥ 0.94) but wins power only from ~7 pairs of short rounds: it
loses at 4-6 pairs and for p99, so the gate keeps the per-pair t (`tail_ratio`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import releasegate.gate.compare as compare  # noqa: E402
from releasegate.gate.simulate import Scenario, gate, sim_suite, simulate  # noqa: E402
from releasegate.stats.coverage import tail_rounds  # noqa: E402
from releasegate.stats.estimate import (  # noqa: E402
    Estimate,
    all_equal,
    constant_estimate,
    t_estimate,
    uninformative,
)
from releasegate.stats.quantiles import hd_weights  # noqa: E402
from releasegate.stats.tails import tail_ratio  # noqa: E402

MODELS = {
    "lognormal": {},
    "mixture": {
        "requests": (60, 60),
        "sigma": 0.3,
        "shock_sd": 0.08,
        "arm_sd": 0.02,
        "tail_share": 0.03,
    },
}
SLOWDOWN = 0.1
# (round pairs, requests per round, p95 ratio); the first is test_calibration's, 4 the default
POWER_SCENARIOS = [
    (8, 60, 1.5),
    (8, 120, 1.5),
    (4, 60, 1.5),
    (4, 60, 2.0),
    (6, 120, 1.3),
    (20, 60, 1.3),
]


def _log_hd(sorted_x: np.ndarray, q: float) -> float:
    return math.log(float(np.dot(hd_weights(sorted_x.size, q), sorted_x)))


def _pooled_and_left_out(rounds: list[np.ndarray], q: float) -> tuple[float, np.ndarray]:
    """log HD_q of all rounds pooled, and of the pool without round i for each i (≥ 2)."""
    values = np.concatenate(rounds)
    labels = np.repeat(np.arange(len(rounds)), [r.size for r in rounds])
    order = np.argsort(values, kind="stable")
    values, labels = values[order], labels[order]
    drop = range(len(rounds)) if len(rounds) > 1 else range(0)
    left_out = np.array([_log_hd(values[labels != i], q) for i in drop], dtype=float)
    return _log_hd(values, q), left_out


def pooled_jackknife(
    cand_rounds: Sequence[ArrayLike],
    inc_rounds: Sequence[ArrayLike],
    q: float,
    higher_is_better: bool = False,
) -> tuple[float, np.ndarray]:
    """Pooled log-ratio θ of the HD ``q``-quantiles and its delete-one-pair values θ₍₋ᵢ₎.

    θ = log HD_q(all inc) − log HD_q(all cand) for latency (opposite sign when higher is
    better); θ₍₋ᵢ₎ is the same with round pair i left out of both arms.  Values ≤ 0 are
    dropped and pairs left with an empty arm are skipped, as in `round_log_ratios`.  With
    fewer than two pairs the leave-one-out array is empty.
    """
    pairs = [
        (c, i)
        for c, i in (_positive(a, b) for a, b in zip(cand_rounds, inc_rounds, strict=True))
        if c.size and i.size
    ]
    if not pairs:
        return math.nan, np.empty(0)
    sign = 1.0 if higher_is_better else -1.0
    c_all, c_out = _pooled_and_left_out([c for c, _ in pairs], q)
    i_all, i_out = _pooled_and_left_out([i for _, i in pairs], q)
    return sign * (c_all - i_all), sign * (c_out - i_out)


def _positive(c: ArrayLike, i: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    c_arr, i_arr = (np.asarray(x, dtype=float).ravel() for x in (c, i))
    return c_arr[c_arr > 0], i_arr[i_arr > 0]


def pooled(cand: list, inc: list, q: float, higher_is_better: bool = False, **kw) -> Estimate:
    """Candidate: pooled HD log-ratio, delete-one-pair jackknife SE x R/(R-1), t on R-1 df."""
    confidence = kw.get("confidence", 0.95)
    theta, loo = pooled_jackknife(cand, inc, q, higher_is_better)
    method = "pooled log-ratio, inflated pair jackknife t"
    n = loo.size
    if n < 2:
        return uninformative(theta, 0 if math.isnan(theta) else 1, method)
    if all_equal(loo):
        return constant_estimate(theta, n, confidence, method)
    jackknife_se = math.sqrt((n - 1) / n * float(np.sum((loo - loo.mean()) ** 2)))
    return t_estimate(theta, n / (n - 1) * jackknife_se, n - 1, n, confidence, method)


ESTIMATORS = {"pooled": pooled, "per_pair": tail_ratio}


def coverage_cells(runs: int, seed: int) -> list[dict]:
    cells = []
    for model, kwargs in MODELS.items():
        for q in (0.95, 0.99):
            for pairs in (3, 4, 5, 10):
                rng = np.random.default_rng(seed + 100 * pairs + round(1000 * q))
                low: dict[str, list[float]] = {k: [] for k in ESTIMATORS}
                for cand, inc in tail_rounds(pairs, runs, rng, slowdown=SLOWDOWN, **kwargs):
                    for name, f in ESTIMATORS.items():
                        low[name].append(f(cand, inc, q).ci_low)
                cell: dict = {"model": model, "q": q, "pairs": pairs}
                for name, values in low.items():
                    dist = -SLOWDOWN - np.asarray(values)
                    cell[f"{name}_coverage"] = float(np.mean(dist >= -1e-12))
                    cell[f"{name}_width"] = round(float(np.median(dist)), 4)
                cells.append(cell)
    return cells


def power(runs: int, seed: int) -> list[dict]:
    out = []
    for rounds, requests, ratio in POWER_SCENARIOS:
        s = Scenario(rounds=rounds, requests_per_round=requests, items=300, p95_ratio=ratio)
        suite = sim_suite(s, bootstrap_resamples=200)
        rng = np.random.default_rng(seed + 1000 * rounds + requests)
        fails = dict.fromkeys(ESTIMATORS, 0)
        only = dict.fromkeys(ESTIMATORS, 0)  # runs only this estimator failed
        try:
            for _ in range(runs):
                run = simulate(s, rng)
                got = {}
                for name, f in ESTIMATORS.items():
                    compare.tail_ratio = f
                    got[name] = gate(suite, run)[0] == "fail"
                    fails[name] += got[name]
                if got["pooled"] != got["per_pair"]:
                    only["pooled" if got["pooled"] else "per_pair"] += 1
        finally:
            compare.tail_ratio = tail_ratio
        disc = sum(only.values())
        p = float(stats.binomtest(only["pooled"], disc).pvalue) if disc else 1.0  # exact McNemar
        row = {"rounds": rounds, "requests": requests, "p95_ratio": ratio, "runs": runs}
        row["only_fail"] = only
        row["mcnemar_p"] = round(p, 5)
        out.append(row | {f"{k}_fail": v / runs for k, v in fails.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--power-runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    doc = {"coverage": coverage_cells(a.runs, a.seed), "power": power(a.power_runs, a.seed)}
    doc["all_pooled_cells_ge_0.94"] = all(c["pooled_coverage"] >= 0.94 for c in doc["coverage"])
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()

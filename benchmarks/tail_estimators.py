"""Tail check: the gate's pooled-jackknife estimator against the per-pair t, same data.

    python benchmarks/tail_estimators.py [--runs 2000] [--power-runs 200] [--seed 0]

Coverage: one-sided coverage of each estimator's 95 % lower bound (goal ≥ 0.94) and the
median distance of that bound below the truth (smaller = more power), at 3/4/5/10 round
pairs for p95 and p99, in two models of `releasegate.stats.coverage.tail_rounds`:
``lognormal`` (50–200 requests a round, shock sd 0.3) and ``mixture`` (the latency model of
`releasegate.gate.simulate`: 60 requests, 3 % of them 2–4x slower).  Power: share of FAIL
verdicts of the whole fixed-n gate for 8 pairs with a 1.5x p95 (tests/unit/test_calibration),
at 60 and 120 requests a round, each run gated once with each estimator.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import releasegate.gate.compare as compare  # noqa: E402
from releasegate.gate.simulate import Scenario, gate, sim_suite, simulate  # noqa: E402
from releasegate.stats.coverage import tail_rounds  # noqa: E402
from releasegate.stats.estimate import Estimate, mean_estimate  # noqa: E402
from releasegate.stats.tails import round_log_ratios, tail_ratio  # noqa: E402

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


def per_pair(cand: list, inc: list, q: float, higher_is_better: bool = False, **kw) -> Estimate:
    """The former estimator: Student t over per-pair HD log-ratios."""
    r = round_log_ratios(cand, inc, q, higher_is_better)
    return mean_estimate(r, kw.get("confidence", 0.95), "per-pair t")


ESTIMATORS = {"pooled": tail_ratio, "per_pair": per_pair}


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
    for requests in (60, 120):
        s = replace(Scenario(rounds=8, requests_per_round=requests, items=300), p95_ratio=1.5)
        suite = sim_suite(s, bootstrap_resamples=200)
        rng = np.random.default_rng(seed + requests)
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
        row = {"requests_per_round": requests, "runs": runs, "only_fail": only}
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

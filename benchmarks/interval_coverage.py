"""One-sided coverage of every interval the gate uses, by simulation with known truth.

    python benchmarks/interval_coverage.py [--runs 2000] [--seed 0] [--only binary tail ...]

Prints one JSON document. Each cell draws ``--runs`` data sets from a model whose true effect
is known, bounds each with the gate's own code, and reports how often the 95 % lower bound
(for request errors: the 95 % upper bound of the rate) lay on the safe side of the truth,
with a Clopper–Pearson interval for that share. Goal: every cell ≥ 94 %.

Regimes (the ones a real gate meets, not only comfortable sizes):

- ``binary``: 0/1 quality at n = 20, 96, 300, 1,000 items with lost-only, won-only and two-way
  discordance, and a few-discordant lost-only case (1 %); the interval is `paired_binary`'s.
- ``tail``: p95 and p99 log-ratios over 3, 4, 5 and 10 round pairs (`tail_ratio`).
- ``throughput``: per-round log-ratios over 3, 4 and 10 pairs (`paired_log_ratio`), and the
  gate's whole compare path (`compare_all` over records) with one dead round on either arm.
- ``memory``: peak RSS through `compare_all` (SE floored at 0.5 %) with a lost round.
- ``errors``: the request-error check's Clopper–Pearson upper bound at true rates 0.2–1 %,
  exact by enumeration, with the check's false-FAIL rate alone at α = 1 %.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from releasegate.gate.compare import compare_all  # noqa: E402
from releasegate.records import EventRecord, ProbeRecord  # noqa: E402
from releasegate.records.views import RunRecords  # noqa: E402
from releasegate.stats.coverage import (  # noqa: E402
    coverage_binary,
    coverage_log_ratio,
    coverage_summary,
    coverage_tail,
)
from releasegate.stats.rates import error_check_rates  # noqa: E402
from releasegate.suite import Suite  # noqa: E402

GOAL = 0.94
MARGIN = 0.05
BINARY_REGIMES = {
    "lost-only 5%": (0.05, 0.0),
    "won-only 5%": (0.0, 0.05),
    "two-way 10%/5%": (0.10, 0.05),
    "lost-only 1% (few discordant)": (0.01, 0.0),
}


def binary_cells(runs: int, seed: int) -> list[dict]:
    cells = []
    for n in (20, 96, 300, 1000):
        for name, (lost, won) in BINARY_REGIMES.items():
            cell = coverage_binary(n, lost, won, runs, seed + n, margin=MARGIN)
            cells.append({"family": "binary", "regime": name, **cell})
    return cells


def tail_cells(runs: int, seed: int) -> list[dict]:
    cells = []
    for q in (0.95, 0.99):
        for pairs in (3, 4, 5, 10):
            cell = coverage_tail(pairs, runs, seed + pairs, q=q, margin=MARGIN)
            cells.append({"family": "tail", "regime": f"p{round(100 * q)} {pairs} pairs", **cell})
    return cells


def _suite(rounds: int) -> Suite:
    return Suite.model_validate(
        {
            "name": "coverage",
            "server": {"url": "http://127.0.0.1:1"},
            "candidate": {"id": "c"},
            "incumbent": {"id": "i"},
            "load": [{"name": "l", "prompts": ["x"], "rounds": rounds, "requests_per_round": 9}],
            "gate": {
                "checks": [
                    {
                        "name": "tput",
                        "metric": "output_tokens_per_s",
                        "margin": MARGIN,
                        "owner": "p",
                    },
                    {"name": "mem", "metric": "peak_rss", "margin": MARGIN, "owner": "p"},
                ]
            },
        }
    )


def _records(tput: dict[str, np.ndarray], mem: dict[str, np.ndarray], dead: tuple[str, int]):
    """round_end events (throughput) and memory probes of one simulated run."""
    out: list = []
    t = 0.0
    for k in range(tput["candidate"].size):
        for arm in ("candidate", "incumbent"):
            t += 1.0
            is_dead = (arm, k) == dead
            if not is_dead:
                values = {"peak_rss": float(mem[arm][k]), "last_rss": float(mem[arm][k])}
                out.append(ProbeRecord(t=t, arm=arm, probe="memory", round=k, values=values))
            detail = {
                "workload": "l",
                "round": k,
                "output_tokens_per_s": 0.0 if is_dead else float(tput[arm][k]),
            }
            out.append(EventRecord(t=t + 0.5, arm=arm, event="round_end", detail=detail))
    return RunRecords.of(out)


def dead_round_cells(runs: int, seed: int) -> list[dict]:
    """Throughput and memory through the gate's compare path, one round dead on one arm."""
    cells = []
    ratio = 0.97  # candidate 3 % slower / 3 % bigger than the incumbent
    for pairs in (4, 10):
        suite = _suite(pairs)
        for dead_arm in ("incumbent", "candidate"):
            rng = np.random.default_rng([seed, pairs, len(dead_arm)])
            lows: dict[str, list[float]] = {"tput": [], "mem": []}
            for _ in range(runs):
                load = 100.0 * np.exp(rng.normal(0.0, 0.2, pairs))
                tput = {
                    "incumbent": load * np.exp(rng.normal(0.0, 0.03, pairs)),
                    "candidate": ratio * load * np.exp(rng.normal(0.0, 0.03, pairs)),
                }
                mem = {
                    "incumbent": 3e8 * np.exp(rng.normal(0.0, 0.01, pairs)),
                    "candidate": 3e8 / ratio * np.exp(rng.normal(0.0, 0.01, pairs)),
                }
                run = _records(tput, mem, (dead_arm, int(rng.integers(pairs))))
                for c in compare_all(suite, run):
                    if c.check.name in lows and c.estimate is not None:
                        lows[c.check.name].append(c.estimate.ci_low)
                    elif c.check.name in lows:
                        lows[c.check.name].append(math.inf)  # undecidable counts as a miss
            for name, low in lows.items():
                cell = coverage_summary(np.asarray(low), math.log(ratio), MARGIN, pairs=pairs)
                family = "throughput" if name == "tput" else "memory"
                regime = f"{pairs} pairs, one {dead_arm} round dead"
                cells.append({"family": family, "regime": regime, **cell})
    return cells


def throughput_cells(runs: int, seed: int) -> list[dict]:
    cells = []
    for pairs in (3, 4, 10):
        cell = coverage_log_ratio(pairs, runs, seed + pairs, margin=MARGIN)
        cells.append({"family": "throughput", "regime": f"{pairs} pairs", **cell})
    return cells + dead_round_cells(runs, seed)


def error_cells() -> list[dict]:
    """Exact (enumerated) coverage of the CP upper bound and the check's false-FAIL rate."""
    cells = []
    for n in (216, 312, 1000):
        for rate in (0.002, 0.005, 0.0075, 0.01):
            got = error_check_rates(rate, rate, n, n, 0.01, 0.01, 0.95)
            cells.append(
                {
                    "family": "errors",
                    "regime": f"true rate {rate:.2%}, {n} requests per arm (A/A)",
                    "coverage": got.coverage,
                    "false_fail": got.fail,
                    "pass_rate": got.pass_,
                    "exact": True,
                }
            )
    return cells


FAMILIES = {
    "binary": binary_cells,
    "tail": tail_cells,
    "throughput": throughput_cells,
}


def measure(runs: int, seed: int, only: list[str] | None = None) -> dict:
    started = time.perf_counter()
    cells: list[dict] = []
    for name, build in FAMILIES.items():
        if only is None or name in only:
            cells += build(runs, seed)
    if only is None or "errors" in only:
        cells += error_cells()
    worst = min(cells, key=lambda c: c["coverage"])
    return {
        "runs_per_cell": runs,
        "seed": seed,
        "goal": GOAL,
        "cells": cells,
        "worst": {k: worst[k] for k in ("family", "regime", "coverage")},
        "all_meet_goal": all(c["coverage"] >= GOAL for c in cells),
        "max_error_false_fail": max(
            (c["false_fail"] for c in cells if c["family"] == "errors"), default=None
        ),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="simulated runs per cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", choices=[*FAMILIES, "errors"])
    args = parser.parse_args()
    print(json.dumps(measure(args.runs, args.seed, args.only), indent=2))


if __name__ == "__main__":
    main()

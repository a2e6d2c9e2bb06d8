"""Calibrate the gate by simulation: false FAIL / false PASS rates, power, sequential savings.

    python benchmarks/gate_calibration.py [--runs 1000] [--seed 0] [--jobs 2]

Every run simulates a whole gate run (real records, real compare/decide code; see
``releasegate.gate.simulate``) and prints one JSON document:

- ``aa``: no change at all; the family-wise false-FAIL rate (goal ≤ α = 1 %) with its
  Clopper–Pearson 95 % interval, and how often the gate passes.
- ``false_pass``: regressions of 1.5× the margin on all four checks at once (a PASS verdict
  of a check does not depend on the other checks, so each check's PASS rate is its false-PASS
  rate); and of 2× (10 %) from the power scenarios.
- ``power``: P(overall FAIL) for one regression at a time (p95 +10 %, accuracy −5 points,
  throughput −10 %, memory +10 %) at the default sizes (``sizes``).
- ``sequential``: looks after every round pair (``releasegate.gate.sequential``): the
  false-FAIL rate under A/A, and load requests saved against the fixed-n run on clear-cut
  cases.

Cost saving: scenarios whose regression is not in latency ("light") run 50 requests per
round instead of the default; the checks they measure (quality, throughput, memory) do not
depend on the request count, and the null latency check's p-value stays uniform. The
simulated suite uses ``bootstrap_resamples=200`` (the schema's minimum) for speed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from releasegate.gate.compare import compare_all  # noqa: E402
from releasegate.gate.decide import decide_checks, overall  # noqa: E402
from releasegate.gate.sequential import SequentialConfig  # noqa: E402
from releasegate.gate.simulate import (  # noqa: E402
    Margins,
    Scenario,
    sequential_gate,
    sim_suite,
    simulate,
)
from releasegate.stats import required_n_mcnemar  # noqa: E402

MARGINS = Margins(quality=0.02, p95=0.05, throughput=0.05, memory=0.05)
BOOTSTRAP = 200
LIGHT_REQUESTS = 50
SEQUENTIAL = SequentialConfig()
CHECKS = {"p95": "ttft-p95", "accuracy": "quality", "throughput": "throughput", "memory": "memory"}


def _scenarios(base: Scenario) -> dict[str, tuple[Scenario, bool]]:
    """Name → (scenario, run the sequential replay too)."""
    light = replace(base, requests_per_round=LIGHT_REQUESTS)
    k15 = 1.5 * math.log1p(MARGINS.p95)
    return {
        "a/a": (base, True),
        "p95 +10%": (replace(base, p95_ratio=1.10), False),
        "accuracy -5 pts": (replace(light, accuracy_drop=0.05), False),
        "throughput -10%": (replace(light, throughput_ratio=0.90), False),
        "memory +10%": (replace(light, memory_ratio=1.10), False),
        "1.5x margin, all": (
            replace(
                base,
                p95_ratio=math.exp(k15),
                accuracy_drop=1.5 * MARGINS.quality,
                throughput_ratio=math.exp(-1.5 * math.log1p(MARGINS.throughput)),
                memory_ratio=math.exp(1.5 * math.log1p(MARGINS.memory)),
            ),
            True,
        ),
        "clear: p95 +30%": (replace(base, p95_ratio=1.30), True),
        "clear: throughput -20%": (replace(light, throughput_ratio=0.80), True),
        "clear: memory +20%": (replace(light, memory_ratio=1.20), True),
        "clear: accuracy -10 pts": (replace(light, accuracy_drop=0.10), True),
    }


def _one(task: tuple[str, Scenario, bool, int, int]) -> dict:
    name, scenario, sequential, seed, index = task
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, len(name), sum(map(ord, name))]))
    suite = sim_suite(scenario, MARGINS, bootstrap_resamples=BOOTSTRAP)
    run = simulate(scenario, rng)
    comparisons = compare_all(suite, run)
    checks = decide_checks(suite, comparisons)
    out = {
        "scenario": name,
        "verdict": overall(checks)[0],
        "checks": {c.name: c.verdict for c in checks},
    }
    if sequential:
        seq = sequential_gate(suite, run, SEQUENTIAL, comparisons)
        out["seq"] = {
            "verdict": seq.verdict,
            "checks": {c.name: c.verdict for c in seq.checks},
            "saved": 1.0 - seq.requests / scenario.load_requests,
            "pairs": seq.pairs,
            "early": seq.stopped_early,
        }
    return out


def _rate(hits: int, n: int) -> dict:
    ci = stats.binomtest(hits, n).proportion_ci(0.95, method="exact")
    return {"rate": hits / n, "ci95": [round(ci.low, 4), round(ci.high, 4)], "k": hits, "n": n}


def _summarise(results: list[dict], runs: int, base: Scenario, alpha: float) -> dict:
    by: dict[str, list[dict]] = {}
    for r in results:
        by.setdefault(r["scenario"], []).append(r)

    def count(name: str, pred) -> int:
        return sum(1 for r in by[name] if pred(r))

    aa = by["a/a"]
    out: dict = {
        "aa": {
            "false_fail": _rate(count("a/a", lambda r: r["verdict"] == "fail"), runs),
            "pass": count("a/a", lambda r: r["verdict"] == "pass") / runs,
            "inconclusive": count("a/a", lambda r: r["verdict"] == "inconclusive") / runs,
            "check_pass": {c: sum(r["checks"][c] == "pass" for r in aa) / runs for c in aa[0]["checks"]},
        }
    }
    power, false_pass_2x = {}, {}
    for label, name in (
        ("p95 +10%", "p95"),
        ("accuracy -5 pts", "accuracy"),
        ("throughput -10%", "throughput"),
        ("memory +10%", "memory"),
    ):
        check = CHECKS[name]
        scenario = _scenarios(base)[label][0]
        power[label] = {
            **_rate(count(label, lambda r: r["verdict"] == "fail"), runs),
            "check_fail": count(label, lambda r, c=check: r["checks"][c] == "fail") / runs,
            "sizes": {
                "items": scenario.items,
                "rounds": scenario.rounds,
                "requests_per_round": scenario.requests_per_round,
            },
        }
        false_pass_2x[label] = _rate(count(label, lambda r: r["verdict"] == "pass"), runs)
    both = "1.5x margin, all"
    out["power"] = power
    out["false_pass"] = {
        "1.5x margin (per check PASS rate)": {
            c: _rate(count(both, lambda r, c=c: r["checks"][c] == "pass"), runs)
            for c in CHECKS.values()
        },
        "1.5x margin, sequential (per check PASS rate)": {
            c: _rate(count(both, lambda r, c=c: r["seq"]["checks"][c] == "pass"), runs)
            for c in CHECKS.values()
        },
        "2x margin (overall PASS rate, power scenarios)": false_pass_2x,
    }
    clear = [n for n in by if n.startswith("clear")]
    saved = {n: float(np.mean([r["seq"]["saved"] for r in by[n]])) for n in clear}
    out["sequential"] = {
        "config": asdict(SEQUENTIAL),
        "aa_false_fail": _rate(count("a/a", lambda r: r["seq"]["verdict"] == "fail"), runs),
        "aa_pass": count("a/a", lambda r: r["seq"]["verdict"] == "pass") / runs,
        "aa_saved": float(np.mean([r["seq"]["saved"] for r in aa])),
        "clear_cut": {
            n: {
                "saved": saved[n],
                "seq_fail": count(n, lambda r: r["seq"]["verdict"] == "fail") / runs,
                "fixed_fail": count(n, lambda r: r["verdict"] == "fail") / runs,
                "mean_pairs": float(np.mean([r["seq"]["pairs"] for r in by[n]])),
            }
            for n in clear
        },
        "mean_saved_clear_cut": float(np.mean(list(saved.values()))),
    }
    seq = out["sequential"]
    out["goals"] = {
        "aa_false_fail <= alpha": out["aa"]["false_fail"]["rate"] <= alpha,
        "power >= 0.8 each": all(p["rate"] >= 0.8 for p in power.values()),
        "sequential saves >= 40% on clear-cut": seq["mean_saved_clear_cut"] >= 0.4,
        "sequential aa_false_fail <= alpha": seq["aa_false_fail"]["rate"] <= alpha,
    }
    return out


def _items_needed(alpha: float, checks: int) -> dict[str, int]:
    """Items for 80 % power against a 5-point drop, one-sided at Holm's first step α/m."""
    return {
        f"discordance {psi:.2f}": required_n_mcnemar(psi, 0.05, alpha=alpha / checks)
        for psi in (0.10, 0.15, 0.20, 0.30)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="simulated runs per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--rounds", type=int, default=None, help="load rounds per arm")
    parser.add_argument("--requests", type=int, default=None, help="requests per round")
    parser.add_argument("--items", type=int, default=None, help="eval items")
    args = parser.parse_args(argv)
    base = Scenario()
    sizes = {"rounds": args.rounds, "requests_per_round": args.requests, "items": args.items}
    base = replace(base, **{k: v for k, v in sizes.items() if v is not None})
    tasks = [
        (name, scenario, seq, args.seed, i)
        for name, (scenario, seq) in _scenarios(base).items()
        for i in range(args.runs)
    ]
    started = time.perf_counter()
    if args.jobs > 1:
        with Pool(args.jobs) as pool:
            results = list(pool.imap_unordered(_one, tasks, chunksize=8))
    else:
        results = [_one(t) for t in tasks]
    suite = sim_suite(base, MARGINS, bootstrap_resamples=BOOTSTRAP)
    alpha = suite.gate.alpha
    summary = _summarise(results, args.runs, base, alpha)
    doc = {
        "runs_per_scenario": args.runs,
        "seed": args.seed,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "gate": {
            "alpha": alpha,
            "pass_confidence": suite.gate.pass_confidence,
            "bootstrap_resamples": BOOTSTRAP,
            "margins": asdict(MARGINS),
            "checks": [c.name for c in suite.gate.all_checks()],
        },
        "sizes": {
            "items": base.items,
            "discordance": base.discordance,
            "rounds": base.rounds,
            "requests_per_round": base.requests_per_round,
            "load_requests": base.load_requests,
        },
        "noise": {
            k: v for k, v in asdict(base).items() if k not in ("name", "rounds", "items")
        },
        "items_for_5pt_power_0.8": _items_needed(alpha, len(suite.gate.all_checks())),
        **summary,
    }
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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
- ``sequential``: looks after every round pair (``releasegate.gate.sequential``) with the
  suite's default settings (``stop_on_fail`` off): the false-FAIL rate under A/A, and the
  share of load requests saved against the fixed-n run on clear-cut cases. Each replay also
  notes its first look with a failed critical check, so the same runs give the savings
  with ``stop_on_fail`` on. Single-metric regressions outside latency run light (below) and
  are replayed with ``stop_on_fail`` on only: with it off they stop no earlier than their
  null checks are decided, i.e. about as late as A/A (exactly as A/A for an accuracy drop,
  since quality does not enter the stopping rule then).

Cost saving: scenarios whose regression is not in latency ("light") run 20 requests per
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
LIGHT_REQUESTS = 20
STOP_ON_FAIL = {"stop_on_fail": True}
CHECKS = {"p95": "ttft-p95", "accuracy": "quality", "throughput": "throughput", "memory": "memory"}


def _scenarios(base: Scenario) -> dict[str, tuple[Scenario, str]]:
    """Name → (scenario, which gates run: "fixed", "sequential", "both" or "stop-on-fail")."""
    light = replace(base, requests_per_round=LIGHT_REQUESTS)
    k15 = 1.5 * math.log1p(MARGINS.p95)
    return {
        "a/a": (base, "both"),
        "p95 +10%": (replace(base, p95_ratio=1.10), "fixed"),
        "accuracy -5 pts": (replace(light, accuracy_drop=0.05), "fixed"),
        "throughput -10%": (replace(light, throughput_ratio=0.90), "fixed"),
        "memory +10%": (replace(light, memory_ratio=1.10), "fixed"),
        "1.5x margin, all": (
            replace(
                base,
                p95_ratio=math.exp(k15),
                accuracy_drop=1.5 * MARGINS.quality,
                throughput_ratio=math.exp(-1.5 * math.log1p(MARGINS.throughput)),
                memory_ratio=math.exp(1.5 * math.log1p(MARGINS.memory)),
            ),
            "fixed",
        ),
        "clear: p95 +30%": (replace(base, p95_ratio=1.30), "sequential"),
        "clear: better (p95 -20%, tok/s +20%)": (
            replace(base, p95_ratio=0.80, tail_only=False, throughput_ratio=1.20),
            "sequential",
        ),
        "clear: throughput -20%": (replace(light, throughput_ratio=0.80), "stop-on-fail"),
        "clear: memory +20%": (replace(light, memory_ratio=1.20), "stop-on-fail"),
        "clear: accuracy -10 pts": (replace(light, accuracy_drop=0.10), "stop-on-fail"),
    }


def _one(task: tuple[str, Scenario, str, int, int]) -> dict:
    name, scenario, mode, seed, index = task
    key = [seed, index, *name.encode()]
    rng = np.random.default_rng(np.random.SeedSequence(key))
    suite = sim_suite(scenario, MARGINS, bootstrap_resamples=BOOTSTRAP)
    run = simulate(scenario, rng)
    out: dict = {"scenario": name}
    comparisons = None
    if mode != "sequential":
        comparisons = compare_all(suite, run)
        checks = decide_checks(suite, comparisons)
        out["verdict"] = overall(checks)[0]
        out["checks"] = {c.name: c.verdict for c in checks}
    if mode != "fixed":
        config = _config(suite, mode)
        seq = sequential_gate(suite, run, config, comparisons)
        first = seq.first_fail if seq.first_fail is not None else seq.pairs
        out["seq"] = {
            "verdict": seq.verdict,
            "checks": {c.name: c.verdict for c in seq.checks},
            "saved": 1.0 - seq.requests / scenario.load_requests,
            "pairs": seq.pairs,
            # what stop_on_fail would have done on the same looks
            "saved_sof": 1.0 - min(first, seq.pairs) / scenario.rounds,
            "verdict_sof": "fail" if seq.first_fail is not None else seq.verdict,
        }
    return out


def _config(suite, mode: str) -> SequentialConfig:
    config = SequentialConfig.from_policy(suite.gate)
    return replace(config, **STOP_ON_FAIL) if mode == "stop-on-fail" else config


def _rate(hits: int, n: int) -> dict:
    ci = stats.binomtest(hits, n).proportion_ci(0.95, method="exact")
    return {"rate": hits / n, "ci95": [round(ci.low, 4), round(ci.high, 4)], "k": hits, "n": n}


def _summarise(
    results: list[dict], runs: int, base: Scenario, alpha: float, config: SequentialConfig
) -> dict:
    by: dict[str, list[dict]] = {}
    for r in results:
        by.setdefault(r["scenario"], []).append(r)

    def count(name: str, pred) -> int:
        return sum(1 for r in by[name] if pred(r))

    aa = by["a/a"]
    modes = {name: mode for name, (_, mode) in _scenarios(base).items()}
    out: dict = {
        "aa": {
            "false_fail": _rate(count("a/a", lambda r: r["verdict"] == "fail"), runs),
            "pass": count("a/a", lambda r: r["verdict"] == "pass") / runs,
            "inconclusive": count("a/a", lambda r: r["verdict"] == "inconclusive") / runs,
            "check_pass": {
                c: sum(r["checks"][c] == "pass" for r in aa) / runs for c in aa[0]["checks"]
            },
            "check_fail": {
                c: sum(r["checks"][c] == "fail" for r in aa) / runs for c in aa[0]["checks"]
            },
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
        "2x margin (overall PASS rate, power scenarios)": false_pass_2x,
    }
    clear = [n for n in by if n.startswith("clear")]

    def mean(name: str, key: str) -> float:
        return float(np.mean([r["seq"][key] for r in by[name]]))

    def share(name: str, key: str) -> float:
        return count(name, lambda r: r["seq"][key] == "fail") / runs

    measured_off = [n for n in clear if modes[n] == "sequential"]
    out["sequential"] = {
        "config": asdict(config),
        "aa_false_fail": _rate(count("a/a", lambda r: r["seq"]["verdict"] == "fail"), runs),
        "aa_false_fail_stop_on_fail": _rate(
            count("a/a", lambda r: r["seq"]["verdict_sof"] == "fail"), runs
        ),
        "aa_check_fail": {
            c: sum(r["seq"]["checks"][c] == "fail" for r in aa) / runs for c in aa[0]["checks"]
        },
        "aa_pass": count("a/a", lambda r: r["seq"]["verdict"] == "pass") / runs,
        "aa_saved": mean("a/a", "saved"),
        "clear_cut": {
            n: {
                "stop_on_fail_off": {
                    "saved": mean(n, "saved"),
                    "fail": share(n, "verdict"),
                    "pass": count(n, lambda r: r["seq"]["verdict"] == "pass") / runs,
                    "mean_pairs": mean(n, "pairs"),
                }
                if modes[n] == "sequential"
                else None,
                "stop_on_fail_on": {"saved": mean(n, "saved_sof"), "fail": share(n, "verdict_sof")},
            }
            for n in clear
        },
        "mean_saved_clear_cut": {
            "stop_on_fail_on (all clear-cut)": float(
                np.mean([mean(n, "saved_sof") for n in clear])
            ),
            "stop_on_fail_off (" + ", ".join(measured_off) + ")": float(
                np.mean([mean(n, "saved") for n in measured_off])
            ),
        },
    }
    seq = out["sequential"]
    out["goals"] = {
        "aa_false_fail <= alpha": out["aa"]["false_fail"]["rate"] <= alpha,
        "power >= 0.8 each": all(p["rate"] >= 0.8 for p in power.values()),
        "sequential saves >= 40% on clear-cut": {
            k: v >= 0.4 for k, v in seq["mean_saved_clear_cut"].items()
        },
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
    summary = _summarise(results, args.runs, base, alpha, _config(suite, "sequential"))
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
        "noise": {k: v for k, v in asdict(base).items() if k not in ("name", "rounds", "items")},
        "items_for_5pt_power_0.8": _items_needed(alpha, len(suite.gate.all_checks())),
        **summary,
    }
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

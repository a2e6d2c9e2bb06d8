"""Calibrate the gate by simulation: false FAIL / false PASS rates, power, sequential savings.

    python benchmarks/gate_calibration.py [--runs 1000] [--seed 0] [--jobs 2] [--only NAME]
    python benchmarks/gate_calibration.py --list      # the scenario names

Every run simulates a whole gate run (real records, real compare/decide code; see
``releasegate.gate.simulate``) and prints one JSON document:

- ``aa``: no change at all; the family-wise false-FAIL rate (goal ≤ α = 1 %) with its
  Clopper–Pearson 95 % interval, and how often the gate passes.
- ``false_pass``: regressions of 1.5× the margin on all four checks at once (a PASS verdict
  of a check does not depend on the other checks, so each check's PASS rate is its false-PASS
  rate), with the quality drop split two ways (the default) and lost-only (every discordant
  item one the candidate loses, the hard case for a paired interval); and of 2× (10 %) from
  the power scenarios.
- ``demo``: the whole gate of ``suites/demo.yaml`` (every check, the implicit request-error
  check, sequential looks with the suite's own settings) on runs of the demo's shape
  (``Scenario.demo``: 96 items, 10 rounds × 12 requests): the A/A false-FAIL rate with no
  request errors and with a true error rate of ``--error-rate`` (0.5 %) on both arms (goal
  ≤ 1 %, Clopper–Pearson 95 % interval; ``sequential`` is the verdict a real run reports,
  ``fixed`` the fixed-n gate on all rounds), the quality check's false-PASS rate at 1.5× its
  margin (two-way and lost-only), and a dead round (every request failing) on either arm.
- ``power``: P(overall FAIL) for one regression at a time (p95 +10 %, accuracy −5 points,
  throughput −10 %, memory +10 %) at the default sizes (``sizes``).
- ``sequential``: looks after every round pair (``releasegate.gate.sequential``) with
  ``stop_on_fail`` off: the false-FAIL rate under A/A, and the
  share of load requests saved against the fixed-n run on clear-cut cases. Each replay also
  notes its first look with a failed critical check, so the same runs give the savings
  with ``stop_on_fail`` on. Single-metric regressions outside latency run light (below) and
  are replayed with ``stop_on_fail`` on only: with it off they stop no earlier than their
  null checks are decided, i.e. about as late as A/A (exactly as A/A for an accuracy drop,
  since quality does not enter the stopping rule then).

Cost saving: scenarios whose regression is not in latency ("light") run 20 requests per
round instead of the default; the checks they measure (quality, throughput, memory) do not
depend on the request count, and the null latency check's p-value stays uniform. The
simulated suites use ``bootstrap_resamples=200`` (the schema's minimum) for speed.

``--only PATTERN`` (repeatable; a shell-style pattern or a substring of the name, e.g.
``--only 'demo*'``) runs a subset; the summary then holds the sections those scenarios feed.
``timings`` gives the CPU seconds each scenario took, to size a full run.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
import time
from dataclasses import asdict, replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibration_summary import summarise  # noqa: E402

from releasegate.gate.compare import compare_all  # noqa: E402
from releasegate.gate.decide import decide_checks, overall  # noqa: E402
from releasegate.gate.sequential import SequentialConfig  # noqa: E402
from releasegate.gate.simulate import (  # noqa: E402
    Margins,
    Scenario,
    demo_suite,
    sequential_gate,
    sim_suite,
    simulate,
)
from releasegate.stats import required_n_mcnemar  # noqa: E402

MARGINS = Margins(quality=0.02, p95=0.05, throughput=0.05, memory=0.05)
BOOTSTRAP = 200
LIGHT_REQUESTS = 20


DEMO = "demo"
DEMO_QUALITY = 0.05  # the demo's critical quality margin
ERROR_RATE = 0.005
NOISE = (  # the base scenario's fields reported under "noise" (as before the regimes)
    "requests_per_round",
    "discordance",
    "accuracy",
    "p95_ratio",
    "accuracy_drop",
    "throughput_ratio",
    "memory_ratio",
    "tail_only",
    "ttft_median_s",
    "latency_sigma",
    "tail_share",
    "tail_slowdown",
    "round_shock",
    "arm_jitter",
    "drift",
    "tokens",
    "itl_s",
    "throughput_noise",
    "memory_noise",
)


def _scenarios(base: Scenario, error_rate: float = ERROR_RATE) -> dict[str, tuple[Scenario, str]]:
    """Name → (scenario, which gates run).

    Modes: "fixed", "sequential" (looks, stop_on_fail off), "both", "stop-on-fail" (looks,
    stop_on_fail on) on the four-check sim suite; "suite" runs the fixed-n gate and the looks
    with the suite's own sequential settings on the demo suite (names starting "demo").
    """
    light = replace(base, requests_per_round=LIGHT_REQUESTS)
    k15 = 1.5 * math.log1p(MARGINS.p95)
    all15 = replace(
        base,
        p95_ratio=math.exp(k15),
        accuracy_drop=1.5 * MARGINS.quality,
        throughput_ratio=math.exp(-1.5 * math.log1p(MARGINS.throughput)),
        memory_ratio=math.exp(1.5 * math.log1p(MARGINS.memory)),
    )
    demo = Scenario.demo()
    errors = replace(demo, cand_error_rate=error_rate, inc_error_rate=error_rate)
    drop = 1.5 * DEMO_QUALITY
    return {
        "a/a": (base, "both"),
        "p95 +10%": (replace(base, p95_ratio=1.10), "fixed"),
        "accuracy -5 pts": (replace(light, accuracy_drop=0.05), "fixed"),
        "throughput -10%": (replace(light, throughput_ratio=0.90), "fixed"),
        "memory +10%": (replace(light, memory_ratio=1.10), "fixed"),
        "1.5x margin, all": (all15, "fixed"),
        "1.5x margin, all, lost-only": (replace(all15, direction="lost_only"), "fixed"),
        "clear: p95 +30%": (replace(base, p95_ratio=1.30), "sequential"),
        "clear: better (p95 -20%, tok/s +20%)": (
            replace(base, p95_ratio=0.80, tail_only=False, throughput_ratio=1.20),
            "sequential",
        ),
        "clear: throughput -20%": (replace(light, throughput_ratio=0.80), "stop-on-fail"),
        "clear: memory +20%": (replace(light, memory_ratio=1.20), "stop-on-fail"),
        "clear: accuracy -10 pts": (replace(light, accuracy_drop=0.10), "stop-on-fail"),
        "demo a/a": (demo, "suite"),
        "demo a/a, errors": (errors, "suite"),
        "demo 1.5x quality margin": (replace(demo, accuracy_drop=drop), "suite"),
        "demo 1.5x quality margin, lost-only": (
            replace(demo, accuracy_drop=drop, direction="lost_only"),
            "suite",
        ),
        "demo dead candidate round": (
            replace(errors, dead_rounds=frozenset({("candidate", 4)})),
            "suite",
        ),
        "demo dead incumbent round": (
            replace(errors, dead_rounds=frozenset({("incumbent", 4)})),
            "suite",
        ),
    }


def _selected(names: list[str], only: list[str] | None) -> list[str]:
    """The scenario names matching any ``--only`` pattern (shell-style or substring)."""
    if not only:
        return names
    hits = [n for n in names if any(fnmatch.fnmatch(n, p) or p in n for p in only)]
    if not hits:
        raise SystemExit(f"--only {only}: no scenario matches; try --list")
    return hits


def _suite(name: str, scenario: Scenario):
    if name.startswith(DEMO):
        return demo_suite(scenario, bootstrap_resamples=BOOTSTRAP)
    return sim_suite(scenario, MARGINS, bootstrap_resamples=BOOTSTRAP)


def _one(task: tuple[str, Scenario, str, int, int]) -> dict:
    name, scenario, mode, seed, index = task
    started = time.process_time()
    key = [seed, index, *name.encode()]
    rng = np.random.default_rng(np.random.SeedSequence(key))
    suite = _suite(name, scenario)
    run = simulate(scenario, rng)
    out: dict = {"scenario": name}
    comparisons = None
    if mode != "sequential" and mode != "stop-on-fail":
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
    out["cpu_s"] = time.process_time() - started
    return out


def _config(suite, mode: str) -> SequentialConfig:
    """The suite's own settings ("suite"), else stop_on_fail on or off as the mode says."""
    config = SequentialConfig.from_policy(suite.gate)
    if mode == "suite":
        return config
    return replace(config, stop_on_fail=mode == "stop-on-fail")


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
    parser.add_argument(
        "--error-rate",
        type=float,
        default=ERROR_RATE,
        help="true request-error rate of both arms in the demo 'errors' scenarios",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="run only scenarios matching (shell-style or substring; repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="print the scenario names and exit")
    args = parser.parse_args(argv)
    base = Scenario()
    sizes = {"rounds": args.rounds, "requests_per_round": args.requests, "items": args.items}
    base = replace(base, **{k: v for k, v in sizes.items() if v is not None})
    cases = _scenarios(base, args.error_rate)
    if args.list:
        print("\n".join(f"{name}\t{mode}" for name, (_, mode) in cases.items()))
        return 0
    chosen = _selected(list(cases), args.only)
    tasks = [
        (name, cases[name][0], cases[name][1], args.seed, i)
        for name in chosen
        for i in range(args.runs)
    ]
    started = time.perf_counter()
    if args.jobs > 1:
        with Pool(args.jobs) as pool:
            results = list(pool.imap_unordered(_one, tasks, chunksize=8))
    else:
        results = [_one(t) for t in tasks]
    suite = sim_suite(base, MARGINS, bootstrap_resamples=BOOTSTRAP)
    demo = demo_suite(Scenario.demo())
    alpha = suite.gate.alpha
    summary = summarise(results, {n: cases[n] for n in chosen}, alpha, _config(suite, "sequential"))
    doc = {
        "runs_per_scenario": args.runs,
        "seed": args.seed,
        "only": args.only,
        "scenarios": chosen,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "gate": {
            "alpha": alpha,
            "pass_confidence": suite.gate.pass_confidence,
            "bootstrap_resamples": BOOTSTRAP,
            "margins": asdict(MARGINS),
            "checks": [c.name for c in suite.gate.all_checks()],
        },
        "demo_gate": {
            "alpha": demo.gate.alpha,
            "pass_confidence": demo.gate.pass_confidence,
            "max_error_rate": demo.gate.max_error_rate,
            "sequential": demo.gate.sequential.model_dump(),
            "checks": {c.name: (c.margin, c.severity) for c in demo.gate.all_checks()},
            "error_rate": args.error_rate,
        },
        "sizes": {
            "items": base.items,
            "discordance": base.discordance,
            "rounds": base.rounds,
            "requests_per_round": base.requests_per_round,
            "load_requests": base.load_requests,
        },
        "noise": {k: v for k, v in asdict(base).items() if k in NOISE},
        "items_for_5pt_power_0.8": _items_needed(alpha, len(suite.gate.all_checks())),
        **summary,
    }
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

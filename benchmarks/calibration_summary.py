"""Summaries of ``gate_calibration.py``'s simulated runs: one JSON section per question.

Every section is built only from the scenarios that were run (``--only`` runs a subset).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import numpy as np
from scipy import stats

from releasegate.gate.sequential import SequentialConfig
from releasegate.gate.simulate import Scenario

__all__ = ["CHECKS", "DEMO_GOAL", "rate", "summarise"]

CHECKS = {"p95": "ttft-p95", "accuracy": "quality", "throughput": "throughput", "memory": "memory"}
POWER = {
    "p95 +10%": "p95",
    "accuracy -5 pts": "accuracy",
    "throughput -10%": "throughput",
    "memory +10%": "memory",
}
DEMO_GOAL = 0.01  # the demo gate's A/A false-FAIL goal (its alpha)
FALSE_PASS_GOAL = 0.05  # 1 − pass_confidence

Runs = dict[str, list[dict]]


def rate(hits: int, n: int) -> dict:
    """A share with its Clopper–Pearson 95 % interval."""
    ci = stats.binomtest(hits, n).proportion_ci(0.95, method="exact")
    return {"rate": hits / n, "ci95": [round(ci.low, 4), round(ci.high, 4)], "k": hits, "n": n}


def _count(runs: list[dict], pred: Callable[[dict], bool]) -> int:
    return sum(1 for r in runs if pred(r))


def _verdicts(runs: list[dict], key: str | None = None) -> dict:
    """Overall false-FAIL (with CI), PASS and INCONCLUSIVE shares, per-check PASS/FAIL shares."""
    pick = (lambda r: r) if key is None else (lambda r: r[key])
    n = len(runs)
    names = list(pick(runs[0])["checks"])
    return {
        "false_fail": rate(_count(runs, lambda r: pick(r)["verdict"] == "fail"), n),
        "pass": _count(runs, lambda r: pick(r)["verdict"] == "pass") / n,
        "inconclusive": _count(runs, lambda r: pick(r)["verdict"] == "inconclusive") / n,
        "check_pass": {
            c: _count(runs, lambda r, c=c: pick(r)["checks"][c] == "pass") / n for c in names
        },
        "check_fail": {
            c: _count(runs, lambda r, c=c: pick(r)["checks"][c] == "fail") / n for c in names
        },
    }


def _check_pass(runs: list[dict], checks, key: str | None = None) -> dict:
    pick = (lambda r: r) if key is None else (lambda r: r[key])
    return {
        c: rate(_count(runs, lambda r, c=c: pick(r)["checks"][c] == "pass"), len(runs))
        for c in checks
    }


def _sizes(s: Scenario) -> dict:
    return {"items": s.items, "rounds": s.rounds, "requests_per_round": s.requests_per_round}


def _fixed(by: Runs, cases: dict[str, tuple[Scenario, str]]) -> dict:
    out: dict = {}
    if "a/a" in by:
        out["aa"] = _verdicts(by["a/a"])
    power, false_pass_2x = {}, {}
    for label, name in POWER.items():
        if label not in by:
            continue
        runs, check = by[label], CHECKS[name]
        power[label] = {
            **rate(_count(runs, lambda r: r["verdict"] == "fail"), len(runs)),
            "check_fail": _count(runs, lambda r, c=check: r["checks"][c] == "fail") / len(runs),
            "sizes": _sizes(cases[label][0]),
        }
        false_pass_2x[label] = rate(_count(runs, lambda r: r["verdict"] == "pass"), len(runs))
    if power:
        out["power"] = power
    false_pass: dict = {}
    for label, name in (
        ("1.5x margin (per check PASS rate)", "1.5x margin, all"),
        ("1.5x margin, lost-only (per check PASS rate)", "1.5x margin, all, lost-only"),
    ):
        if name in by:
            false_pass[label] = _check_pass(by[name], CHECKS.values())
    if false_pass_2x:
        false_pass["2x margin (overall PASS rate, power scenarios)"] = false_pass_2x
    if false_pass:
        out["false_pass"] = false_pass
    return out


def _sequential(by: Runs, modes: dict[str, str], config: SequentialConfig) -> dict:
    """Looks with stop_on_fail off (``config``) and what stop_on_fail would have saved."""
    clear = [n for n in by if n.startswith("clear")]
    if "a/a" not in by and not clear:
        return {}

    def mean(name: str, key: str) -> float:
        return float(np.mean([r["seq"][key] for r in by[name]]))

    def share(name: str, key: str) -> float:
        return _count(by[name], lambda r: r["seq"][key] == "fail") / len(by[name])

    out: dict = {"config": asdict(config)}
    if "a/a" in by:
        aa = by["a/a"]
        n = len(aa)
        out |= {
            "aa_false_fail": rate(_count(aa, lambda r: r["seq"]["verdict"] == "fail"), n),
            "aa_false_fail_stop_on_fail": rate(
                _count(aa, lambda r: r["seq"]["verdict_sof"] == "fail"), n
            ),
            "aa_check_fail": _verdicts(aa, "seq")["check_fail"],
            "aa_pass": _count(aa, lambda r: r["seq"]["verdict"] == "pass") / n,
            "aa_saved": mean("a/a", "saved"),
        }
    if clear:
        off = [n for n in clear if modes[n] == "sequential"]
        out["clear_cut"] = {
            n: {
                "stop_on_fail_off": {
                    "saved": mean(n, "saved"),
                    "fail": share(n, "verdict"),
                    "pass": _count(by[n], lambda r: r["seq"]["verdict"] == "pass") / len(by[n]),
                    "mean_pairs": mean(n, "pairs"),
                }
                if modes[n] == "sequential"
                else None,
                "stop_on_fail_on": {"saved": mean(n, "saved_sof"), "fail": share(n, "verdict_sof")},
            }
            for n in clear
        }
        saved = {
            "stop_on_fail_on (all clear-cut)": float(np.mean([mean(n, "saved_sof") for n in clear]))
        }
        if off:
            saved["stop_on_fail_off (" + ", ".join(off) + ")"] = float(
                np.mean([mean(n, "saved") for n in off])
            )
        out["mean_saved_clear_cut"] = saved
    return out


def _demo(by: Runs, cases: dict[str, tuple[Scenario, str]]) -> dict:
    names = [n for n in by if n.startswith("demo")]
    if not names:
        return {}
    out: dict = {}
    aa = {"no request errors": "demo a/a", "request errors": "demo a/a, errors"}
    for label, name in aa.items():
        if name in by:
            s = cases[name][0]
            out.setdefault("aa", {})[label] = {
                "error_rate": {"candidate": s.cand_error_rate, "incumbent": s.inc_error_rate},
                "sequential": {
                    **_verdicts(by[name], "seq"),
                    "mean_pairs": float(np.mean([r["seq"]["pairs"] for r in by[name]])),
                },
                "fixed": _verdicts(by[name]),
            }
    for label, name in (
        ("two-way", "demo 1.5x quality margin"),
        ("lost-only", "demo 1.5x quality margin, lost-only"),
    ):
        if name in by:
            runs = by[name]
            out.setdefault("false_pass_1.5x_quality", {})[label] = {
                "accuracy_drop": cases[name][0].accuracy_drop,
                "quality_pass": rate(
                    _count(runs, lambda r: r["seq"]["checks"]["quality"] == "pass"), len(runs)
                ),
                "overall_pass": rate(
                    _count(runs, lambda r: r["seq"]["verdict"] == "pass"), len(runs)
                ),
            }
    for label, name in (
        ("candidate", "demo dead candidate round"),
        ("incumbent", "demo dead incumbent round"),
    ):
        if name in by:
            out.setdefault("dead_round", {})[label] = {
                "dead_rounds": sorted(map(list, cases[name][0].dead_rounds)),
                "sequential": _verdicts(by[name], "seq"),
                "fixed": _verdicts(by[name]),
            }
    return out


def _goals(out: dict, alpha: float) -> dict:
    goals: dict = {}
    if "aa" in out:
        goals["aa_false_fail <= alpha"] = out["aa"]["false_fail"]["rate"] <= alpha
    if "power" in out:
        goals["power >= 0.8 each"] = all(p["rate"] >= 0.8 for p in out["power"].values())
    for label, per_check in out.get("false_pass", {}).items():
        if label.startswith("1.5x"):
            goals[f"false PASS <= 5% at {label}"] = {
                c: r["rate"] <= FALSE_PASS_GOAL for c, r in per_check.items()
            }
    seq = out.get("sequential", {})
    if "mean_saved_clear_cut" in seq:
        goals["sequential saves >= 40% on clear-cut"] = {
            k: v >= 0.4 for k, v in seq["mean_saved_clear_cut"].items()
        }
    if "aa_false_fail" in seq:
        goals["sequential aa_false_fail <= alpha"] = seq["aa_false_fail"]["rate"] <= alpha
    demo = out.get("demo", {})
    for label, aa in demo.get("aa", {}).items():
        goals[f"demo aa_false_fail <= 1% ({label})"] = (
            aa["sequential"]["false_fail"]["rate"] <= DEMO_GOAL
        )
    for label, fp in demo.get("false_pass_1.5x_quality", {}).items():
        goals[f"demo quality false PASS <= 5% at 1.5x margin ({label})"] = (
            fp["quality_pass"]["rate"] <= FALSE_PASS_GOAL
        )
    return goals


def summarise(
    results: list[dict],
    cases: dict[str, tuple[Scenario, str]],
    alpha: float,
    config: SequentialConfig,
) -> dict:
    """The JSON sections of the benchmark from the per-run results of the scenarios run."""
    by: Runs = {}
    for r in results:
        by.setdefault(r["scenario"], []).append(r)
    modes = {name: mode for name, (_, mode) in cases.items()}
    out = _fixed(by, cases)
    seq = _sequential(by, modes, config)
    if seq:
        out["sequential"] = seq
    demo = _demo(by, cases)
    if demo:
        demo["sizes"] = _sizes(cases[next(n for n in by if n.startswith("demo"))][0])
        out["demo"] = demo
    out["goals"] = _goals(out, alpha)
    out["timings"] = {
        name: {
            "runs": len(runs),
            "cpu_s": round(sum(r["cpu_s"] for r in runs), 2),
            "per_run_s": round(float(np.mean([r["cpu_s"] for r in runs])), 4),
        }
        for name, runs in by.items()
    }
    return out

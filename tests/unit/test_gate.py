"""Compare and decide on synthetic records with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from releasegate.gate.compare import compare_all
from releasegate.gate.decide import decide_checks, overall
from releasegate.gate.result import CheckResult
from releasegate.records import EventRecord, ItemRecord, ProbeRecord, RequestRecord, Timing
from releasegate.records.views import RunRecords
from releasegate.suite import parse_suite

SUITE = """\
name: g
server: {url: "http://127.0.0.1:1"}
candidate: {id: a}
incumbent: {id: b}
eval:
  - {name: e, dataset: {items: [{q: 1}]}, template: x, scorers: [{kind: exact}]}
load:
  - {name: l, prompts: [hi], requests_per_round: 2, rounds: 8}
gate:
  checks:
    - {name: quality, metric: quality, margin: 0.05, owner: qa}
    - {name: ttft, metric: ttft_p95, margin: 0.2, owner: perf}
    - {name: tput, metric: output_tokens_per_s, margin: 0.1, owner: perf}
    - {name: mem, metric: peak_rss, margin: 0.1, owner: cap, severity: advisory}
"""


def timing(ttft: float = 0.1, ok: bool = True) -> Timing:
    return Timing(
        started_at=0.0,
        ttft_s=ttft,
        e2e_s=ttft + 1,
        chunk_offsets_s=[ttft],
        status=200 if ok else None,
        error=None if ok else "refused",
        completion_tokens=10,
    )


def synthetic(
    rng: np.random.Generator,
    *,
    cand_wrong: int = 0,
    ttft_factor: float = 1.0,
    tput_factor: float = 1.0,
    mem_factor: float = 1.0,
    cand_errors: int = 0,
) -> RunRecords:
    records = []
    for i in range(200):
        inc_right = i % 4 != 0  # incumbent: 75 % right
        cand_right = inc_right and i >= cand_wrong * 4 / 3
        for arm, right in (("candidate", cand_right), ("incumbent", inc_right)):
            err = arm == "candidate" and i < cand_errors
            records.append(
                ItemRecord(
                    t=0,
                    arm=arm,
                    workload="e",
                    item_id=str(i),
                    prompt="p",
                    output="o",
                    scores={"exact": float(right)},
                    timing=timing(ok=not err),
                )
            )
    for rnd in range(8):
        shock = rng.lognormal(0, 0.05)  # a per-round shock hits both arms alike
        for arm, factor in (("candidate", ttft_factor), ("incumbent", 1.0)):
            for seq, ttft in enumerate(rng.lognormal(np.log(0.1), 0.3, 40) * shock * factor):
                records.append(
                    RequestRecord(
                        t=0, arm=arm, workload="l", round=rnd, seq=seq, timing=timing(float(ttft))
                    )
                )
            tput = 100 * shock * (tput_factor if arm == "candidate" else 1.0)
            tput *= rng.lognormal(0, 0.02)
            records.append(
                EventRecord(
                    t=0,
                    arm=arm,
                    event="round_end",
                    detail={"workload": "l", "round": rnd, "output_tokens_per_s": tput},
                )
            )
            mem = 200e6 * (mem_factor if arm == "candidate" else 1.0) * rng.lognormal(0, 0.005)
            records.append(
                ProbeRecord(t=0, arm=arm, probe="memory", round=rnd, values={"peak_rss": mem})
            )
    return RunRecords.of(records)


def decide(run: RunRecords) -> dict[str, CheckResult]:
    suite = parse_suite(SUITE)
    return {c.name: c for c in decide_checks(suite, compare_all(suite, run))}


def test_no_change_usually_passes_and_never_fails() -> None:
    rng = np.random.default_rng(1)
    runs = [decide(synthetic(rng)) for _ in range(30)]
    for name in ("quality", "ttft", "tput", "mem", "request-errors"):
        verdicts = [run[name].verdict for run in runs]
        assert "fail" not in verdicts, name
        assert verdicts.count("pass") >= 24, (name, verdicts)  # power at this noise level
    assert [overall(list(r.values()))[0] for r in runs].count("pass") >= 24


def test_clear_regressions_fail_with_estimates_beyond_the_margin() -> None:
    run = synthetic(
        np.random.default_rng(2), cand_wrong=30, ttft_factor=1.6, tput_factor=0.7, mem_factor=1.5
    )
    checks = decide(run)
    assert all(c.verdict == "fail" for n, c in checks.items() if n != "request-errors")
    assert checks["quality"].estimate == pytest.approx(-30 / 200)
    assert checks["ttft"].candidate_value > 1.4 * checks["ttft"].incumbent_value
    assert np.exp(checks["tput"].estimate) == pytest.approx(0.7, rel=0.05)
    assert checks["mem"].p_value < 0.01
    verdict, rec = overall(list(checks.values()))
    assert (verdict, rec.action) == ("fail", "rollback")
    assert any("quality" in r for r in rec.reasons)


def test_advisory_failure_does_not_gate() -> None:
    checks = decide(synthetic(np.random.default_rng(3), mem_factor=1.5))
    assert checks["mem"].verdict == "fail"
    verdict, _ = overall(list(checks.values()))
    assert verdict == "pass"


def test_small_regression_within_noise_is_inconclusive_not_fail() -> None:
    # 10 % slower with a 20 % margin and few rounds: neither shown fine nor shown bad.
    # (At 14 % the p95 estimate, pooled or per-round, lands beyond the margin ~15 % of the time.)
    checks = decide(synthetic(np.random.default_rng(4), ttft_factor=1.10))
    assert checks["ttft"].verdict in ("inconclusive", "pass")
    assert checks["ttft"].verdict != "fail"


def test_candidate_request_errors_fail_and_leave_quality_to_answered_items() -> None:
    checks = decide(synthetic(np.random.default_rng(5), cand_errors=20))
    assert checks["request-errors"].verdict == "fail"
    assert checks["quality"].n == 180  # failed items are not counted as wrong answers
    verdict, rec = overall(list(checks.values()))
    assert verdict == "fail"


def test_inconclusive_critical_check_means_hold() -> None:
    run = synthetic(np.random.default_rng(6))
    run = RunRecords(
        meta=None, requests=run.requests, items=[], probes=run.probes, events=run.events
    )
    checks = decide(run)
    assert checks["quality"].verdict == "inconclusive"
    assert "no data" in checks["quality"].reason
    verdict, rec = overall(list(checks.values()))
    assert (verdict, rec.action) == ("inconclusive", "hold")


def test_false_fail_rate_of_the_whole_gate_is_controlled() -> None:
    """A/A by simulation: with α = 1 %, 60 runs give ≥ 1 false FAIL with p < 0.46; 0 seen."""
    rng = np.random.default_rng(7)
    verdicts = [overall(list(decide(synthetic(rng)).values()))[0] for _ in range(60)]
    assert verdicts.count("fail") <= 2


def test_items_sharing_a_context_widen_the_quality_interval() -> None:
    """20 passages × 10 questions, answers flip together per passage: far fewer units."""
    records = []
    for i in range(200):
        passage = i // 10
        cand_right = passage % 5 != 0  # the candidate loses whole passages
        for arm, right in (("candidate", cand_right), ("incumbent", True)):
            records.append(
                ItemRecord(
                    t=0,
                    arm=arm,
                    workload="e",
                    item_id=str(i),
                    cluster=str(passage),
                    prompt="p",
                    output="o",
                    scores={"exact": float(right)},
                    timing=timing(),
                )
            )
    clustered = decide(RunRecords.of(records))["quality"]
    for r in records:
        r.cluster = None
    flat = decide(RunRecords.of(records))["quality"]
    assert clustered.estimate == pytest.approx(flat.estimate) == pytest.approx(-0.2)
    assert clustered.n == 20 and flat.n == 200
    assert (clustered.ci_high - clustered.ci_low) > 2 * (flat.ci_high - flat.ci_low)


def test_peak_memory_standard_error_is_floored_by_calibrated_noise() -> None:
    suite = parse_suite(SUITE)
    run = synthetic(np.random.default_rng(8), mem_factor=1.003)
    plain = {c.name: c for c in decide_checks(suite, compare_all(suite, run))}["mem"]
    noisy = {c.name: c for c in decide_checks(suite, compare_all(suite, run, noise={"mem": 0.06}))}[
        "mem"
    ]
    assert plain.estimate == pytest.approx(noisy.estimate)
    assert plain.verdict == "pass" and "floored at 0.005" in plain.method
    # with 6 % A/A noise, 8 rounds cannot show a 10 % margin is kept
    assert noisy.verdict == "inconclusive"
    assert noisy.ci_low < -np.log1p(0.1) < plain.ci_low

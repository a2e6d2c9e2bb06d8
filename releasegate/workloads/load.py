"""Closed-loop load at a fixed concurrency: one round against one endpoint.

Owns the schedule, not the records: ``concurrency`` workers each take the next request number,
send it, hand the result to ``on_result`` and loop, so exactly ``concurrency`` requests are in
flight while there is work. Warm-up requests run first, to completion, and are left out of the
summary; then the measured window opens. It closes when ``requests`` measured requests have
been sent or ``duration_s`` has passed (no request starts after that; those in flight finish),
and ends when the last one returns.

With a :class:`~releasegate.workloads.budget.Budget`, requests in flight are cut when it runs
out and, once it is spent, a count-bound window records its remaining requests as not sent
(a duration-bound window just closes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from releasegate.endpoints.client import OpenAIClient
from releasegate.records.model import Timing
from releasegate.workloads.budget import Budget

__all__ = ["OnResult", "RoundSummary", "run_round"]

OnResult = Callable[[int, Timing, bool], None]
"""Called as ``on_result(seq, timing, is_warmup)`` once per finished request."""


@dataclass(frozen=True, slots=True)
class RoundSummary:
    """What one round measured (warm-up requests excluded).

    ``mean_concurrency`` is the time-weighted number of requests in flight over the measured
    window; compare it with ``concurrency`` to see whether the harness kept up.
    ``output_tokens`` sums the server's ``completion_tokens`` of successful requests (the
    number of text chunks where the server reported no usage).
    """

    concurrency: int
    requests: int
    ok: int
    errors: int
    wall_s: float
    output_tokens: int
    requests_per_s: float
    output_tokens_per_s: float
    mean_concurrency: float
    started_at: float
    not_sent: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A plain dict, e.g. for an event record's ``detail``."""
        return asdict(self)


class _Tally:
    """Running totals of the measured window, kept cheap (no per-request objects)."""

    __slots__ = ("requests", "ok", "tokens", "busy_s", "not_sent")

    def __init__(self) -> None:
        self.not_sent = 0
        self.requests = 0
        self.ok = 0
        self.tokens = 0
        self.busy_s = 0.0

    def add(self, timing: Timing, busy_s: float) -> None:
        self.requests += 1
        self.busy_s += busy_s
        if timing.ok:
            self.ok += 1
            n = timing.completion_tokens
            self.tokens += n if n is not None else len(timing.chunk_offsets_s)


async def run_round(
    client: OpenAIClient,
    prompts: Sequence[str],
    *,
    concurrency: int,
    max_tokens: int,
    requests: int | None = None,
    duration_s: float | None = None,
    warmup: int = 0,
    extra: Mapping[str, Any] | None = None,
    on_result: OnResult | None = None,
    budget: Budget | None = None,
) -> RoundSummary:
    """Run one closed-loop round.

    Requests are numbered from 0 through the warm-up and then the measured part; request
    ``seq`` sends ``prompts[seq % len(prompts)]``.

    Args:
        client: the endpoint's client; its pool must hold ``concurrency`` connections.
        prompts: cycled in order.
        concurrency: the number of requests kept in flight.
        max_tokens: sent with every request.
        requests: measured requests to send (give this, ``duration_s``, or both).
        duration_s: length of the window in which measured requests may start.
        warmup: requests sent before the window opens and left out of the summary.
        extra: per-request body fields (e.g. ``{"ignore_eos": True}``).
        on_result: called with ``(seq, timing, is_warmup)`` as each request finishes.
        budget: the workload's time budget on this arm (charged while the round runs).

    Returns:
        The measured window's summary.

    Raises:
        ValueError: on a bad argument, or a client pool smaller than ``concurrency``
            (waiting for a connection would be counted as server latency).
    """
    if not prompts:
        raise ValueError("prompts must not be empty")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if requests is None and duration_s is None:
        raise ValueError("give requests, duration_s, or both")
    if requests is not None and requests < 0:
        raise ValueError("requests must not be negative")
    if warmup < 0:
        raise ValueError("warmup must not be negative")
    if client.max_connections < concurrency:
        raise ValueError(
            f"client pool holds {client.max_connections} connections, fewer than "
            f"concurrency {concurrency}: build the client with max_connections >= concurrency"
        )
    n_prompts = len(prompts)
    complete = client.complete
    perf = time.perf_counter
    next_seq = 0

    async def worker(stop_seq: int | None, deadline: float | None, tally: _Tally | None) -> None:
        nonlocal next_seq
        while True:
            seq = next_seq
            if stop_seq is not None and seq >= stop_seq:
                return
            if deadline is not None and perf() >= deadline:
                return
            spent = budget is not None and budget.spent
            if spent and stop_seq is None:  # a duration-bound window just closes
                return
            next_seq = seq + 1
            prompt = prompts[seq % n_prompts]
            if spent:
                assert budget is not None
                if tally is not None:
                    tally.not_sent += 1
                if on_result is not None:
                    on_result(seq, budget.not_sent(), tally is None)
                continue
            t = perf()
            if budget is None:
                timing = (
                    await complete(prompt, max_tokens=max_tokens, extra=extra, keep_text=False)
                ).timing
            else:

                async def send(limit: float | None, prompt: str = prompt) -> Timing:
                    return (
                        await complete(
                            prompt,
                            max_tokens=max_tokens,
                            extra=extra,
                            keep_text=False,
                            deadline_s=limit,
                        )
                    ).timing

                timing = await budget.run(send, client.deadline_s)
            if tally is not None:
                tally.add(timing, perf() - t)
            if on_result is not None:
                on_result(seq, timing, tally is None)

    async def run(
        n: int, stop_seq: int | None, deadline: float | None, tally: _Tally | None
    ) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(n):
                    tg.create_task(worker(stop_seq, deadline, tally))
        except BaseExceptionGroup as group:  # e.g. on_result raised: pass the first one on
            raise group.exceptions[0] from None

    if budget is not None:
        budget.start()
    try:
        if warmup:
            await run(min(concurrency, warmup), warmup, None, None)
        tally = _Tally()
        started_at = time.time()
        t0 = perf()
        stop_seq = next_seq + requests if requests is not None else None
        deadline = t0 + duration_s if duration_s is not None else None
        workers = concurrency if requests is None else min(concurrency, requests)
        if workers:
            await run(workers, stop_seq, deadline, tally)
        wall = perf() - t0
    finally:
        if budget is not None:
            budget.stop()
    per_s = 1.0 / wall if wall > 0 else 0.0
    return RoundSummary(
        concurrency=concurrency,
        requests=tally.requests,
        ok=tally.ok,
        errors=tally.requests - tally.ok,
        wall_s=wall,
        output_tokens=tally.tokens,
        requests_per_s=tally.requests * per_s,
        output_tokens_per_s=tally.tokens * per_s,
        mean_concurrency=tally.busy_s * per_s,
        started_at=started_at,
        not_sent=tally.not_sent,
    )

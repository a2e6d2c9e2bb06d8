"""A workload's time budget on one arm: wall time charged while it runs, across rounds.

Once the budget is spent, requests not yet sent are recorded as not sent (error kind
``budget``) and requests in flight are cut when it runs out (their deadline is what is left).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from releasegate.records.model import Timing

_perf = time.perf_counter


class Budget:
    """``seconds`` of wall time (None: unlimited), charged from :meth:`start` to :meth:`stop`."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.used_s = 0.0
        self._since: float | None = None

    def start(self) -> None:
        if self._since is None:
            self._since = _perf()

    def stop(self) -> None:
        if self._since is not None:
            self.used_s += _perf() - self._since
            self._since = None

    def left(self) -> float | None:
        """Seconds left (≤ 0 once spent), or None when unlimited."""
        if self.seconds is None:
            return None
        running = _perf() - self._since if self._since is not None else 0.0
        return self.seconds - self.used_s - running

    @property
    def spent(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def not_sent(self) -> Timing:
        """The timing recorded for a request the spent budget kept from being sent."""
        return Timing(
            started_at=time.time(),
            error=f"budget: not sent, the workload's {self.seconds:g} s budget was spent",
        )

    async def run(
        self, send: Callable[[float | None], Awaitable[Timing]], deadline_s: float | None
    ) -> Timing:
        """Send one request with a deadline of at most what is left; tag a budget cut.

        ``send`` gets the per-request deadline to use (None: the client's own);
        ``deadline_s`` is the client's deadline, to tell a budget cut from a request deadline.
        """
        left = self.left()
        if left is None or (deadline_s is not None and left >= deadline_s):
            return await send(None)
        timing = await send(max(left, 0.001))
        if timing.error is not None and timing.error.startswith("deadline:"):
            error = f"budget: cut after {left:.3g} s, the workload's {self.seconds:g} s ran out"
            timing = timing.model_copy(update={"error": error})
        return timing

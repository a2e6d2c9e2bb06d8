"""SIGINT and SIGTERM stop a run the same way: servers torn down, the abort recorded.

CI cancels a job with SIGTERM (GitHub Actions: SIGINT first, SIGTERM a few seconds later);
Python's default would die at once on SIGTERM and leave the launched servers running.
Inside :func:`trap_signals` both signals instead

- cancel the running :func:`run_async` coroutine, so every ``async with`` unwinds (the
  launcher SIGTERMs each server's process group, SIGKILLs it after a grace period, and at
  once on a second signal), and then raise :class:`RunInterrupted`;
- raise :class:`RunInterrupted` directly in synchronous code (planning, reporting).

The pipeline records the abort; the CLI exits with ``128 + signal`` (130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(BaseException):
    """The run was stopped by a signal (a BaseException, like KeyboardInterrupt).

    Attributes:
        signum: the signal number.
        run_dir: the run folder whose records were kept, once the pipeline knows it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.run_dir: Path | None = None
        super().__init__(f"interrupted by {self.signal_name}")

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention for death by signal: 128 + signal number."""
        return 128 + self.signum


class _Trap:
    """The state of one :func:`trap_signals` block."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.task: asyncio.Task[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        task, loop = self.task, self.loop
        if task is not None and loop is not None and not task.done():
            # Unwind the coroutine; a second signal cancels again, which makes the
            # launcher's teardown SIGKILL at once instead of waiting out its grace period.
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wake a select() with a long timeout
            return
        raise RunInterrupted(signum)


_ACTIVE: _Trap | None = None


@contextlib.contextmanager
def trap_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM interrupt the run as described above.

    Does nothing outside the main thread (signal handlers can only be set there).
    """
    global _ACTIVE
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    trap = _Trap()
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    outer, _ACTIVE = _ACTIVE, trap
    for sig in SIGNALS:
        signal.signal(sig, trap.handle)
    try:
        yield
    finally:
        _ACTIVE = outer
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``; inside :func:`trap_signals` a signal cancels it.

    Raises:
        RunInterrupted: a signal arrived while the coroutine ran (after it unwound).
    """
    trap = _ACTIVE
    if trap is None:
        return asyncio.run(coro)

    async def main() -> T:
        trap.loop, trap.task = asyncio.get_running_loop(), asyncio.current_task()
        try:
            return await coro
        finally:
            trap.task = None

    try:
        result = asyncio.run(main())
    except asyncio.CancelledError:
        if trap.received is not None:
            raise RunInterrupted(trap.received) from None
        raise
    if trap.received is not None:  # the cancellation was swallowed on the way: stop anyway
        raise RunInterrupted(trap.received)
    return result

"""Sample the resident memory (RSS) of a process tree in the background.

The sum covers the root process and all its descendants (RSS of each, so shared pages count
once per process). The descendant list is refreshed every ``tree_refresh_s`` rather than at
every sample: walking the process table costs far more than reading one process's RSS.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType

import psutil

log = logging.getLogger(__name__)

_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied)


class MemorySampler:
    """Track current and peak RSS of a process tree.

    Use as ``async with MemorySampler(pid) as mem: ...`` or call ``start()`` / ``stop()``.

    Args:
        pid: root process id.
        period_s: time between samples.
        tree_refresh_s: how often the list of descendants is rebuilt.

    Attributes:
        peak_rss: largest sum seen since start or the last ``reset_peak()`` (bytes).
        last_rss: the most recent sum (bytes); 0 before the first sample.
        samples: number of samples taken.
        root_gone: True once the root process has disappeared (sampling stopped).
    """

    def __init__(self, pid: int, period_s: float = 0.2, tree_refresh_s: float = 1.0) -> None:
        self.pid = pid
        self.period_s = period_s
        self.tree_refresh_s = tree_refresh_s
        self.peak_rss = 0
        self.last_rss = 0
        self.samples = 0
        self.root_gone = False
        self._root: psutil.Process | None = None
        self._tree: list[psutil.Process] = []
        self._tree_at = float("-inf")
        self._task: asyncio.Task[None] | None = None

    def reset_peak(self) -> None:
        """Start a new peak window (e.g. at each round); the peak restarts from ``last_rss``."""
        self.peak_rss = self.last_rss

    def sample(self) -> int | None:
        """Take one sample now; returns the RSS sum, or None when the root process is gone."""
        if self.root_gone:
            return None
        try:
            if self._root is None:
                self._root = psutil.Process(self.pid)
            now = time.monotonic()
            if now - self._tree_at >= self.tree_refresh_s:
                self._tree = [self._root, *self._root.children(recursive=True)]
                self._tree_at = now
            root_rss = self._root.memory_info().rss
            if root_rss == 0 and self._root.status() == psutil.STATUS_ZOMBIE:
                raise psutil.ZombieProcess(self.pid)
        except _GONE:
            self.root_gone = True
            return None
        total = root_rss
        for proc in self._tree[1:]:
            try:
                total += proc.memory_info().rss
            except _GONE:
                self._tree_at = float("-inf")  # a child vanished: rebuild next time
        self.last_rss = total
        self.peak_rss = max(self.peak_rss, total)
        self.samples += 1
        return total

    async def _run(self) -> None:
        while self.sample() is not None:
            await asyncio.sleep(self.period_s)
        log.debug("memory sampler: process %d gone after %d samples", self.pid, self.samples)

    async def start(self) -> None:
        """Take a first sample and start the background task (no-op if already running)."""
        if self._task is None or self._task.done():
            self.sample()
            self._task = asyncio.create_task(self._run(), name=f"memory-sampler-{self.pid}")

    async def stop(self) -> None:
        """Stop sampling, taking one last sample if the process is still there."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
            self._task = None
        self.sample()

    async def __aenter__(self) -> MemorySampler:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

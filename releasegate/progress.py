"""Progress display for long runs: rich bars on a terminal, plain stage lines with ``--quiet``."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RunProgress:
    """Stages and counted tasks of a run.

    Args:
        quiet: print one line per stage to stderr (for CI logs) instead of live bars.
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._console = Console(stderr=True)
        self._progress: Progress | None = None
        self._started = time.monotonic()
        if not quiet:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=False,
            )

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def stage(self, text: str) -> None:
        """Announce a stage of the run."""
        elapsed = time.monotonic() - self._started
        if self.quiet:
            print(f"[releasegate {elapsed:6.1f}s] {text}", file=sys.stderr, flush=True)
        elif self._progress is not None:
            self._progress.console.log(text)

    def add(self, description: str, total: int) -> int:
        """Start a counted task; returns its id (0 when quiet)."""
        if self._progress is None:
            return 0
        return int(self._progress.add_task(description, total=total))

    def advance(self, task: int, amount: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(task, amount)  # type: ignore[arg-type]

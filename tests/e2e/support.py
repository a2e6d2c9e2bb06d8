"""Helpers for the end-to-end tests: run the real CLI as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
SUITES = ROOT / "suites"


def releasegate(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI in a separate process (no shell)."""
    return subprocess.run(
        [sys.executable, "-m", "releasegate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )

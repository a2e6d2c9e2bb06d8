"""Find a console script or binary the way a venv user expects, activated or not."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def find_executable(name: str, path: str | None = None) -> str | None:
    """Resolve ``name`` on ``path`` (default ``$PATH``), else beside ``sys.executable``.

    ``venv/bin/python -m releasegate`` run without activating the venv leaves ``venv/bin``
    off ``PATH``, yet the console scripts installed with releasegate (``llama-cpp-server``)
    live there. ``sys.executable`` is used as given, not resolved: a venv's python is a
    symlink to the system one, whose folder holds none of the venv's scripts.

    Returns:
        The path that would run, or None. A name with a slash is only checked in place.
    """
    found = shutil.which(name, path=path if path is not None else os.environ.get("PATH"))
    if found is not None or os.sep in name or not sys.executable:
        return found
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return None

"""The reporter interface and the atomic file write every reporter uses."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from releasegate.gate.result import ReportInput

_FILE_MODE = 0o644


@runtime_checkable
class Reporter(Protocol):
    """Renders a :class:`ReportInput` to one file in the output directory."""

    name: str
    filename: str

    def render(self, data: ReportInput) -> str:
        """Return the file's text."""
        ...

    def write(self, data: ReportInput, out_dir: Path) -> Path:
        """Write the file atomically into ``out_dir`` and return its path."""
        ...


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temp file in the same directory.

    Readers see either the old file or the complete new one, never a partial write.
    Characters UTF-8 cannot encode (lone surrogates from model output) are replaced.

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


class TextReporter:
    """Base for reporters: ``write`` stores what ``render`` returns as ``filename``."""

    name: str = ""
    filename: str = ""

    def render(self, data: ReportInput) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def write(self, data: ReportInput, out_dir: Path) -> Path:
        return atomic_write_text(Path(out_dir) / self.filename, self.render(data))

"""Writes every report for one result and feeds the CI step summary."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from releasegate.gate.result import ReportInput
from releasegate.report.base import Reporter
from releasegate.report.html import HtmlReporter
from releasegate.report.json_out import JsonReporter
from releasegate.report.junit import JunitReporter
from releasegate.report.markdown import MarkdownReporter

log = logging.getLogger(__name__)

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def reporters() -> list[Reporter]:
    """All reporters, in the order ``write_all`` runs them."""
    return [JsonReporter(), HtmlReporter(), JunitReporter(), MarkdownReporter()]


def append_step_summary(markdown: str, env_var: str = STEP_SUMMARY_ENV) -> Path | None:
    """Append ``markdown`` to the file named by ``$GITHUB_STEP_SUMMARY``, when it is set.

    A summary that cannot be written is logged, not raised: the reports themselves exist.

    Returns:
        The file appended to, or None.
    """
    target = os.environ.get(env_var)
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8", errors="replace") as fh:
            fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
            fh.write("\n")
    except OSError as exc:
        log.warning("could not append the step summary to %s: %s", path, exc)
        return None
    return path


def write_all(data: ReportInput, out_dir: Path) -> dict[str, Path]:
    """Write ``result.json``, ``report.html``, ``junit.xml`` and ``summary.md`` to ``out_dir``.

    Each file is replaced atomically. The summary is also appended to
    ``$GITHUB_STEP_SUMMARY`` when that variable is set.

    Returns:
        Reporter name (``json``, ``html``, ``junit``, ``markdown``) → path written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {reporter.name: reporter.write(data, out_dir) for reporter in reporters()}
    append_step_summary(written["markdown"].read_text(encoding="utf-8"))
    return written

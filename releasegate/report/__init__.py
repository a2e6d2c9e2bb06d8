"""Reporters: render a gate :class:`~releasegate.gate.result.ReportInput` to files.

``write_all`` writes ``result.json``, ``report.html``, ``junit.xml`` and ``summary.md``;
each reporter can also be used alone (``render`` → text, ``write`` → path).
"""

from __future__ import annotations

from releasegate.report.base import Reporter, atomic_write_text
from releasegate.report.html import HtmlReporter, render_html
from releasegate.report.json_out import JsonReporter, result_json_schema
from releasegate.report.junit import JunitReporter, render_junit
from releasegate.report.markdown import MarkdownReporter, render_summary
from releasegate.report.writer import append_step_summary, reporters, write_all

__all__ = [
    "HtmlReporter",
    "JsonReporter",
    "JunitReporter",
    "MarkdownReporter",
    "Reporter",
    "append_step_summary",
    "atomic_write_text",
    "render_html",
    "render_junit",
    "render_summary",
    "reporters",
    "result_json_schema",
    "write_all",
]

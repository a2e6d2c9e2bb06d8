"""``result.json``: the gate's :class:`Result` as JSON, and its published JSON Schema."""

from __future__ import annotations

from typing import Any

from releasegate.gate.result import ReportInput, Result
from releasegate.report.base import TextReporter


def result_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``result.json`` (what ``releasegate schema`` prints)."""
    return Result.model_json_schema()


class JsonReporter(TextReporter):
    """Writes ``result.json`` (the result only; latency samples stay in the records)."""

    name = "json"
    filename = "result.json"

    def render(self, data: ReportInput) -> str:
        return data.result.model_dump_json(indent=2) + "\n"

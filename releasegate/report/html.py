"""``report.html``: a self-contained page for the release manager.

Rendered with jinja2 under autoescaping; model output only ever enters the template as
data (never as template source), so it is shown as text. The page loads nothing: CSS and
SVG plots are inline and a Content-Security-Policy forbids scripts and remote resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from releasegate.gate.result import CheckResult, FlippedItem, ReportInput
from releasegate.report import fmt, plots
from releasegate.report.base import TextReporter

TEMPLATE_DIR = Path(__file__).parent / "templates"
MAX_FLIPPED = 50  # items shown per direction
MAX_OUTPUT_CHARS = 4000  # longer prompts/outputs are cut, with a note
LATENCY_METRICS = (("ttft", "Time to first token"), ("e2e", "End-to-end latency"))


@dataclass(frozen=True)
class Clipped:
    """A possibly shortened text and how many characters were cut."""

    text: str
    cut: int


def clip(text: str, limit: int = MAX_OUTPUT_CHARS) -> Clipped:
    """Shorten ``text`` to ``limit`` characters."""
    return Clipped(text, 0) if len(text) <= limit else Clipped(text[:limit], len(text) - limit)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def _check_view(check: CheckResult) -> dict[str, Any]:
    effect = fmt.effect(check)
    return {
        "c": check,
        "candidate": fmt.value(check.candidate_value, check.unit),
        "incumbent": fmt.value(check.incumbent_value, check.unit),
        "values_label": fmt.values_caption(check),
        "effect": effect.text,
        "ci": effect.interval,
        "ci_kind": fmt.interval_caption(check),
        "margin": effect.margin,
        "p": fmt.pvalue(check.p_value),
        "plot": plots.interval_svg(check),
    }


def _flipped_view(items: list[FlippedItem], direction: str) -> dict[str, Any]:
    chosen = [f for f in items if f.direction == direction]
    shown = [
        {
            "f": f,
            "prompt": clip(f.prompt),
            "candidate": clip(f.candidate_output),
            "incumbent": clip(f.incumbent_output),
        }
        for f in chosen[:MAX_FLIPPED]
    ]
    return {"items": shown, "total": len(chosen), "hidden": max(0, len(chosen) - MAX_FLIPPED)}


def _latency_plots(data: ReportInput) -> list[Markup]:
    order = sorted(data.latency, key=lambda arm: (arm not in plots.ARM_STYLE, arm))
    return [
        plots.ecdf_svg({arm: data.latency[arm].get(key, []) for arm in order}, title=title)
        for key, title in LATENCY_METRICS
    ]


def render_html(data: ReportInput) -> str:
    """The HTML report for ``data``."""
    result = data.result
    counts = {v: sum(1 for c in result.checks if c.verdict == v) for v in plots.VERDICT_COLOUR}
    context = {
        "r": result,
        "checks": [_check_view(c) for c in result.checks],
        "drift": [_check_view(c) for c in result.drift],
        "counts": counts,
        "started": fmt.timestamp(result.started_at),
        "finished": fmt.timestamp(result.finished_at),
        "duration": fmt.duration(result.started_at, result.finished_at),
        "latency_plots": _latency_plots(data) if data.latency else [],
        "worse": _flipped_view(result.flipped, "pass_to_fail"),
        "better": _flipped_view(result.flipped, "fail_to_pass"),
        "max_chars": MAX_OUTPUT_CHARS,
    }
    return _environment().get_template("report.html.j2").render(context)


class HtmlReporter(TextReporter):
    """Writes ``report.html``."""

    name = "html"
    filename = "report.html"

    def render(self, data: ReportInput) -> str:
        return render_html(data)

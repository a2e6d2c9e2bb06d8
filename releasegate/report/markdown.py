"""``summary.md``: a short Markdown summary for CI (e.g. the GitHub step summary).

Only suite-defined text (check names, reasons, model ids) appears, escaped for both
Markdown and HTML; eval prompts and model outputs are left out on purpose.
"""

from __future__ import annotations

import html
import re

from releasegate.gate.result import CheckResult, ReportInput
from releasegate.report import fmt
from releasegate.report.base import TextReporter

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_WS = re.compile(r"\s+")


def md_escape(text: object) -> str:
    """Escape ``text`` for one line of GitHub Markdown (also safe inside a table cell).

    HTML is neutralised (``<`` → ``&lt;``), Markdown punctuation is backslash-escaped and
    line breaks collapse to spaces.
    """
    flat = _WS.sub(" ", str(text)).strip()
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def _effect_cell(check: CheckResult) -> str:
    effect = fmt.effect(check)
    if effect.value is None:
        return fmt.DASH
    return md_escape(f"{effect.text} {effect.interval}")


def _value_cell(value: float | None, check: CheckResult) -> str:
    text = fmt.value(value, check.unit)
    return md_escape(f"{text} ({fmt.values_caption(check)})" if value is not None else text)


def _check_row(check: CheckResult) -> str:
    name = md_escape(check.name)
    if check.workload:
        name += f" ({md_escape(check.workload)})"
    more = f" (about n={check.more_needed} needed)" if check.more_needed is not None else ""
    cells = [
        name,
        md_escape(check.metric),
        check.severity,
        _value_cell(check.candidate_value, check),
        _value_cell(check.incumbent_value, check),
        _effect_cell(check),
        md_escape(fmt.effect(check).margin),
        f"**{check.verdict.upper()}**",
        md_escape(check.reason) + more,
    ]
    return "| " + " | ".join(cells) + " |"


def render_summary(data: ReportInput) -> str:
    """The Markdown summary of ``data``."""
    result = data.result
    rec = result.recommendation
    lines = [
        f"## releasegate: {md_escape(result.suite)} **{result.verdict.upper()}**",
        "",
        f"**Recommendation: {rec.action}** (run `{md_escape(result.run_id)}`)",
        "",
    ]
    if not result.complete:
        reason = md_escape(result.partial_reason or "the run did not finish")
        lines += [f"> **PARTIAL RUN**: {reason}. At most INCONCLUSIVE.", ""]
    lines += [f"- {md_escape(reason)}" for reason in rec.reasons]
    if rec.reasons:
        lines.append("")
    arms = [
        f"{md_escape(name)}: {md_escape(arm.model_id)}"
        + (f" (sha256 {md_escape(arm.model_sha256[:12])})" if arm.model_sha256 else "")
        for name, arm in result.arms.items()
    ]
    if arms:
        lines += ["Models: " + "; ".join(arms), ""]
    header = (
        "Check",
        "Metric",
        "Severity",
        "Candidate",
        "Incumbent",
        "Change [interval]",
        "Allowed",
        "Verdict",
        "Reason",
    )
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += [_check_row(check) for check in result.checks]
    if not result.checks:
        lines.append("| (no checks) |" + " |" * (len(header) - 1))
    worse = sum(1 for f in result.flipped if f.direction == "pass_to_fail")
    better = len(result.flipped) - worse
    if result.flipped:
        lines += [
            "",
            f"Eval items flipped: {worse} pass→fail, {better} fail→pass "
            "(prompts and outputs are in report.html).",
        ]
    return "\n".join(lines) + "\n"


class MarkdownReporter(TextReporter):
    """Writes ``summary.md``."""

    name = "markdown"
    filename = "summary.md"

    def render(self, data: ReportInput) -> str:
        return render_summary(data)

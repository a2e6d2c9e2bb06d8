"""``junit.xml``: one test case per check, so CI test views list the gate's checks.

Mapping (chosen so that exactly the checks that block the release show as failed):

- ``pass``                       → plain ``<testcase>``
- ``fail``, critical             → ``<failure type="regression">``
- ``inconclusive``, critical     → ``<error type="inconclusive">`` (could not decide; an
  error rather than a failure because no regression was shown, yet the release is held)
- advisory ``fail``/``inconclusive`` → ``<skipped>`` with an ``advisory …`` message, so it is
  visible but does not turn the CI test view red; advisory checks never block the gate.

Each element's message carries the change in the reader's terms, its interval and the
allowed change (:func:`releasegate.report.fmt.effect`, as in every report); the text holds
the reason. The suite carries the verdict and the recommended action as ``<properties>``; each
test case carries its check's numbers as ``<properties>`` too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from releasegate.gate.result import CheckResult, ReportInput
from releasegate.report import fmt
from releasegate.report.base import TextReporter

# Characters XML 1.0 cannot hold at all; ElementTree would write them unescaped.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _numbers(check: CheckResult) -> str:
    effect = fmt.effect(check)
    alpha = f" (α={check.alpha:g})" if check.alpha is not None else ""
    kind = f" ({check.interval})" if check.interval else ""
    return (
        f"change {effect.text}, interval {effect.interval}{kind}, "
        f"allowed {effect.margin}, n={check.n}, p={fmt.pvalue(check.p_value)}{alpha}"
    )


def _details(check: CheckResult) -> str:
    lines = [
        f"check: {check.name}",
        f"metric: {check.metric}" + (f" (workload {check.workload})" if check.workload else ""),
        f"severity: {check.severity}; owner: {check.owner}",
        f"candidate: {fmt.value(check.candidate_value, check.unit)}; "
        f"incumbent: {fmt.value(check.incumbent_value, check.unit)} "
        f"({fmt.values_caption(check)})",
        _numbers(check),
    ]
    if check.reason:
        lines.append(f"reason: {check.reason}")
    if check.more_needed is not None:
        lines.append(f"more needed: about n={check.more_needed} would decide this check")
    return "\n".join(lines)


def _properties(parent: ET.Element, props: dict[str, object]) -> None:
    node = ET.SubElement(parent, "properties")
    for key, val in props.items():
        ET.SubElement(node, "property", name=_x(key), value=_x("" if val is None else val))


def _testcase(suite_el: ET.Element, classname: str, check: CheckResult) -> str | None:
    case = ET.SubElement(suite_el, "testcase", classname=_x(classname), name=_x(check.name))
    case.set("time", "0")
    _properties(
        case,
        {
            "verdict": check.verdict,
            "severity": check.severity,
            "owner": check.owner,
            "metric": check.metric,
            "workload": check.workload,
            "estimate": check.estimate,
            "ci_low": check.ci_low,
            "ci_high": check.ci_high,
            "margin": check.margin,
            "scale": check.scale,
            "n": check.n,
            "p_value": check.p_value,
            "alpha": check.alpha,
            "confidence": check.confidence,
            "interval": check.interval,
        },
    )
    message = f"{check.verdict}: {_numbers(check)}"
    outcome: str | None = None
    if check.severity == "advisory" and check.verdict != "pass":
        outcome = "skipped"
        child = ET.SubElement(case, "skipped", message=_x(f"advisory {message}"))
    elif check.verdict == "fail":
        outcome = "failure"
        child = ET.SubElement(case, "failure", message=_x(message), type="regression")
    elif check.verdict == "inconclusive":
        outcome = "error"
        child = ET.SubElement(case, "error", message=_x(message), type="inconclusive")
    else:
        child = None
    if child is not None:
        child.text = _x(_details(check))
    return outcome


def render_junit(data: ReportInput) -> str:
    """The JUnit XML document for ``data`` (see the module docstring for the mapping)."""
    result = data.result
    classname = f"releasegate.{result.suite}"
    root = ET.Element("testsuites", name="releasegate")
    suite_el = ET.SubElement(root, "testsuite", name=_x(classname))
    if result.started_at is not None:
        started = datetime.fromtimestamp(result.started_at, tz=UTC)
        suite_el.set("timestamp", started.strftime("%Y-%m-%dT%H:%M:%S"))
    _properties(
        suite_el,
        {
            "run_id": result.run_id,
            "verdict": result.verdict,
            "action": result.recommendation.action,
            "reasons": "; ".join(result.recommendation.reasons),
            "alpha": result.alpha,
            "pass_confidence": result.pass_confidence,
            "complete": str(result.complete).lower(),
            "partial_reason": result.partial_reason,
        },
    )
    counts = {"failure": 0, "error": 0, "skipped": 0}
    tests = len(result.checks)
    if not result.complete:  # a test case of its own, so CI test views show it
        case = ET.SubElement(suite_el, "testcase", classname=_x(classname), name="PARTIAL RUN")
        reason = result.partial_reason or "the run did not finish"
        ET.SubElement(case, "error", message=_x(f"PARTIAL RUN: {reason}"), type="partial")
        counts["error"] += 1
        tests += 1
    for check in result.checks:
        outcome = _testcase(suite_el, classname, check)
        if outcome:
            counts[outcome] += 1
    elapsed = 0.0
    if result.started_at is not None and result.finished_at is not None:
        elapsed = max(0.0, result.finished_at - result.started_at)
    for el in (root, suite_el):
        el.set("tests", str(tests))
        el.set("failures", str(counts["failure"]))
        el.set("errors", str(counts["error"]))
        el.set("skipped", str(counts["skipped"]))
        el.set("time", f"{elapsed:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


class JunitReporter(TextReporter):
    """Writes ``junit.xml``."""

    name = "junit"
    filename = "junit.xml"

    def render(self, data: ReportInput) -> str:
        return render_junit(data)

"""Rules across fields that pydantic cannot place: each problem comes with its field path.

They run after the schema has accepted the suite (see :func:`suite_problems`), so the
loader can print them as ``file:line: field.path: message`` like schema errors.
"""

from __future__ import annotations

from releasegate.suite.models import Suite

Loc = tuple[str | int, ...]

IMPLICIT_ERRORS_CHECK = "request-errors"
PEAK_RSS_URL_MODE = (
    "peak_rss needs memory from the server: releasegate did not launch it and "
    "server.metrics_path is unset; vLLM exports process_resident_memory_bytes at /metrics, "
    "llama-server does not"
)


def suite_problems(suite: Suite) -> list[tuple[Loc, str]]:
    """Problems that only show across fields: repeated check names, undecidable checks."""
    problems: list[tuple[Loc, str]] = []
    checks = suite.gate.checks
    first: dict[str, int] = {}
    implicit = not any(c.metric == "error_rate" for c in checks)
    for index, check in enumerate(checks):
        loc: Loc = ("gate", "checks", index)
        if check.name in first:
            problems.append(
                (
                    (*loc, "name"),
                    f"check name {check.name!r} is already used by gate.checks"
                    f"[{first[check.name]}]; results are keyed by name",
                )
            )
        else:
            first[check.name] = index
        if implicit and check.name == IMPLICIT_ERRORS_CHECK:
            problems.append(
                (
                    (*loc, "name"),
                    f"{IMPLICIT_ERRORS_CHECK!r} is the name of the implicit request-error "
                    "check; rename this check (or give it metric: error_rate to replace it)",
                )
            )
        if (
            check.metric == "peak_rss"
            and suite.server.command is None
            and suite.server.metrics_path is None
        ):
            problems.append(((*loc, "metric"), PEAK_RSS_URL_MODE))
    return problems

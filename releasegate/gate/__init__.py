"""The gate: compare records per check, decide verdicts, recommend an action."""

from releasegate.gate.compare import Comparison, compare_all
from releasegate.gate.decide import decide_checks, overall
from releasegate.gate.result import (
    ArmSummary,
    CheckResult,
    FlippedItem,
    Recommendation,
    ReportInput,
    Result,
)

__all__ = [
    "ArmSummary",
    "CheckResult",
    "Comparison",
    "FlippedItem",
    "Recommendation",
    "ReportInput",
    "Result",
    "compare_all",
    "decide_checks",
    "overall",
]

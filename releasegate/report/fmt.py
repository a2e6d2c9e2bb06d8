"""Number and time formatting shared by the reporters (presentation only, no statistics).

Effects on the ``log-ratio`` scale are shown as the equivalent percent change
(``exp(Δ) − 1``) because that is what people read; ``difference`` effects are shown as is.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from releasegate.gate.result import CheckResult

DASH = "—"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def num(x: float | None, sig: int = 3) -> str:
    """Format ``x`` with about ``sig`` significant digits; ``—`` for missing values."""
    if x is None:
        return DASH
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if mag >= 6 or mag < -3:
        return f"{x:.{sig - 1}e}"
    decimals = max(0, sig - 1 - mag)
    return f"{x:,.{decimals}f}"


def signed(x: float | None, sig: int = 3) -> str:
    """Like :func:`num` with an explicit ``+`` on positive values."""
    text = num(x, sig)
    return f"+{text}" if _finite(x) and x > 0 else text  # type: ignore[operator]


def pct(x: float | None, signed_: bool = True) -> str:
    """A fraction as a percent (``0.123`` → ``+12.3%``)."""
    if not _finite(x):
        return num(x)
    assert x is not None
    return f"{x * 100:+.1f}%" if signed_ else f"{x * 100:.1f}%"


def pvalue(p: float | None) -> str:
    """A p-value, ``<0.001`` below the display floor."""
    if not _finite(p):
        return num(p)
    assert p is not None
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def value(x: float | None, unit: str) -> str:
    """A plain value with its unit."""
    text = num(x)
    return f"{text} {unit}" if unit and _finite(x) else text


def effect(x: float | None, scale: str) -> str:
    """An oriented effect Δ: a signed number, or a percent for the log-ratio scale."""
    if scale == "log-ratio" and _finite(x):
        assert x is not None
        return pct(math.expm1(x))
    return signed(x)


def interval(lo: float | None, hi: float | None, scale: str) -> str:
    """A confidence interval ``[lo, hi]`` on the effect's display scale."""
    if lo is None and hi is None:
        return DASH
    return f"[{effect(lo, scale)}, {effect(hi, scale)}]"


def margin(check: CheckResult) -> str:
    """The non-inferiority margin as written in the suite (a percent for performance)."""
    if check.scale == "log-ratio":
        return pct(check.margin_input, signed_=False)
    return num(check.margin_input)


def relative(check: CheckResult) -> str:
    """Candidate/incumbent − 1 of the plain values, as a percent."""
    return pct(check.relative_change)


def timestamp(t: float | None) -> str:
    """Unix seconds as an ISO-8601 UTC timestamp."""
    if not _finite(t):
        return DASH
    assert t is not None
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(start: float | None, end: float | None) -> str:
    """The time between two Unix timestamps, e.g. ``12m 5s``."""
    if not (_finite(start) and _finite(end)):
        return DASH
    assert start is not None and end is not None
    secs = max(0, round(end - start))
    hours, rem = divmod(secs, 3600)
    mins, secs = divmod(rem, 60)
    if hours:
        return f"{hours}h {mins}m {secs}s"
    return f"{mins}m {secs}s" if mins else f"{secs}s"

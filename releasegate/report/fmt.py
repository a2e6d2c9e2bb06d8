"""Number and time formatting shared by the reporters (presentation only, no statistics).

A check's effect is shown only through :func:`effect` (the candidate's change in the
reader's terms, its interval and the allowed change), never recomputed here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from releasegate.gate.effect import Effect, describe, values_label
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


def effect(check: CheckResult) -> Effect:
    """The check's effect, interval and allowed change in the reader's terms (one place:
    :func:`releasegate.gate.effect.describe`, which the gate's reasons use too)."""
    return describe(check)


def values_caption(check: CheckResult) -> str:
    """What the plain per-arm values are (they are not the effect)."""
    return values_label(check)


def interval_caption(check: CheckResult) -> str:
    """The interval's kind and the α the check was tested at, e.g. for a table's sub-line."""
    parts = [check.interval] if check.interval else []
    if check.alpha is not None:
        parts.append(f"tested at α={check.alpha:g}")
    return "; ".join(parts)


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

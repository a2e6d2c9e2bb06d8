"""Inline SVG for the HTML report: latency ECDFs per arm and one interval strip per check.

The SVG is built as text here (no plotting library). Every piece of text that reaches the
markup goes through :func:`markupsafe.escape`; coordinates are formatted numbers. The
functions return :class:`markupsafe.Markup` so the autoescaping template inserts them as is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup

from releasegate.gate.result import CheckResult
from releasegate.report import fmt

ARM_STYLE: dict[str, tuple[str, str]] = {  # arm → (colour, stroke-dasharray)
    "candidate": ("#2563eb", ""),
    "incumbent": ("#c2410c", "6 3"),
}
_OTHER_COLOURS = ("#7c3aed", "#0f766e", "#be185d", "#4d7c0f")
VERDICT_COLOUR = {"pass": "#15803d", "fail": "#b91c1c", "inconclusive": "#b45309"}
MAX_POINTS = 1000  # ECDF steps drawn per series; larger samples are thinned evenly


def _f(x: float) -> str:
    return f"{x:.1f}"


def nice_ticks(hi: float, target: int = 5) -> list[float]:
    """Ticks ``0, s, 2s, …`` with a 1/2/5×10^k step, the last one at or above ``hi``."""
    if not math.isfinite(hi) or hi <= 0:
        hi = 1.0
    raw = hi / target
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
    count = math.ceil(hi / step - 1e-9)
    return [round(i * step, 12) for i in range(count + 1)]


def _tick_label(x: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{x:.{decimals}f}"


def _style(arm: str, index: int) -> tuple[str, str]:
    return ARM_STYLE.get(arm, (_OTHER_COLOURS[index % len(_OTHER_COLOURS)], "2 2"))


def _clean(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    return np.sort(arr[np.isfinite(arr) & (arr >= 0)])


@dataclass(frozen=True)
class _Frame:
    """Plot-area geometry of one ECDF panel; x in display units, y as a share in [0, 1]."""

    width: int
    height: int
    x_max: float
    factor: float
    left: int = 46
    right: int = 14
    top: int = 46
    bottom: int = 42

    @property
    def pw(self) -> float:
        return self.width - self.left - self.right

    def sx(self, seconds: float) -> float:
        return self.left + self.pw * seconds * self.factor / self.x_max

    def sy(self, q: float) -> float:
        return self.top + (self.height - self.top - self.bottom) * (1.0 - q)


def _axes(fr: _Frame, ticks: list[float], unit: str) -> list[Markup]:
    out = []
    for q in (0.0, 0.25, 0.5, 0.75, 1.0):  # y grid and labels
        out.append(
            Markup(
                '<line x1="{l}" x2="{r}" y1="{y}" y2="{y}" class="grid"/>'
                '<text x="{tx}" y="{y}" dy="0.32em" text-anchor="end" class="tick">{lab}%</text>'
            ).format(l=fr.left, r=fr.left + fr.pw, y=_f(fr.sy(q)), tx=fr.left - 6, lab=int(q * 100))
        )
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    base = fr.sy(0)
    for t in ticks:  # x ticks and labels
        out.append(
            Markup(
                '<line x1="{x}" x2="{x}" y1="{b}" y2="{b5}" class="axis"/>'
                '<text x="{x}" y="{ty}" text-anchor="middle" class="tick">{lab}</text>'
            ).format(
                x=_f(fr.sx(t / fr.factor)),
                b=_f(base),
                b5=_f(base + 5),
                ty=_f(base + 17),
                lab=_tick_label(t, step),
            )
        )
    out.append(
        Markup(
            '<line x1="{l}" x2="{r}" y1="{b}" y2="{b}" class="axis"/>'
            '<line x1="{l}" x2="{l}" y1="{t}" y2="{b}" class="axis"/>'
            '<text x="{cx}" y="{ly}" text-anchor="middle" class="axis-label">latency ({u})</text>'
        ).format(
            l=fr.left,
            r=fr.left + fr.pw,
            t=fr.top,
            b=_f(base),
            cx=_f(fr.left + fr.pw / 2),
            ly=fr.height - 6,
            u=unit,
        )
    )
    return out


def _series(fr: _Frame, arm: str, arr: np.ndarray, index: int) -> list[Markup]:
    colour, dash = _style(arm, index)
    n = arr.size
    idx = np.unique(np.linspace(0, n - 1, min(n, MAX_POINTS)).round().astype(int))
    parts = [f"M{_f(fr.left)},{_f(fr.sy(0))}"]
    parts += [f"H{_f(fr.sx(float(arr[j])))}V{_f(fr.sy((j + 1) / n))}" for j in idx]
    parts.append(f"H{_f(fr.left + fr.pw)}")
    lx, ly = fr.left + 8 + index * 170, 32
    return [
        Markup(
            '<path class="series" data-arm="{arm}" d="{d}" fill="none" stroke="{c}" '
            'stroke-width="2" stroke-dasharray="{dash}"/>'
        ).format(arm=arm, d="".join(parts), c=colour, dash=dash or "none"),
        Markup(
            '<g class="legend" data-arm="{arm}"><line x1="{x}" x2="{x2}" y1="{y}" y2="{y}" '
            'stroke="{c}" stroke-width="2" stroke-dasharray="{dash}"/>'
            '<text x="{tx}" y="{y}" dy="0.32em" class="legend-text">{arm} (n={n})</text></g>'
        ).format(
            arm=arm,
            x=lx,
            x2=lx + 22,
            y=ly,
            c=colour,
            dash=dash or "none",
            tx=lx + 28,
            n=f"{n:,}",
        ),
    ]


def ecdf_svg(
    series: Mapping[str, Sequence[float]], *, title: str, width: int = 460, height: int = 270
) -> Markup:
    """Step plot of the empirical CDF of latency samples (seconds), one line per arm.

    Args:
        series: arm name → samples in seconds.
        title: what is plotted, e.g. ``"Time to first token"``.

    Returns:
        An ``<svg>`` element, or a short note when no arm has samples.
    """
    data = {arm: _clean(vals) for arm, vals in series.items()}
    data = {arm: arr for arm, arr in data.items() if arr.size}
    if not data:
        return Markup('<p class="muted">{}: no latency samples.</p>').format(title)
    top = max(float(arr[-1]) for arr in data.values())
    unit, factor = ("ms", 1000.0) if top < 1.0 else ("s", 1.0)
    ticks = nice_ticks(top * factor)
    fr = _Frame(width=width, height=height, x_max=ticks[-1], factor=factor)
    out = [
        Markup(
            '<svg class="plot" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            'aria-label="{t}"><title>{t}</title>'
            '<text x="{x}" y="16" class="plot-title">{t}</text>'
        ).format(w=width, h=height, t=title, x=fr.left),
        *_axes(fr, ticks, unit),
    ]
    for i, (arm, arr) in enumerate(data.items()):
        out += _series(fr, arm, arr, i)
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def interval_svg(check: CheckResult, width: int = 170, height: int = 30) -> Markup:
    """A strip of the check's change and interval against no change (0) and the allowed change.

    Drawn in the reader's terms of :func:`releasegate.report.fmt.effect`, the numbers the
    table shows: the shaded side of the allowed-change line is "worse than allowed" (right
    for latency, memory and errors; left for throughput and quality). An unbounded interval
    end runs to the edge. Empty when there is no estimate.
    """
    effect = fmt.effect(check)
    if effect.value is None or not math.isfinite(effect.value):
        return Markup("")
    ends = [v for v in (effect.low, effect.high) if v is not None and math.isfinite(v)]
    a = min([*ends, effect.value, effect.limit, 0.0])
    b = max([*ends, effect.value, effect.limit, 0.0])
    pad = (b - a) * 0.08 or 1e-9
    a, b = a - pad, b + pad
    pad_x = 4

    def sx(v: float | None) -> float:
        v = a if v is None or v < a else b if v > b else v
        return pad_x + (width - 2 * pad_x) * (v - a) / (b - a)

    colour = VERDICT_COLOUR.get(check.verdict, "#475569")
    limit_x = sx(effect.limit)
    zone_x, zone_w = (limit_x, width - limit_x) if effect.higher_is_worse else (0.0, limit_x)
    mid = 12
    out = [
        Markup(
            '<svg class="interval" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
            'role="img" aria-label="{t}"><title>{t}</title>'
        ).format(w=width, h=height, t=effect.summary),
        Markup('<rect x="{x}" y="2" width="{w}" height="20" class="worse-zone"/>').format(
            x=_f(zone_x), w=_f(zone_w)
        ),
        Markup(
            '<line x1="{x}" x2="{x}" y1="2" y2="22" class="margin-line"/>'
            '<text x="{x}" y="{ty}" text-anchor="middle" class="tick-sm">{m}</text>'
        ).format(x=_f(limit_x), ty=height - 1, m=effect.margin),
        Markup(
            '<line x1="{x}" x2="{x}" y1="2" y2="22" class="zero-line"/>'
            '<text x="{x}" y="{ty}" text-anchor="middle" class="tick-sm">0</text>'
        ).format(x=_f(sx(0.0)), ty=height - 1),
        Markup(
            '<line x1="{a}" x2="{b}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="3"/>'
            '<line x1="{a}" x2="{a}" y1="{y0}" y2="{y1}" stroke="{c}" stroke-width="2"/>'
            '<line x1="{b}" x2="{b}" y1="{y0}" y2="{y1}" stroke="{c}" stroke-width="2"/>'
        ).format(
            a=_f(sx(effect.low)),
            b=_f(sx(effect.high)),
            y=mid,
            y0=mid - 5,
            y1=mid + 5,
            c=colour,
        ),
        Markup('<circle cx="{x}" cy="{y}" r="3.5" fill="{c}"/>').format(
            x=_f(sx(effect.value)), y=mid, c=colour
        ),
        Markup("</svg>"),
    ]
    return Markup("").join(out)

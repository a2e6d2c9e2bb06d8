"""Calibration: run the incumbent against itself K times and measure each check's noise.

A margin below the A/A noise makes a gate flaky. ``releasegate calibrate SUITE --repeats K``
turns the suite into an A/A suite (the candidate replaced by a second, separately launched
copy of the incumbent), runs it K times and reports, per check:

- ``spread``: the standard deviation of the K A/A point estimates (on the check's scale:
  score difference, or log-ratio), and ``within``: the mean standard error each single run
  reported (from its interval). ``noise`` = max(spread, within).
- ``recommended_margin`` = 3 × noise, written in the suite's units (absolute points for
  quality, a relative change for performance), floored at 1 point / 2 %.
- ``current_margin`` and whether it clears the recommendation.

With ``--write-baseline`` the last run's incumbent records are saved as the suite's baseline
and the noise is stored in it (``calibration``), where the gate uses it as a floor on the
standard error of nearly deterministic checks (peak memory).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import NormalDist, mean, pstdev

from releasegate.gate.result import Result
from releasegate.suite import LoadedSuite, Suite

QUALITY_FLOOR = 0.01
PERF_FLOOR = 0.02
FACTOR = 3.0


@dataclass(frozen=True)
class CheckNoise:
    name: str
    metric: str
    scale: str
    estimates: list[float]
    spread: float
    within: float
    current_margin: float
    recommended_margin: float

    @property
    def noise(self) -> float:
        return max(self.spread, self.within)

    @property
    def margin_ok(self) -> bool:
        return self.current_margin >= self.recommended_margin


def aa_suite(loaded: LoadedSuite) -> LoadedSuite:
    """The suite with its candidate replaced by the incumbent (an A/A suite)."""
    suite = loaded.suite
    data = suite.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["candidate"] = data["incumbent"]  # the name stays: baselines are keyed by it
    return LoadedSuite(Suite.model_validate(data), loaded.path, loaded.sha256)


def _within_se(ci_low: float | None, ci_high: float | None, confidence: float) -> float:
    if ci_low is None or ci_high is None:
        return 0.0
    z = NormalDist().inv_cdf(confidence)
    return (ci_high - ci_low) / (2 * z)


def measure_noise(results: list[Result], suite: Suite) -> list[CheckNoise]:
    """Noise per check from K A/A results (checks with no estimate are left out)."""
    margins = {c.name: c.margin for c in suite.gate.all_checks()}
    out = []
    for check in results[0].checks:
        if check.metric == "error_rate":
            continue
        runs = [next(c for c in r.checks if c.name == check.name) for r in results]
        estimates = [c.estimate for c in runs if c.estimate is not None]
        if not estimates:
            continue
        spread = pstdev(estimates) if len(estimates) > 1 else 0.0
        within = mean(_within_se(c.ci_low, c.ci_high, results[0].pass_confidence) for c in runs)
        noise = max(spread, within)
        if check.scale == "difference":
            recommended = max(QUALITY_FLOOR, FACTOR * noise)
        else:
            recommended = max(PERF_FLOOR, math.expm1(FACTOR * noise))
        out.append(
            CheckNoise(
                check.name,
                check.metric,
                check.scale,
                estimates,
                spread,
                within,
                margins[check.name],
                round(recommended, 4),
            )
        )
    return out


def calibrate(loaded: LoadedSuite, repeats: int, out_dir: Path, quiet: bool) -> list[CheckNoise]:
    """Run the A/A suite ``repeats`` times under ``out_dir/<i>/`` and measure the noise."""
    from releasegate.pipeline import run_loaded

    aa = aa_suite(loaded)
    results = []
    for index in range(repeats):
        result, _ = run_loaded(aa, out_dir / f"{index + 1}", quiet=quiet)
        results.append(result)
    return measure_noise(results, loaded.suite)


def write_report(noise: list[CheckNoise], out_dir: Path) -> Path:
    """Write ``calibration.json`` (noise and recommended margins per check)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "calibration.json"
    rows = [{**asdict(n), "noise": n.noise, "margin_ok": n.margin_ok} for n in noise]
    path.write_text(json.dumps({"checks": rows}, indent=2) + "\n", encoding="utf-8")
    return path

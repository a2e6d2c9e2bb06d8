"""Gate against a stored baseline of the incumbent, and report environment drift.

With ``releasegate run SUITE --baseline`` the candidate measured now is compared with the
incumbent's stored records:

- quality always (items are paired by id, whenever they were answered);
- performance only when the environment fingerprints match (same server build and
  recipe, same CPU/GPU); otherwise those checks are INCONCLUSIVE, with the differences as
  the reason, unless the user passes ``--ignore-fingerprint``.

When the incumbent was also run now, incumbent-now is compared with its baseline using the
same checks: an interval that excludes "no change" is reported as **environment drift**
(the machine, not the candidate, moved). Drift is reported, it never gates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from releasegate.baselines import (
    Baseline,
    as_arm,
    drift_mismatches,
    fingerprint_from_meta,
    fingerprint_warnings,
    performance_mismatches,
)
from releasegate.gate.compare import Comparison, compare_all
from releasegate.gate.decide import decide_checks
from releasegate.gate.result import CheckResult
from releasegate.records.views import RunRecords
from releasegate.suite import Suite


@dataclass(frozen=True)
class BaselineComparison:
    run: RunRecords  # the candidate now, with the baseline as the incumbent
    comparisons: list[Comparison]
    drift: list[CheckResult]
    info: dict


def _with_baseline(run: RunRecords, baseline: Baseline, keep: str, as_: str) -> RunRecords:
    """The run's ``keep`` arm, relabelled ``as_``, against the baseline as the incumbent."""
    stored = RunRecords.of(baseline.arm_records("incumbent"))

    def now(records: list) -> list:
        return as_arm([r for r in records if getattr(r, "arm", None) == keep], as_)  # type: ignore[arg-type]

    return RunRecords(
        meta=run.meta,
        requests=now(run.requests) + stored.requests,
        items=now(run.items) + stored.items,
        probes=now(run.probes) + stored.probes,
        events=now(run.events) + stored.events,
    )


def _inconclusive(c: Comparison, why: str) -> Comparison:
    return replace(c, verdict="inconclusive", note=why)


def compare_with_baseline(
    suite: Suite, run: RunRecords, baseline: Baseline, ignore_fingerprint: bool = False
) -> BaselineComparison:
    """Comparisons of the candidate against the baseline, plus drift of the incumbent."""
    assert run.meta is not None
    current = fingerprint_from_meta(run.meta, "candidate")
    mismatches = performance_mismatches(baseline.fingerprint, current)
    against = _with_baseline(run, baseline, keep="candidate", as_="candidate")
    gated = compare_all(suite, against, noise=baseline.calibration)
    if mismatches and not ignore_fingerprint:
        why = "environment differs from the baseline: " + "; ".join(mismatches)
        gated = [
            c if c.check.metric in ("quality", "error_rate") else _inconclusive(c, why)
            for c in gated
        ]
    drift: list[CheckResult] = []
    has_incumbent = any(r.arm == "incumbent" for r in run.items + run.requests)
    drift_env: list[str] = []
    if has_incumbent:
        drift_env = drift_mismatches(
            baseline.fingerprint, fingerprint_from_meta(run.meta, "incumbent")
        )
        checks = decide_checks(
            suite,
            compare_all(
                suite,
                _with_baseline(run, baseline, "incumbent", "candidate"),
                noise=baseline.calibration,
            ),
        )
        drift = [c for c in checks if c.metric != "error_rate"]
    info = {
        "model_id": baseline.model_id,
        "created_at": baseline.created_at.isoformat(),
        "run_id": baseline.run_id,
        "performance_mismatches": mismatches,
        "fingerprint_ignored": bool(mismatches and ignore_fingerprint),
        "warnings": fingerprint_warnings(baseline.fingerprint, current),
        "drift_environment": drift_env,
        "drifted": [c.name for c in drift if _moved(c)],
    }
    return BaselineComparison(against, gated, drift, info)


def _moved(check: CheckResult) -> bool:
    """A drift check whose interval excludes no change, in either direction."""
    if check.ci_low is None or check.ci_high is None:
        return False
    return check.ci_low > 0 or check.ci_high < 0

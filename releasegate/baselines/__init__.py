"""Stored baselines: save one arm of a run, load it later to stand in for the incumbent.

``store`` owns the file format and its atomic writes; ``fingerprint`` owns what a run ran
on and which differences void a performance or drift comparison.
"""

from releasegate.baselines.fingerprint import (
    Fingerprint,
    ServerBuild,
    drift_mismatches,
    fingerprint_from_meta,
    fingerprint_warnings,
    performance_mismatches,
)
from releasegate.baselines.store import (
    BASELINE_SCHEMA_VERSION,
    Baseline,
    as_arm,
    baseline_path,
    build_baseline,
    find_baseline,
    load_baseline,
    safe_name,
    save_baseline,
    write_calibration,
)

__all__ = [
    "BASELINE_SCHEMA_VERSION",
    "Baseline",
    "Fingerprint",
    "ServerBuild",
    "as_arm",
    "baseline_path",
    "build_baseline",
    "drift_mismatches",
    "find_baseline",
    "fingerprint_from_meta",
    "fingerprint_warnings",
    "load_baseline",
    "performance_mismatches",
    "safe_name",
    "save_baseline",
    "write_calibration",
]

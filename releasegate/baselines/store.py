"""Stored baselines: one arm of a finished run, kept to stand in for the incumbent later.

A baseline lives at ``<root>/<suite>/<model-id>.json`` (``.json.gz`` when the JSON is over
1 MiB) and holds the arm's raw records relabelled as ``incumbent``, the suite it ran, the
fingerprint of what it ran on and, once ``releasegate calibrate`` has run, the noise of each
check. Files are replaced atomically (temporary file in the same folder, fsync, rename), so a
reader sees the old baseline or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from releasegate.baselines.fingerprint import Fingerprint, fingerprint_from_meta
from releasegate.errors import RecordsError
from releasegate.records import SCHEMA_VERSION as RECORDS_SCHEMA_VERSION
from releasegate.records import EventRecord, MetaRecord, Record, read_records
from releasegate.records.lifecycle import run_status
from releasegate.records.model import Arm

log = logging.getLogger(__name__)

BASELINE_SCHEMA_VERSION = 1
COMPRESS_ABOVE_BYTES = 1 << 20
_SUFFIXES = (".json", ".json.gz")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Baseline(BaseModel):
    """One arm of one run, stored so a later run can be gated against it."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = BASELINE_SCHEMA_VERSION
    suite: str = Field(description="Suite name.")
    model_id: str
    arm_saved_from: Arm
    created_at: datetime
    run_id: str = Field(description="run_id of the run the records come from.")
    fingerprint: Fingerprint
    meta_suite: dict[str, Any] = Field(description="The validated suite of that run.")
    environment: dict[str, Any] = Field(
        default_factory=dict, description="The run's full environment, for reports."
    )
    records: list[Record] = Field(description="The arm's records, relabelled 'incumbent'.")
    calibration: dict[str, float] | None = Field(
        default=None, description="Check name → noise, written by `releasegate calibrate`."
    )

    def arm_records(self, arm: Arm = "incumbent") -> list[Record]:
        """The stored records, labelled as ``arm``."""
        return as_arm(self.records, arm)


def as_arm(records: Iterable[Record], arm: Arm) -> list[Record]:
    """Copies of ``records`` with their arm set to ``arm``.

    Records without an arm (``meta``, run-level events) are passed through unchanged.
    """
    out: list[Record] = []
    for record in records:
        if record.kind == "meta" or getattr(record, "arm", None) is None:
            out.append(record)
        else:
            out.append(record.model_copy(update={"arm": arm}, deep=True))
    return out


def safe_name(name: str) -> str:
    """A file name for ``name``: unsafe runs become ``_`` plus a short hash, so names differing
    only in unsafe characters (``a/b`` and ``a b``) never share a file."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "_"
    if cleaned == name:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{cleaned}-{digest}"


def baseline_path(root: Path, suite_name: str, model_id: str, compressed: bool = False) -> Path:
    """Where the baseline of ``model_id`` under ``suite_name`` is stored."""
    suffix = ".json.gz" if compressed else ".json"
    return Path(root) / safe_name(suite_name) / (safe_name(model_id) + suffix)


def find_baseline(root: Path, suite_name: str, model_id: str) -> Path | None:
    """The stored baseline file (either form; the newer if both exist), or None."""
    found = [
        p
        for p in (baseline_path(root, suite_name, model_id, c) for c in (False, True))
        if p.is_file()
    ]
    if not found:
        return None
    return max(found, key=lambda p: p.stat().st_mtime_ns)


def build_baseline(records: list[Record], arm: Arm = "incumbent", source: str = "") -> Baseline:
    """A :class:`Baseline` of one arm from a run's records (see :func:`save_baseline`).

    Raises:
        RecordsError: no ``meta`` record, the run aborted, or the arm has no records.
    """
    metas = [r for r in records if isinstance(r, MetaRecord)]
    if not metas:
        raise RecordsError(f"{source}: no 'meta' record: not a complete run folder")
    status = run_status([r for r in records if isinstance(r, EventRecord)])
    if not status.complete:  # a resumed run that finished is complete
        raise RecordsError(
            f"{source}: partial run ({status.reason}); a baseline needs a finished run"
        )
    meta = metas[0]
    own = [r for r in records if r.kind != "meta" and getattr(r, "arm", None) == arm]
    if not own:
        raise RecordsError(f"{source}: no records of arm {arm!r}")
    fingerprint = fingerprint_from_meta(meta, arm)
    return Baseline(
        suite=str(meta.suite.get("name", "")) or "unnamed",
        model_id=fingerprint.model_id,
        arm_saved_from=arm,
        created_at=datetime.now(UTC),
        run_id=meta.run_id,
        fingerprint=fingerprint,
        meta_suite=meta.suite,
        environment=meta.environment,
        records=as_arm(own, "incumbent"),
    )


def save_baseline(run_dir: Path, arm: Arm = "incumbent", root: Path = Path("baselines")) -> Path:
    """Store one arm of a finished run as the baseline of its model; return the file.

    An existing baseline of the same suite and model is replaced (logged at WARNING; call
    :func:`find_baseline` first to tell the user beforehand).

    Raises:
        RecordsError: the run folder is unreadable or incomplete, or the arm has no records.
        OSError: the file could not be written (any previous baseline is left intact).
    """
    baseline = build_baseline(read_records(run_dir), arm, source=str(run_dir))
    previous = find_baseline(root, baseline.suite, baseline.model_id)
    path = _write(baseline, root)
    if previous is not None:
        log.warning("replaced the existing baseline %s", previous)
        if previous != path:
            previous.unlink(missing_ok=True)  # the other form would shadow the new one
    log.info("saved baseline of %s (%s arm) to %s", baseline.model_id, arm, path)
    return path


def _write(baseline: Baseline, root: Path, path: Path | None = None) -> Path:
    data = baseline.model_dump_json().encode("utf-8")
    if path is None:
        big = len(data) > COMPRESS_ABOVE_BYTES
        path = baseline_path(root, baseline.suite, baseline.model_id, compressed=big)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    _atomic_write(path, data)
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder + fsync + rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX only)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file (``.json`` or ``.json.gz``).

    Raises:
        RecordsError: missing, corrupt, of an unknown schema version, or invalid.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        raw = json.loads(data)
    except FileNotFoundError as exc:
        raise RecordsError(f"{path}: no such baseline") from exc
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordsError(f"{path}: corrupt baseline: {exc}") from exc
    if not isinstance(raw, dict):
        raise RecordsError(f"{path}: corrupt baseline: not a JSON object")
    version = raw.get("schema_version")
    if version != BASELINE_SCHEMA_VERSION:
        raise RecordsError(
            f"{path}: baseline schema_version {version!r}; this releasegate reads "
            f"{BASELINE_SCHEMA_VERSION} (save the baseline again)"
        )
    for record in raw.get("records") or []:
        if isinstance(record, dict) and record.get("schema_version") != RECORDS_SCHEMA_VERSION:
            raise RecordsError(
                f"{path}: holds records of schema_version {record.get('schema_version')!r}; "
                f"this releasegate reads {RECORDS_SCHEMA_VERSION}"
            )
    try:
        return Baseline.model_validate(raw)
    except ValidationError as exc:
        raise RecordsError(f"{path}: invalid baseline: {exc}") from exc


def write_calibration(path: Path, noise: dict[str, float]) -> None:
    """Store the noise of each check in a baseline, keeping everything else, atomically.

    Raises:
        RecordsError: the baseline cannot be read.
        ValueError: a noise value is not a finite number.
    """
    bad = sorted(k for k, v in noise.items() if not math.isfinite(v))
    if bad:
        raise ValueError(f"calibration noise must be finite numbers; not for: {', '.join(bad)}")
    path = Path(path)
    baseline = load_baseline(path)
    updated = baseline.model_copy(update={"calibration": {k: float(v) for k, v in noise.items()}})
    _write(updated, path.parent, path=path)

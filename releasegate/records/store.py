"""Append-only JSONL storage of records: written as they arrive, read back for reports."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pydantic import TypeAdapter, ValidationError

from releasegate.errors import RecordsError
from releasegate.records.lifecycle import RESUMED, drop_unfinished_rounds
from releasegate.records.model import SCHEMA_VERSION, Record

RECORDS_FILE = "records.jsonl"
_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)


class FolderBusy(RecordsError):
    """Another process holds the run folder's records open for writing."""


class RecordWriter:
    """Appends records to ``records.jsonl``, flushing each line so a crash loses nothing.

    Args:
        run_dir: the run folder (created if missing).
        exclusive: create ``records.jsonl``, failing with FileExistsError if it exists
            (a new run claims its folder atomically).

    An existing file that does not end in a newline (a crash tore its last line) gets one
    before the first new record, so the torn line stays a line of its own. The writer holds
    an exclusive lock on the file while open: a second writer (say, a resume of a run that
    is still going) gets :class:`FolderBusy`.
    """

    def __init__(self, run_dir: Path, *, exclusive: bool = False) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / RECORDS_FILE
        self._fh: IO[str] = self.path.open("x" if exclusive else "a", encoding="utf-8")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._fh.close()
            raise FolderBusy(f"{run_dir}: another releasegate process is writing there") from exc
        if not exclusive and self._fh.tell() > 0 and not _ends_with_newline(self.path):
            self._fh.write("\n")
            self._fh.flush()

    def write(self, record: Record) -> None:
        """Append one record and flush it to the OS."""
        self._fh.write(record.model_dump_json() + "\n")
        self._fh.flush()

    def write_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        """Flush, fsync and close (the file is closed even when flushing fails)."""
        if self._fh.closed:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        finally:
            self._fh.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def _starts_attempt(line: str) -> bool:
    """Whether a JSONL line is the ``run_resumed`` event that opens a new attempt."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        return False
    return isinstance(raw, dict) and raw.get("kind") == "event" and raw.get("event") == RESUMED


def iter_records(path: Path) -> Iterator[Record]:
    """Yield every record of a JSONL file as written (nothing dropped but torn lines).

    A torn line — a crash mid-write — is skipped when it is the last line, or when the next
    line opens a resumed attempt (the crash ended the attempt before). Anywhere else a line
    that is not JSON is corruption and raises.

    Raises:
        RecordsError: no file, a corrupt line, an unknown schema version or an invalid record.
    """
    if path.is_dir():
        path = path / RECORDS_FILE
    if not path.exists():
        raise RecordsError(f"{path}: no records file (is this a releasegate run folder?)")
    lines = [
        (number, line)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.strip()
    ]
    for index, (number, line) in enumerate(lines):
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            if index == len(lines) - 1 or _starts_attempt(lines[index + 1][1]):
                continue  # an attempt was cut off while writing this line
            raise RecordsError(f"{path}:{number}: not JSON: {exc}") from exc
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version != SCHEMA_VERSION:
            raise RecordsError(
                f"{path}:{number}: schema_version {version!r}; this releasegate reads "
                f"{SCHEMA_VERSION}"
            )
        try:
            yield _ADAPTER.validate_python(raw)
        except ValidationError as exc:
            raise RecordsError(f"{path}:{number}: invalid record: {exc}") from exc


def read_records(path: Path) -> list[Record]:
    """The records of a run folder or JSONL file, as compare, report and baselines see them.

    Requests and probes of load rounds that never ended are left out
    (:func:`releasegate.records.lifecycle.drop_unfinished_rounds`); use :func:`iter_records`
    for every line as written.
    """
    return drop_unfinished_rounds(list(iter_records(path)))

"""Append-only JSONL storage of records: written as they arrive, read back for reports."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pydantic import TypeAdapter, ValidationError

from releasegate.errors import RecordsError
from releasegate.records.model import SCHEMA_VERSION, Record

RECORDS_FILE = "records.jsonl"
_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)


class RecordWriter:
    """Appends records to ``records.jsonl``, flushing each line so a crash loses nothing."""

    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / RECORDS_FILE
        self._fh: IO[str] = self.path.open("a", encoding="utf-8")

    def write(self, record: Record) -> None:
        """Append one record and flush it to the OS."""
        self._fh.write(record.model_dump_json() + "\n")
        self._fh.flush()

    def write_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_records(path: Path) -> Iterator[Record]:
    """Yield the records of a JSONL file; a torn last line (a crash mid-write) is skipped."""
    if path.is_dir():
        path = path / RECORDS_FILE
    if not path.exists():
        raise RecordsError(f"{path}: no records file (is this a releasegate run folder?)")
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):
                return  # the run was cut off while writing this line
            raise RecordsError(f"{path}:{number}: not JSON: {exc}") from exc
        version = raw.get("schema_version")
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
    """All records of a run folder or JSONL file."""
    return list(iter_records(path))

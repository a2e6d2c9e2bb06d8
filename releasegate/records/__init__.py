"""Records: the one typed format written during a run and read by compare and report."""

from releasegate.records.model import (
    SCHEMA_VERSION,
    EventRecord,
    ItemRecord,
    MetaRecord,
    ProbeRecord,
    Record,
    RequestRecord,
    Timing,
)
from releasegate.records.store import RECORDS_FILE, RecordWriter, iter_records, read_records

__all__ = [
    "RECORDS_FILE",
    "SCHEMA_VERSION",
    "EventRecord",
    "ItemRecord",
    "MetaRecord",
    "ProbeRecord",
    "Record",
    "RecordWriter",
    "RequestRecord",
    "Timing",
    "iter_records",
    "read_records",
]

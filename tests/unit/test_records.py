"""Records: JSONL round trip, torn last lines, schema versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from releasegate.errors import RecordsError
from releasegate.records import (
    EventRecord,
    ItemRecord,
    RecordWriter,
    RequestRecord,
    Timing,
    read_records,
)


def timing(**kw) -> Timing:
    base = {
        "started_at": 1.0,
        "ttft_s": 0.1,
        "e2e_s": 0.5,
        "status": 200,
        "chunk_offsets_s": [0.1, 0.2, 0.5],
    }
    return Timing(**{**base, **kw})


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    records = [
        RequestRecord(t=1.0, arm="candidate", workload="w", round=0, seq=3, timing=timing()),
        ItemRecord(
            t=2.0,
            arm="incumbent",
            workload="e",
            item_id="x",
            prompt="p",
            output="<script>",
            scores={"exact": 1.0},
            timing=timing(),
        ),
        EventRecord(t=3.0, event="round_end", detail={"round": 0}),
    ]
    with RecordWriter(tmp_path) as writer:
        writer.write_all(records)
    assert read_records(tmp_path) == records


def test_timing_derivations() -> None:
    t = timing()
    assert t.ok
    assert t.itl_s == pytest.approx([0.1, 0.3])
    assert not timing(error="boom").ok
    assert not timing(status=500).ok


def test_each_record_is_on_disk_as_soon_as_written(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path)
    writer.write(EventRecord(t=1.0, event="a"))
    # read while the writer is still open: a crash now loses nothing written
    assert [r.event for r in read_records(tmp_path)] == ["a"]
    writer.close()


def test_torn_last_line_is_skipped_but_a_torn_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    good = EventRecord(t=1.0, event="a").model_dump_json()
    path.write_text(good + "\n" + good[:10])
    assert len(read_records(path)) == 1
    path.write_text(good[:10] + "\n" + good + "\n")
    with pytest.raises(RecordsError, match=":1: not JSON"):
        read_records(path)


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    raw = json.loads(EventRecord(t=1.0, event="a").model_dump_json())
    raw["schema_version"] = 99
    (tmp_path / "records.jsonl").write_text(json.dumps(raw) + "\n")
    with pytest.raises(RecordsError, match="schema_version 99"):
        read_records(tmp_path)


def test_missing_run_folder_is_a_records_error(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match="no records file"):
        read_records(tmp_path)

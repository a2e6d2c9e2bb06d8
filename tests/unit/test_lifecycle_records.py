"""A run's life cycle from its records: completeness, unfinished rounds, torn lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from releasegate.errors import RecordsError
from releasegate.gate.result import Recommendation
from releasegate.pipeline import partial_verdict
from releasegate.records import (
    EventRecord,
    ProbeRecord,
    RecordWriter,
    RequestRecord,
    Timing,
    iter_records,
    read_records,
)
from releasegate.records.lifecycle import Finished, drop_unfinished_rounds, run_status


def event(name: str, arm: str | None = None, **detail) -> EventRecord:
    return EventRecord(t=1.0, event=name, arm=arm, detail=detail)


def request(arm: str, rnd: int, seq: int) -> RequestRecord:
    timing = Timing(started_at=1.0, ttft_s=0.1, e2e_s=0.2, status=200)
    return RequestRecord(t=1.0, arm=arm, workload="w", round=rnd, seq=seq, timing=timing)


def memory(arm: str, rnd: int) -> ProbeRecord:
    return ProbeRecord(t=1.0, arm=arm, probe="memory", round=rnd, values={"peak_rss": 1.0})


def round_records(arm: str, rnd: int, n: int = 2, end: bool = True) -> list:
    out = [event("round_start", arm, workload="w", round=rnd)]
    out += [request(arm, rnd, seq) for seq in range(n)]
    out.append(memory(arm, rnd))
    if end:
        out.append(event("round_end", arm, workload="w", round=rnd))
    return out


def test_complete_only_when_the_last_attempt_finished() -> None:
    assert run_status([event("run_finished", complete=True)]).complete
    # records written before `complete` existed: a finish with no abort is complete
    assert run_status([event("run_finished")]).complete
    ended = run_status([])
    assert not ended.complete and "end before the run finished" in ended.reason
    aborted = run_status([event("run_aborted", reason="interrupted by SIGTERM")])
    assert not aborted.complete and aborted.reason == "aborted: interrupted by SIGTERM"
    # the older writer put run_finished after run_aborted: still partial
    old = run_status([event("run_aborted", error="X: y"), event("run_finished")])
    assert not old.complete and "X: y" in old.reason
    resumed = [event("run_aborted", reason="r"), event("run_resumed", attempt=2)]
    assert not run_status(resumed).complete
    done = run_status([*resumed, event("run_finished", complete=True)])
    assert done.complete and done.attempts == 2 and done.reason is None


def test_requests_and_probes_of_rounds_that_never_ended_are_dropped() -> None:
    kept = round_records("candidate", 0) + round_records("incumbent", 0)
    cut = round_records("incumbent", 1, n=3, end=False)
    again = round_records("incumbent", 1, n=2)
    records = [*kept, *cut, event("run_aborted", reason="r"), event("run_resumed"), *again]
    out = drop_unfinished_rounds(records)
    requests = [r for r in out if r.kind == "request"]
    assert len(requests) == 2 + 2 + 2  # the cut round's 3 requests are gone
    assert [r.seq for r in requests if r.round == 1] == [0, 1]
    assert sum(r.kind == "probe" and r.round == 1 for r in out) == 1
    # every event stays, in order
    assert [r for r in out if r.kind == "event"] == [r for r in records if r.kind == "event"]


def test_a_round_open_at_the_end_or_started_twice_is_dropped() -> None:
    tail = round_records("candidate", 0) + round_records("candidate", 1, end=False)
    assert sum(r.kind == "request" for r in drop_unfinished_rounds(tail)) == 2
    # a crash with no abort record, then the same round again (no boundary event)
    twice = round_records("candidate", 0, n=5, end=False) + round_records("candidate", 0)
    out = drop_unfinished_rounds(twice)
    assert sum(r.kind == "request" for r in out) == 2


def test_finished_work_of_earlier_attempts() -> None:
    from releasegate.records import ItemRecord

    item = ItemRecord(
        t=1.0,
        arm="candidate",
        workload="e",
        item_id="a",
        prompt="p",
        output="o",
        scores={"exact": 1.0},
        timing=Timing(started_at=1.0),
    )
    records = [item, *round_records("candidate", 0), *round_records("incumbent", 0, end=False)]
    done = Finished.of(records)
    assert done.items == {("e", "a", "candidate")}
    assert done.rounds == {("w", 0, "candidate")}
    assert done.unfinished_rounds == {("w", 0, "incumbent")}
    assert not done.stopped
    assert Finished.of([event("sequential_stop")]).stopped


def test_partial_pass_is_held_and_fail_stays_fail() -> None:
    promote = Recommendation(action="promote", reasons=["fine", "a: ok"])
    verdict, rec = partial_verdict("pass", promote, "aborted: interrupted by SIGTERM")
    assert verdict == "inconclusive" and rec.action == "hold"
    assert any("SIGTERM" in r for r in rec.reasons)
    rollback = Recommendation(action="rollback", reasons=["keep", "q: worse"])
    verdict, rec = partial_verdict("fail", rollback, "x")
    assert verdict == "fail" and rec.action == "rollback"
    assert rec.reasons[0] == "keep" and "partial run (x)" in rec.reasons[1]
    hold = Recommendation(action="hold", reasons=["hold"])
    assert partial_verdict("inconclusive", hold, "x")[0] == "inconclusive"


def test_a_resumed_writer_puts_a_torn_line_on_its_own(tmp_path: Path) -> None:
    good = event("round_end", "candidate", workload="w", round=0).model_dump_json()
    path = tmp_path / "records.jsonl"
    path.write_text(good + "\n" + good[:25])  # a crash tore the last line
    with RecordWriter(tmp_path) as writer:
        writer.write(event("run_resumed", attempt=2))
        writer.write(event("run_finished", complete=True))
    lines = path.read_text().splitlines()
    assert lines[1] == good[:25] and len(lines) == 4
    assert [r.event for r in read_records(tmp_path)] == [
        "round_end",
        "run_resumed",
        "run_finished",
    ]


def test_a_torn_line_is_tolerated_only_at_an_attempt_boundary(tmp_path: Path) -> None:
    good = event("a").model_dump_json()
    resumed = event("run_resumed").model_dump_json()
    path = tmp_path / "records.jsonl"
    path.write_text(f"{good}\n{good[:9]}\n\n{resumed}\n{good}\n")
    assert [r.event for r in iter_records(path)] == ["a", "run_resumed", "a"]
    path.write_text(f"{good}\n{good[:9]}\n{good}\n")
    with pytest.raises(RecordsError, match=":2: not JSON"):
        read_records(path)


def test_an_exclusive_writer_refuses_an_existing_file(tmp_path: Path) -> None:
    RecordWriter(tmp_path, exclusive=True).close()
    with pytest.raises(FileExistsError):
        RecordWriter(tmp_path, exclusive=True)

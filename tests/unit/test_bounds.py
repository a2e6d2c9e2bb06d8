"""Stored text bounds, error kinds / first errors, workload budgets, memory from /metrics."""

from __future__ import annotations

import hashlib
import time

import pytest

from releasegate.endpoints.client import OpenAIClient
from releasegate.probes.metrics import ScrapedMemory, memory_unknown_reason, parse_metrics
from releasegate.records import EventRecord, ProbeRecord, RequestRecord, Timing
from releasegate.records.clip import STORED_CHARS, bounded
from releasegate.records.errors import describe, error_kind, first_errors
from releasegate.records.views import RunRecords
from releasegate.workloads.budget import Budget
from releasegate.workloads.load import run_round

from fakes import FakeOpenAIServer, Scenario


def test_bounded_keeps_short_text_whole_and_cuts_long_text_with_length_and_hash() -> None:
    assert bounded("abc") == ("abc", None, None)
    long = "é" * (STORED_CHARS + 5)
    text, chars, digest = bounded(long)
    assert text == long[:STORED_CHARS] and chars == STORED_CHARS + 5
    assert digest == hashlib.sha256(long.encode()).hexdigest()
    # a prefix with the full length and hash counted elsewhere (the streaming client)
    assert bounded("ab", chars=10, sha256="h", limit=5) == ("ab", 10, "h")


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("HTTP 503: overloaded", "HTTP 503"),
        ("timeout: ReadTimeout", "timeout"),
        ("deadline: no complete response within 3 s", "deadline"),
        ("budget: not sent, the workload's 5 s budget was spent", "budget"),
        ("ConnectError: [Errno 111] refused", "ConnectError"),
        ("stream ended early", "stream ended early"),
        ("", "error"),
    ],
)
def test_error_kind(message: str, kind: str) -> None:
    assert error_kind(message) == kind


def _request(arm: str, t: float, error: str | None, workload: str = "w") -> RequestRecord:
    timing = Timing(started_at=t, status=None if error else 200, e2e_s=1.0, error=error)
    return RequestRecord(t=t, arm=arm, workload=workload, round=0, seq=0, timing=timing)


def test_first_errors_are_per_arm_per_kind_in_order_with_counts() -> None:
    run = RunRecords.of(
        [
            _request("candidate", 3.0, "HTTP 503: second"),
            _request("candidate", 1.0, "timeout: ReadTimeout", "a"),
            _request("candidate", 2.0, "HTTP 503: first"),
            _request("candidate", 4.0, None),
            _request("incumbent", 5.0, "deadline: within 3 s"),
        ]
    )
    got = first_errors(run)
    assert got["candidate"] == [
        {"kind": "timeout", "message": "timeout: ReadTimeout", "workload": "a", "count": 1},
        {"kind": "HTTP 503", "message": "HTTP 503: first", "workload": "w", "count": 2},
    ]
    assert [e["kind"] for e in got["incumbent"]] == ["deadline"]
    assert describe(got["candidate"])[1] == "HTTP 503 ×2 (w), first: HTTP 503: first"


def test_budget_charges_only_while_running() -> None:
    budget = Budget(0.2)
    assert budget.left() == pytest.approx(0.2) and not budget.spent
    budget.start()
    time.sleep(0.05)
    budget.stop()
    time.sleep(0.05)  # not charged
    left = budget.left()
    assert left is not None and 0.1 < left < 0.16
    assert Budget(None).left() is None and not Budget(None).spent


async def test_round_budget_cuts_in_flight_and_records_the_rest_as_not_sent() -> None:
    results: list[tuple[int, Timing, bool]] = []
    with FakeOpenAIServer(Scenario(hang=True)) as fake:
        async with OpenAIClient(fake.base_url, model="m", max_connections=2) as client:
            budget = Budget(0.4)
            t = time.perf_counter()
            summary = await run_round(
                client,
                ["p"],
                concurrency=2,
                max_tokens=4,
                requests=6,
                on_result=lambda s, tm, w: results.append((s, tm, w)),
                budget=budget,
            )
            wall = time.perf_counter() - t
            # a later round of the same workload sends nothing
            again = await run_round(
                client, ["p"], concurrency=2, max_tokens=4, requests=3, budget=budget
            )
    assert 0.4 <= wall <= 0.7
    errors = sorted((s, tm.error or "") for s, tm, _ in results)
    assert [s for s, _ in errors] == list(range(6))
    cut = [e for _, e in errors if e.startswith("budget: cut")]
    not_sent = [e for _, e in errors if e.startswith("budget: not sent")]
    assert len(cut) == 2 and len(not_sent) == 4
    assert summary.requests == 2 and summary.not_sent == 4 and summary.ok == 0
    assert again.requests == 0 and again.not_sent == 3


async def test_request_deadline_below_the_budget_keeps_its_own_kind() -> None:
    with FakeOpenAIServer(Scenario(hang=True)) as fake:
        async with OpenAIClient(fake.base_url, model="m", deadline_s=0.1) as client:
            out: list[Timing] = []
            await run_round(
                client,
                ["p"],
                concurrency=1,
                max_tokens=4,
                requests=1,
                on_result=lambda s, tm, w: out.append(tm),
                budget=Budget(30.0),
            )
    assert out[0].error is not None and out[0].error.startswith("deadline:")


def test_scraped_memory_keeps_peak_and_last() -> None:
    memory = ScrapedMemory()
    assert memory.values() is None
    memory.observe(None)
    memory.observe({"up": 1.0})
    assert memory.values() is None
    for rss in (3e8, 5e8, 4e8):
        memory.observe(
            parse_metrics(
                f"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}\n"
            )
        )
    assert memory.values() == {"peak_rss": 5e8, "last_rss": 4e8}


def test_memory_unknown_reason_names_url_mode_arms_without_memory() -> None:
    connected = [EventRecord(t=0, arm=a, event="connected") for a in ("candidate", "incumbent")]
    probe = ProbeRecord(t=0, arm="incumbent", probe="memory", round=0, values={"peak_rss": 1.0})
    reason = memory_unknown_reason(RunRecords.of([*connected, probe]))
    assert reason is not None and reason.startswith("peak memory unknown (candidate:")
    assert "incumbent" not in reason
    assert memory_unknown_reason(RunRecords.of([probe])) is None  # launched: not this reason


async def test_eval_budget_cuts_then_skips_items() -> None:
    from releasegate.suite import EvalWorkload
    from releasegate.workloads.eval import run_eval
    from releasegate.workloads.items import EvalItem

    workload = EvalWorkload.model_validate(
        {
            "name": "e",
            "dataset": {"items": [{"id": "x"}]},
            "template": "q",
            "scorers": [{"kind": "contains"}],
            "budget_s": 0.3,
        }
    )
    items = [EvalItem(id=str(i), category=None, fields={"answer": "a"}) for i in range(3)]
    records = []
    with FakeOpenAIServer(Scenario(hang=True)) as fake:
        async with OpenAIClient(fake.base_url, model="m") as client:
            t = time.perf_counter()
            errors = await run_eval(client, workload, items, "candidate", records.append)
            wall = time.perf_counter() - t
    assert errors == 3 and 0.3 <= wall <= 0.6
    kinds = [error_kind(r.timing.error) for r in records]
    assert kinds == ["budget"] * 3
    assert records[0].timing.error.startswith("budget: cut")
    assert all(r.timing.error.startswith("budget: not sent") for r in records[1:])
    assert all(r.scores == {"contains": 0.0} for r in records)


async def test_duration_window_closes_when_the_budget_runs_out() -> None:
    with FakeOpenAIServer(Scenario(hang=True)) as fake:
        async with OpenAIClient(fake.base_url, model="m", max_connections=2) as client:
            t = time.perf_counter()
            summary = await run_round(
                client, ["p"], concurrency=2, max_tokens=4, duration_s=30.0, budget=Budget(0.3)
            )
            wall = time.perf_counter() - t
    assert 0.3 <= wall <= 0.6
    assert summary.requests == 2 and summary.not_sent == 0 and summary.ok == 0

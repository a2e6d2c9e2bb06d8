"""Closed-loop load rounds against the scripted local server."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest

from releasegate.endpoints.client import OpenAIClient
from releasegate.records.model import Timing
from releasegate.workloads.load import run_round

from fakes import FakeOpenAIServer, Scenario


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
async def client(fake: FakeOpenAIServer) -> AsyncIterator[OpenAIClient]:
    async with OpenAIClient(fake.base_url, model="m", timeout_s=5.0, max_connections=8) as c:
        yield c


def max_overlap(timings: list[Timing]) -> int:
    edges = []
    for t in timings:
        assert t.e2e_s is not None
        edges += [(t.started_at, 1), (t.started_at + t.e2e_s, -1)]
    level = peak = 0
    for _, step in sorted(edges):
        level += step
        peak = max(peak, level)
    return peak


async def test_warmup_first_then_counted_requests(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    seen: list[tuple[int, Timing, bool]] = []
    summary = await run_round(
        client,
        ["p0", "p1", "p2"],
        concurrency=4,
        max_tokens=4,
        requests=20,
        warmup=3,
        extra={"ignore_eos": True},
        on_result=lambda seq, timing, warm: seen.append((seq, timing, warm)),
    )
    assert [w for _, _, w in seen] == [True] * 3 + [False] * 20
    assert sorted(seq for seq, _, _ in seen) == list(range(23))
    assert {seq for seq, _, w in seen if w} == {0, 1, 2}
    assert (summary.requests, summary.ok, summary.errors) == (20, 20, 0)
    assert summary.output_tokens == 80 and summary.concurrency == 4
    assert summary.requests_per_s == pytest.approx(20 / summary.wall_s)
    assert summary.output_tokens_per_s == pytest.approx(80 / summary.wall_s)
    measured_start = min(t.started_at for _, t, w in seen if not w)
    assert summary.started_at <= measured_start
    assert max(t.started_at + (t.e2e_s or 0) for _, t, w in seen if w) <= measured_start
    prompts = Counter(r.body["messages"][0]["content"] for r in fake.received)
    assert prompts == {"p0": 8, "p1": 8, "p2": 7}  # 23 requests cycle the 3 prompts
    assert all(r.body["ignore_eos"] is True and r.body["max_tokens"] == 4 for r in fake.received)


async def test_concurrency_is_held_and_never_exceeded(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    fake.scenario = Scenario(tokens=["t"] * 3, first_token_delay_s=0.02, token_delay_s=0.01)
    timings: list[Timing] = []
    summary = await run_round(
        client,
        ["p"],
        concurrency=8,
        max_tokens=3,
        requests=48,
        on_result=lambda _s, t, _w: timings.append(t),
    )
    assert summary.ok == 48
    assert max_overlap(timings) == 8
    # 6 waves of 8 requests of ~40 ms each: the harness keeps (nearly) all 8 in flight
    assert 6.0 <= summary.mean_concurrency <= 8.0 + 1e-9
    assert summary.wall_s >= 6 * 0.04 - 0.01


async def test_duration_closes_the_window(fake: FakeOpenAIServer, client: OpenAIClient) -> None:
    fake.scenario = Scenario(tokens=["t"] * 2, first_token_delay_s=0.03, token_delay_s=0.01)
    timings: list[Timing] = []
    summary = await run_round(
        client,
        ["p"],
        concurrency=2,
        max_tokens=2,
        duration_s=0.3,
        on_result=lambda _s, t, _w: timings.append(t),
    )
    assert summary.requests == len(timings) and 2 <= summary.requests <= 16
    assert max(t.started_at for t in timings) <= summary.started_at + 0.3 + 0.005
    assert summary.wall_s >= 0.3  # the last requests started before 0.3 s and finished after


async def test_failed_requests_are_counted_not_raised(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    fake.scenario = Scenario(status=500)
    summary = await run_round(client, ["p"], concurrency=3, max_tokens=4, requests=9)
    assert (summary.requests, summary.ok, summary.errors) == (9, 0, 9)
    assert summary.output_tokens == 0 and summary.output_tokens_per_s == 0.0


async def test_tokens_fall_back_to_chunks_without_usage(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    fake.scenario = Scenario(tokens=["a", "b", "c"], usage=False)
    summary = await run_round(client, ["p"], concurrency=2, max_tokens=3, requests=4)
    assert summary.ok == 4 and summary.output_tokens == 12


async def test_zero_requests_is_an_empty_round(client: OpenAIClient) -> None:
    summary = await run_round(client, ["p"], concurrency=2, max_tokens=3, requests=0)
    assert (summary.requests, summary.output_tokens, summary.mean_concurrency) == (0, 0, 0.0)
    assert summary.as_dict()["requests"] == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"concurrency": 9, "requests": 1}, "max_connections"),
        ({"concurrency": 1}, "requests, duration_s"),
        ({"concurrency": 0, "requests": 1}, "concurrency"),
        ({"concurrency": 1, "requests": 1, "warmup": -1}, "warmup"),
    ],
)
async def test_bad_arguments(client: OpenAIClient, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        await run_round(client, ["p"], max_tokens=1, **kwargs)


async def test_empty_prompts(client: OpenAIClient) -> None:
    with pytest.raises(ValueError, match="prompts"):
        await run_round(client, [], concurrency=1, max_tokens=1, requests=1)


async def test_callback_error_stops_the_round(client: OpenAIClient) -> None:
    def on_result(seq: int, _t: Timing, _w: bool) -> None:
        if seq == 2:
            raise KeyError("store full")

    with pytest.raises(KeyError, match="store full"):
        await run_round(
            client, ["p"], concurrency=2, max_tokens=1, requests=50, on_result=on_result
        )

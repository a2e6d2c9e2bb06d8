"""The client's bounds: a total deadline per request, bounded text, redacted errors."""

from __future__ import annotations

import hashlib
import time

from releasegate.endpoints.client import OpenAIClient

from fakes import FakeOpenAIServer, Scenario, closed_port


async def test_trickling_server_is_cut_at_the_deadline() -> None:
    # one byte every 20 ms never trips the 3 s per-read timeout; the deadline ends it
    with FakeOpenAIServer(Scenario(trickle_s=0.02)) as fake:
        async with OpenAIClient(fake.base_url, model="m", timeout_s=3.0, deadline_s=0.6) as c:
            t = time.perf_counter()
            timing, *_ = await c.complete("x", max_tokens=4)
            wall = time.perf_counter() - t
    assert timing.error is not None and timing.error.startswith("deadline:"), timing.error
    assert "0.6 s" in timing.error
    assert timing.e2e_s is not None and 0.6 <= timing.e2e_s <= 0.6 + 0.25
    assert 0.6 <= wall <= 0.6 + 0.3
    assert not timing.ok  # (headers trickle too: none had arrived)


async def test_huge_error_body_is_not_read_whole() -> None:
    with FakeOpenAIServer(Scenario(status=500, error_body="e" * 8_000_000)) as fake:
        async with OpenAIClient(fake.base_url, model="m") as c:
            timing, *_ = await c.complete("x", max_tokens=4)
    assert timing.status == 500 and timing.error is not None
    assert timing.error.startswith("HTTP 500: eee") and len(timing.error) <= 500


async def test_hung_request_ends_at_the_per_call_deadline() -> None:
    with FakeOpenAIServer(Scenario(hang=True)) as fake:
        async with OpenAIClient(fake.base_url, model="m", timeout_s=60.0) as c:
            timing, *_ = await c.complete("x", max_tokens=4, deadline_s=0.3)
            # the client's own deadline (300 s default) is not the binding one here
            assert c.deadline_s == 300.0
    assert timing.error is not None and timing.error.startswith("deadline:")
    assert timing.e2e_s is not None and 0.3 <= timing.e2e_s <= 0.55
    assert timing.status is None


async def test_connection_survives_a_deadline_for_the_next_request() -> None:
    with FakeOpenAIServer(Scenario(hang=True)) as fake:
        async with OpenAIClient(fake.base_url, model="m", deadline_s=0.2) as c:
            first, *_ = await c.complete("x", max_tokens=4)
            fake.scenario = Scenario()
            second, text, *_ = await c.complete("x", max_tokens=4)
    assert first.error is not None and second.ok and text == "Hello, world!"


async def test_huge_response_is_kept_up_to_the_cap_with_full_length_and_hash() -> None:
    n = 3_000_000
    with FakeOpenAIServer(Scenario(huge_chars=n)) as fake:
        async with OpenAIClient(fake.base_url, model="m", max_text_chars=100_000) as c:
            done = await c.complete("x", max_tokens=4)
    assert done.timing.ok
    assert done.text == "x" * 100_000
    assert done.text_chars == n
    assert done.text_sha256 == hashlib.sha256(b"x" * n).hexdigest()


async def test_text_not_kept_means_no_length_or_hash() -> None:
    with FakeOpenAIServer() as fake:
        async with OpenAIClient(fake.base_url, model="m") as c:
            done = await c.complete("x", max_tokens=4, keep_text=False)
    assert done.timing.ok and done.text == "" and done.text_sha256 is None


async def test_oversized_sse_line_is_an_error() -> None:
    # one 5 MB token: a single SSE line larger than the parser keeps
    with FakeOpenAIServer(Scenario(tokens=("y" * 5_000_000,))) as fake:
        async with OpenAIClient(fake.base_url, model="m") as c:
            timing, *_ = await c.complete("x", max_tokens=4)
    assert timing.error is not None and timing.error.startswith("oversized stream event")


async def test_error_messages_never_carry_url_credentials() -> None:
    url = f"https://user:secret@127.0.0.1:{closed_port()}/?api_key=secret2"
    async with OpenAIClient(url, model="m", timeout_s=2.0) as c:
        timing, *_ = await c.complete("x", max_tokens=4)
    assert timing.error is not None
    assert "secret" not in timing.error

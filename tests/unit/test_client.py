"""The streaming client against a real local HTTP server whose timing and faults are scripted."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from releasegate.endpoints.client import OpenAIClient
from releasegate.endpoints.http1 import Http1Transport

from fakes import FakeOpenAIServer, Scenario


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
async def client(fake: FakeOpenAIServer) -> AsyncIterator[OpenAIClient]:
    async with OpenAIClient(fake.base_url, model="m", timeout_s=5.0) as c:
        yield c


async def test_chat_stream_text_tokens_and_body(fake: FakeOpenAIServer) -> None:
    params = {"temperature": 0.0, "seed": 3}
    async with OpenAIClient(fake.base_url + "/v1/", model="smol", params=params) as client:
        before = time.time()
        timing, text, *_ = await client.complete(
            "hi", max_tokens=9, system="be brief", extra={"ignore_eos": True}
        )
    assert text == "Hello, world!"
    assert timing.ok and timing.status == 200 and timing.error is None
    assert before <= timing.started_at <= time.time()
    assert len(timing.chunk_offsets_s) == 4  # the role-only chunk is not a token
    assert timing.ttft_s == timing.chunk_offsets_s[0]
    assert timing.e2e_s is not None and timing.e2e_s >= timing.chunk_offsets_s[-1]
    assert (timing.prompt_tokens, timing.completion_tokens) == (7, 4)
    assert timing.finish_reason == "stop"
    (req,) = fake.received
    assert req.path == "/v1/chat/completions"
    assert req.body == {
        "model": "smol",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        "max_tokens": 9,
        "temperature": 0.0,
        "seed": 3,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def test_ttft_and_itl_follow_injected_delays(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    fake.scenario = Scenario(tokens=["a"] * 6, first_token_delay_s=0.05, token_delay_s=0.02)
    timing, *_ = await client.complete("x", max_tokens=6)
    assert timing.ok
    assert timing.ttft_s is not None and 0.045 <= timing.ttft_s <= 0.5
    offsets = timing.chunk_offsets_s
    assert len(offsets) == 6
    for k, offset in enumerate(offsets):  # chunk k cannot arrive before the server sent it
        assert offset >= 0.05 + 0.02 * k - 0.004, (k, offsets)
    assert 0.015 <= statistics.median(timing.itl_s) <= 0.3
    assert timing.e2e_s is not None and 0.145 <= timing.e2e_s <= 1.5


@pytest.mark.parametrize(
    "wire",
    [
        {"split": True},
        {"crlf": True, "comments": True},
        {"split": True, "crlf": True, "comments": True},
    ],
)
async def test_wire_variants_read_the_same(
    fake: FakeOpenAIServer, client: OpenAIClient, wire: dict[str, bool]
) -> None:
    fake.scenario = Scenario(**wire)
    timing, text, *_ = await client.complete("x", max_tokens=4)
    assert timing.ok, timing.error
    assert text == "Hello, world!"
    assert len(timing.chunk_offsets_s) == 4
    assert timing.completion_tokens == 4


async def test_completions_api(fake: FakeOpenAIServer) -> None:
    async with OpenAIClient(fake.base_url, model="m", api="completions") as client:
        timing, text, *_ = await client.complete("Once", max_tokens=4, system="S")
    assert text == "Hello, world!"
    assert timing.ok and len(timing.chunk_offsets_s) == 4
    assert timing.completion_tokens == 4
    (req,) = fake.received
    assert req.path == "/v1/completions"
    assert req.body["prompt"] == "S\n\nOnce" and "messages" not in req.body


async def test_token_counts_fall_back_to_llama_timings(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    fake.scenario = Scenario(usage=False, timings=True, prompt_tokens=11)
    timing, *_ = await client.complete("x", max_tokens=4)
    assert timing.ok
    assert (timing.prompt_tokens, timing.completion_tokens) == (11, 4)
    fake.scenario = Scenario(usage=False)
    timing, *_ = await client.complete("x", max_tokens=4)
    assert timing.ok
    assert (timing.prompt_tokens, timing.completion_tokens) == (None, None)


async def test_http_error_is_data_and_truncated(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    fake.scenario = Scenario(status=503, error_body='{"error": {"message": "Loading model"}}')
    timing, text, *_ = await client.complete("x", max_tokens=4)
    assert not timing.ok and timing.status == 503 and text == ""
    assert timing.error is not None and timing.error.startswith("HTTP 503")
    assert "Loading model" in timing.error
    assert timing.ttft_s is None and timing.chunk_offsets_s == []
    fake.scenario = Scenario(status=500, error_body="x" * 5000)
    timing, *_ = await client.complete("x", max_tokens=4)
    assert timing.error is not None and 100 < len(timing.error) <= 500


async def test_malformed_json_is_an_error(fake: FakeOpenAIServer, client: OpenAIClient) -> None:
    fake.scenario = Scenario(malformed_at=2)
    timing, text, *_ = await client.complete("x", max_tokens=4)
    assert not timing.ok and timing.status == 200
    assert timing.error is not None and "malformed JSON" in timing.error
    assert text == "Hello," and len(timing.chunk_offsets_s) == 2


async def test_dropped_connection_is_an_error(fake: FakeOpenAIServer, client: OpenAIClient) -> None:
    fake.scenario = Scenario(drop_after=2)
    timing, text, *_ = await client.complete("x", max_tokens=4)
    assert not timing.ok and timing.error
    assert text == "Hello,"
    fake.scenario = Scenario()  # the pool recovers on a fresh connection
    timing, *_ = await client.complete("x", max_tokens=4)
    assert timing.ok


async def test_stream_without_done_or_finish_ended_early(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    fake.scenario = Scenario(done=False, finish_reason=None, usage=False)
    timing, *_ = await client.complete("x", max_tokens=4)
    assert timing.error == "stream ended early"
    fake.scenario = Scenario(done=False, finish_reason="length")
    timing, *_ = await client.complete("x", max_tokens=4)
    assert timing.ok and timing.finish_reason == "length"


async def test_connection_refused_is_data() -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    async with OpenAIClient(url, model="m", timeout_s=2.0) as client:
        timing, text, *_ = await client.complete("x", max_tokens=4)
    assert not timing.ok and timing.status is None and text == ""
    assert timing.error is not None and "Connect" in timing.error
    assert timing.e2e_s is not None


async def test_read_timeout_is_data(fake: FakeOpenAIServer) -> None:
    fake.scenario = Scenario(first_token_delay_s=1.0)
    async with OpenAIClient(fake.base_url, model="m", timeout_s=0.1) as client:
        timing, *_ = await client.complete("x", max_tokens=4)
    assert timing.error is not None and timing.error.startswith("timeout")
    assert timing.e2e_s is not None and timing.e2e_s < 0.9


async def test_api_key_only_in_authorization_header(fake: FakeOpenAIServer) -> None:
    async with OpenAIClient(fake.base_url, model="m", api_key="sk-secret") as client:
        assert "sk-secret" not in repr(client)
        timing, *_ = await client.complete("x", max_tokens=4)
    assert timing.ok
    (req,) = fake.received
    assert req.headers["authorization"] == "Bearer sk-secret"
    assert "sk-secret" not in repr(req.body) and "sk-secret" not in timing.model_dump_json()


async def test_connections_are_reused_and_text_can_be_dropped(
    fake: FakeOpenAIServer, client: OpenAIClient
) -> None:
    for _ in range(5):
        timing, text, *_ = await client.complete("x", max_tokens=4, keep_text=False)
        assert timing.ok and text == "" and len(timing.chunk_offsets_s) == 4
    assert fake.connections == 1


def _mock(body: bytes) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, stream=httpx.ByteStream(body), headers=headers)

    return httpx.MockTransport(handler)


async def test_error_event_in_stream_is_an_error() -> None:
    body = b'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"error":{"message":"oom"}}\n\n'
    async with OpenAIClient("http://t", model="m", transport=_mock(body)) as client:
        timing, text, *_ = await client.complete("x", max_tokens=4)
    assert timing.error == "server error in stream: oom" and text == "a"


async def test_reasoning_chunks_are_tokens_but_not_text() -> None:
    body = (
        b'data: {"choices":[{"delta":{"reasoning_content":"hmm"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\n'
        b'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}\n\n'
        b"data: [DONE]\n\n"
    )
    async with OpenAIClient("http://t", model="m", transport=_mock(body)) as client:
        timing, text, *_ = await client.complete("x", max_tokens=4)
    assert timing.ok and text == "ok"
    assert len(timing.chunk_offsets_s) == 2 and timing.completion_tokens == 2


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="api"):
        OpenAIClient("http://t", model="m", api="embeddings")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_connections"):
        OpenAIClient("http://t", model="m", max_connections=0)


# --------------------------------------------------------------------------- Http1Transport


async def test_close_delimited_body_and_no_reuse(fake: FakeOpenAIServer) -> None:
    fake.scenario = Scenario(close_delimited=True, split=True)
    async with OpenAIClient(fake.base_url, model="m") as client:
        for _ in range(2):
            timing, text, *_ = await client.complete("x", max_tokens=4)
            assert timing.ok, timing.error
            assert text == "Hello, world!"
    assert fake.connections == 2


async def test_keepalive_connection_closed_by_server_is_retried(fake: FakeOpenAIServer) -> None:
    fake.scenario = Scenario(hangup_next=True)
    async with OpenAIClient(fake.base_url, model="m") as client:
        for _ in range(3):
            timing, *_ = await client.complete("x", max_tokens=4)
            assert timing.ok, timing.error
    assert fake.hangups == 2 and fake.connections == 3


async def test_pool_timeout_when_all_connections_are_busy(fake: FakeOpenAIServer) -> None:
    fake.scenario = Scenario(first_token_delay_s=0.15)
    transport = Http1Transport(max_connections=1)
    timeout = httpx.Timeout(2.0, pool=0.05)
    async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
        url = fake.base_url + "/v1/completions"
        async with http.stream("POST", url, json={"prompt": "a"}) as first:
            assert first.status_code == 200
            with pytest.raises(httpx.PoolTimeout):
                await http.post(url, json={"prompt": "b"})
            await first.aread()
        second = await http.post(url, json={"prompt": "c"})  # the slot came back
        assert second.status_code == 200 and b"[DONE]" in second.content
    assert fake.connections == 1


async def test_http1_transport_refuses_https() -> None:
    async with httpx.AsyncClient(transport=Http1Transport()) as http:
        with pytest.raises(httpx.UnsupportedProtocol):
            await http.get("https://127.0.0.1:1/")


async def test_https_urls_use_httpx_default_transport() -> None:
    client = OpenAIClient("https://example.invalid", model="m")
    try:
        assert not isinstance(client._http._transport, Http1Transport)
    finally:
        await client.aclose()

"""A fake OpenAI-compatible streaming server: real HTTP/1.1 on 127.0.0.1, scripted per test.

It runs an asyncio server in a background thread (so sync and async tests can both use it),
keeps connections alive, answers ``POST /v1/chat/completions`` and ``POST /v1/completions``
with a chunked ``text/event-stream`` shaped by the current :class:`Scenario`, and keeps every
request it received (path, lower-cased headers, JSON body) for assertions. ``GET /health``,
``GET /v1/models`` and ``GET /metrics`` answer as the scenario says (for endpoint probes).

Fault modes: ``trickle_s`` (one byte at a time), ``hang`` (read the request, never answer),
``huge_chars`` (a response of that many characters), plus HTTP errors, drops and garbage;
:func:`closed_port` gives a port where nothing listens.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Scenario:
    """How the next responses behave.

    Attributes:
        tokens: the text of each content chunk, in order.
        first_token_delay_s: pause between reading the request and the first content chunk.
        token_delay_s: pause before each later content chunk.
        role_chunk: send an OpenAI-style role-only chunk first (no text: not a token).
        finish_reason: sent in a chunk of its own after the tokens; None sends none.
        usage: send a final ``usage`` chunk with empty ``choices``.
        timings: put llama-server's ``timings`` object in the finish chunk.
        done: end with ``data: [DONE]``.
        status: HTTP status; anything but 200 answers ``error_body`` as JSON.
        malformed_at: send broken JSON in place of this token's chunk (index into tokens).
        drop_after: close the connection, mid-body, after this many tokens.
        split: cut every event in two TCP writes, in the middle of its ``data:`` line.
        crlf: end lines with CRLF instead of LF.
        comments: send an SSE comment line before each event.
        prompt_tokens: reported in ``usage`` / ``timings``.
        close_delimited: answer ``Connection: close`` with a body that ends when the
            connection does, instead of a chunked one.
        hangup_next: after answering, read the next request on the same connection and
            close it unanswered (a server dropping an idle keep-alive connection).
        trickle_s: send the whole response one byte at a time, this many seconds apart.
        hang: read the request and never answer (until the server shuts down).
        huge_chars: replace ``tokens`` by text of this many characters, in 64 KiB chunks.
        health_status: status of ``GET /health``; models_status: of ``GET /v1/models``.
        metrics: body of ``GET /metrics`` (Prometheus text); None answers 404.
    """

    tokens: Sequence[str] = ("Hello", ",", " world", "!")
    first_token_delay_s: float = 0.0
    token_delay_s: float = 0.0
    role_chunk: bool = True
    finish_reason: str | None = "stop"
    usage: bool = True
    timings: bool = False
    done: bool = True
    status: int = 200
    error_body: str = '{"error": {"code": 500, "message": "boom"}}'
    malformed_at: int | None = None
    drop_after: int | None = None
    split: bool = False
    crlf: bool = False
    comments: bool = False
    prompt_tokens: int = 7
    close_delimited: bool = False
    hangup_next: bool = False
    trickle_s: float | None = None
    hang: bool = False
    huge_chars: int = 0
    health_status: int = 200
    models_status: int = 200
    metrics: str | None = None


@dataclass
class Received:
    """One request as the server read it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, read, closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Trickle:
    """A writer that sends every byte on its own, ``delay`` seconds apart."""

    def __init__(self, writer: asyncio.StreamWriter, delay: float) -> None:
        self._writer = writer
        self._delay = delay
        self._pending = b""

    def write(self, data: bytes) -> None:
        self._pending += data

    async def drain(self) -> None:
        data, self._pending = self._pending, b""
        for i in range(len(data)):
            self._writer.write(data[i : i + 1])
            await self._writer.drain()
            await asyncio.sleep(self._delay)


class _Dropped(Exception):
    """The scenario asked to close the connection mid-body."""


class FakeOpenAIServer:
    """Start with ``with FakeOpenAIServer() as srv:``; set ``srv.scenario`` at any time."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or Scenario()
        self.received: list[Received] = []
        self.connections = 0
        self.hangups = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        start = asyncio.start_server(self._handle, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        writers = list(self._writers)
        for writer in writers:  # hung or unread answers: drop them before the loop ends
            writer.transport.abort()
        await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        answered = False
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                if answered and self.scenario.hangup_next:
                    self.hangups += 1
                    return
                lines = head.decode("latin-1").split("\r\n")
                _method, path, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(Received(path, headers, json.loads(raw) if raw else {}))
                scenario = self.scenario
                try:
                    await self._respond(writer, path, scenario)
                except _Dropped:
                    return
                if scenario.close_delimited:
                    return
                answered = True
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _respond(self, writer: Any, path: str, sc: Scenario) -> None:
        if sc.hang:
            await asyncio.Event().wait()  # until cancelled at shutdown
        if sc.trickle_s is not None:
            writer = _Trickle(writer, sc.trickle_s)
        plain = {
            "/health": (sc.health_status, '{"status": "ok"}'),
            "/v1/models": (sc.models_status, '{"object": "list", "data": [{"id": "fake"}]}'),
        }
        if path == "/metrics" and sc.metrics is not None:
            plain["/metrics"] = (200, sc.metrics)
        if path in plain:
            status, text = plain[path]
            sc = Scenario(status=status, error_body=text if status == 200 else '{"error": 1}')
        elif path not in ("/v1/chat/completions", "/v1/completions"):
            sc = Scenario(status=404, error_body='{"error": {"message": "not found"}}')
        if sc.status != 200 or path in plain:
            body = sc.error_body.encode()
            writer.write(
                f"HTTP/1.1 {sc.status} {'OK' if sc.status == 200 else 'Error'}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return
        framing = b"Connection: close" if sc.close_delimited else b"Transfer-Encoding: chunked"
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n%s\r\n\r\n" % framing)
        chat = path == "/v1/chat/completions"
        eol = "\r\n" if sc.crlf else "\n"

        async def send(payload: str) -> None:
            event = (f": keep-alive{eol}" if sc.comments else "") + f"data: {payload}{eol}{eol}"
            data = event.encode()
            parts = [data[: data.index(b"data:") + 9], data[data.index(b"data:") + 9 :]]
            for part in parts if sc.split else [data]:
                writer.write(part if sc.close_delimited else b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
                if sc.split:
                    await asyncio.sleep(0.002)

        def chunk(text: str | None, finish: str | None = None, **more: Any) -> str:
            if chat:
                delta: dict[str, Any] = {} if text is None else {"content": text}
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
            else:
                choice = {"index": 0, "text": text or "", "finish_reason": finish}
            return json.dumps({"object": "chunk", "model": "fake", "choices": [choice], **more})

        if chat and sc.role_chunk:
            role = {"index": 0, "delta": {"role": "assistant", "content": None}}
            await send(json.dumps({"object": "chunk", "choices": [role]}))
        tokens = sc.tokens
        if sc.huge_chars:
            size = 65536
            tokens = ["x" * min(size, sc.huge_chars - i) for i in range(0, sc.huge_chars, size)]
        for i, token in enumerate(tokens):
            if sc.drop_after is not None and i >= sc.drop_after:
                await writer.drain()
                raise _Dropped
            delay = sc.first_token_delay_s if i == 0 else sc.token_delay_s
            if delay:
                await asyncio.sleep(delay)
            await send('{"choices": [{"delta": ' if i == sc.malformed_at else chunk(token))
        n = len(tokens)
        if sc.finish_reason is not None:
            timings = {"prompt_n": sc.prompt_tokens, "predicted_n": n}
            more = {"timings": timings} if sc.timings else {}
            await send(chunk(None, sc.finish_reason, **more))
        if sc.usage:
            usage = {"prompt_tokens": sc.prompt_tokens, "completion_tokens": n}
            usage["total_tokens"] = sc.prompt_tokens + n
            await send(json.dumps({"object": "chunk", "choices": [], "usage": usage}))
        if sc.done:
            await send("[DONE]")
        if not sc.close_delimited:
            writer.write(b"0\r\n\r\n")
        await writer.drain()

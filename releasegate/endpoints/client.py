"""Streaming client for OpenAI-compatible endpoints (llama-server, vLLM, Ollama's ``/v1``).

Owns one request's life: build the body, stream the response, and time what arrives. Every
outcome, failures included, comes back as a :class:`Completion`; the caller never sees an
exception for a failed request (only cancellation propagates).

Timing rules (see :class:`releasegate.records.Timing`): the clock starts when the request is
handed to the connection pool; TTFT is the arrival of the first chunk that carries generated
text (a role-only first chunk is not a token, the final usage chunk with empty ``choices`` is
not either); every text chunk's arrival is kept as an offset so inter-token latency can be
recomputed. Chunks that arrive in one network read share that read's arrival time.

Bounds: a request ends at ``deadline_s`` whatever the server does (``timeout_s`` only limits
each read, so a server trickling a byte at a time would hold a request for ever), and the
client keeps at most ``max_text_chars`` of generated text (1 Mi characters by default; what
scorers see), while counting the full length and a sha256 of the full text as it streams.
SSE lines longer than 4 MiB end the request with an error.

The hot path is kept lean so the harness is not the bottleneck: raw bytes are read, SSE is
parsed incrementally and only ``data:`` payloads go through the JSON decoder.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import httpx

from releasegate.endpoints.http1 import Http1Transport
from releasegate.endpoints.sse import DONE, EventTooLarge, SSEParser
from releasegate.records.model import Timing
from releasegate.redact import redact_text

try:  # optional, faster decoder; the standard one gives the same values
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    from json import loads as _loads

__all__ = ["Api", "Completion", "OpenAIClient"]

Api = Literal["chat", "completions"]

_ERROR_CHARS = 500
MAX_TEXT_CHARS = 1 << 20
"""Generated text kept per request (what scorers see); length and sha256 cover all of it."""
DEFAULT_DEADLINE_S = 300.0
_PATHS: dict[str, str] = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}
_perf = time.perf_counter
_wall = time.time


class Completion(NamedTuple):
    """One request's outcome: its timing and the generated text (empty when not kept).

    ``text`` holds at most the client's ``max_text_chars``; ``text_chars`` and
    ``text_sha256`` (of the UTF-8 text) cover the whole generated text when it was kept.
    """

    timing: Timing
    text: str
    text_chars: int = 0
    text_sha256: str | None = None


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


def _error_message(err: Any) -> str:
    if isinstance(err, Mapping):
        return str(err.get("message") or err)
    return str(err)


class OpenAIClient:
    """A pooled, streaming client for one endpoint and one model.

    Args:
        base_url: server root, e.g. ``http://127.0.0.1:8080`` (a trailing ``/v1`` is accepted).
        model: the ``model`` field sent with every request.
        api: ``"chat"`` for ``/v1/chat/completions``, ``"completions"`` for ``/v1/completions``.
        params: extra body fields sent with every request (``temperature``, ``seed``, …).
        api_key: sent only as ``Authorization: Bearer …``; never logged or stored elsewhere.
        timeout_s: limit for connecting, for each read and for waiting on the pool.
        deadline_s: limit on a whole request, from sending to the last byte (None: none).
        max_text_chars: generated text kept per request (see :data:`MAX_TEXT_CHARS`).
        max_connections: connection pool size; keep it at least the concurrency used.
        transport: an httpx transport to use instead of the default: for ``http://`` URLs
            :class:`~releasegate.endpoints.http1.Http1Transport` (httpx's own pool slows
            down with the square of the concurrency), for ``https://`` httpx's.

    One client belongs to one event loop; close it with :meth:`aclose` or ``async with``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api: Api = "chat",
        params: Mapping[str, Any] = {},  # noqa: B006 - read only, never mutated
        api_key: str | None = None,
        timeout_s: float = 120.0,
        deadline_s: float | None = DEFAULT_DEADLINE_S,
        max_text_chars: int = MAX_TEXT_CHARS,
        max_connections: int = 64,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if api not in _PATHS:
            raise ValueError(f"api must be 'chat' or 'completions', not {api!r}")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        root = base_url.rstrip("/")
        root = root.removesuffix("/v1")
        self.model = model
        self.api: Api = api
        self.max_connections = max_connections
        self.deadline_s = deadline_s
        self.max_text_chars = max_text_chars
        self._url = root + _PATHS[api]
        self._params = dict(params)
        # identity: the raw bytes read below are then the SSE bytes themselves
        headers = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if transport is None and root.startswith("http://"):
            transport = Http1Transport(max_connections, keepalive_expiry=4.0)
        elif transport is None:
            limits = httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            )
            transport = httpx.AsyncHTTPTransport(limits=limits, http1=True, http2=False)
        self._http = httpx.AsyncClient(
            transport=transport,
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
        )

    def __repr__(self) -> str:  # keeps the key out of any repr
        return f"OpenAIClient({self._url!r}, model={self.model!r})"

    async def __aenter__(self) -> OpenAIClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    def body(
        self,
        prompt: str,
        *,
        max_tokens: int,
        system: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON body :meth:`complete` sends (``params`` then ``extra`` override defaults)."""
        body: dict[str, Any] = {"model": self.model}
        if self.api == "chat":
            messages = [{"role": "user", "content": prompt}]
            if system is not None:
                messages.insert(0, {"role": "system", "content": system})
            body["messages"] = messages
        else:
            body["prompt"] = prompt if system is None else f"{system}\n\n{prompt}"
        body["max_tokens"] = max_tokens
        body.update(self._params)
        if extra:
            body.update(extra)
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        return body

    async def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        system: str | None = None,
        extra: Mapping[str, Any] | None = None,
        keep_text: bool = True,
        deadline_s: float | None = None,
    ) -> Completion:
        """Send one streamed request and time it.

        Args:
            prompt: the user message (chat) or the prompt (completions).
            max_tokens: the most tokens the server may generate.
            system: an optional system message (prepended to the prompt for completions).
            extra: per-request body fields, e.g. ``{"ignore_eos": True}`` for llama-server.
            keep_text: keep the generated text; load workloads pass False to save work.
            deadline_s: a tighter limit on this request than the client's ``deadline_s``
                (e.g. what is left of a workload's budget).

        Returns:
            The timing (with ``error`` set on any failure) and the generated text.
        """
        body = self.body(prompt, max_tokens=max_tokens, system=system, extra=extra)
        started_at = _wall()
        t0 = _perf()
        state = _Stream(self.api == "chat", self.max_text_chars if keep_text else -1)
        limits = [d for d in (self.deadline_s, deadline_s) if d is not None]
        deadline = min(limits) if limits else None
        try:
            async with asyncio.timeout(deadline):
                error = await self._exchange(body, state, t0)
        except TimeoutError:
            error = f"deadline: no complete response within {deadline:g} s"
        status = state.status
        e2e = _perf() - t0
        if error is None and status == 200 and not state.done and state.finish is None:
            error = "stream ended early"
        offsets = state.offsets
        timing = Timing(
            started_at=started_at,
            ttft_s=offsets[0] if offsets else None,
            e2e_s=e2e,
            chunk_offsets_s=offsets,
            prompt_tokens=state.prompt_tokens,
            completion_tokens=state.completion_tokens,
            finish_reason=state.finish,
            status=status,
            error=_clip(redact_text(error)) if error is not None else None,
        )
        digest = state.digest.hexdigest() if state.digest is not None else None
        return Completion(timing, "".join(state.text), state.chars, digest)

    async def _exchange(self, body: dict[str, Any], state: _Stream, t0: float) -> str | None:
        """Send and read one request into ``state`` (status included); the error, if any."""
        error: str | None = None
        try:
            async with self._http.stream("POST", self._url, json=body) as resp:
                status = state.status = resp.status_code
                if status != 200:
                    raw = b""
                    async for chunk in resp.aiter_raw():  # enough for the message, no more
                        raw += chunk
                        if len(raw) >= 4 * _ERROR_CHARS:
                            break
                    detail = _clip(raw.decode("utf-8", "replace")) or resp.reason_phrase
                    error = f"HTTP {status}: {detail}"
                else:
                    parser = SSEParser()
                    feed = parser.feed
                    handle = state.handle
                    try:
                        async for chunk in resp.aiter_raw():
                            if handle(feed(chunk), _perf() - t0):
                                break
                        else:
                            handle(parser.flush(), _perf() - t0)
                    except EventTooLarge as exc:
                        state.error = f"oversized stream event: {exc}"
                    error = state.error
        except httpx.TimeoutException as exc:
            error = f"timeout: {type(exc).__name__}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except OSError as exc:  # pragma: no cover - httpx maps these; kept as a net
            error = f"{type(exc).__name__}: {exc}"
        return error


class _Stream:
    """What has been read of one response's events so far."""

    __slots__ = (
        "status",
        "chat",
        "keep",
        "room",
        "chars",
        "digest",
        "offsets",
        "text",
        "finish",
        "done",
        "error",
        "prompt_tokens",
        "completion_tokens",
    )

    def __init__(self, chat: bool, keep_chars: int) -> None:
        """``keep_chars``: text to keep (its length and hash are counted); < 0 keeps none."""
        self.status: int | None = None
        self.chat = chat
        self.keep = keep_chars >= 0
        self.room = keep_chars  # characters still to keep
        self.chars = 0
        self.digest = hashlib.sha256() if self.keep else None
        self.offsets: list[float] = []
        self.text: list[str] = []
        self.finish: str | None = None
        self.done = False
        self.error: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None

    def handle(self, payloads: list[bytes], offset: float) -> bool:
        """Take the payloads of one network read; True on an error that ends the read.

        After ``[DONE]`` the rest is ignored, but the caller keeps reading to the end of the
        body so the connection goes back to the pool.
        """
        for payload in payloads:
            if self.done:
                return False
            if payload == DONE:
                self.done = True
                continue
            try:
                event = _loads(payload)
            except ValueError:
                self.error = _clip(f"malformed JSON in stream: {payload[:200]!r}")
                return True
            if not isinstance(event, dict):
                self.error = _clip(f"unexpected event in stream: {payload[:200]!r}")
                return True
            if "error" in event:
                self.error = _clip(f"server error in stream: {_error_message(event['error'])}")
                return True
            choices = event.get("choices")
            if choices:
                choice = choices[0]
                if self.chat:
                    delta = choice.get("delta") or {}
                    text = delta.get("content")
                    generated = text or delta.get("reasoning_content")
                else:
                    generated = text = choice.get("text")
                if generated:
                    self.offsets.append(offset)
                    if text and self.keep:
                        self._keep(text)
                reason = choice.get("finish_reason")
                if reason:
                    self.finish = reason
            usage = event.get("usage")
            if usage:
                self.prompt_tokens = usage.get("prompt_tokens", self.prompt_tokens)
                self.completion_tokens = usage.get("completion_tokens", self.completion_tokens)
            elif self.completion_tokens is None and "timings" in event:
                timings = event["timings"] or {}
                self.prompt_tokens = timings.get("prompt_n")
                self.completion_tokens = timings.get("predicted_n")
        return False

    def _keep(self, text: str) -> None:
        self.chars += len(text)
        self.digest.update(text.encode("utf-8", "surrogatepass"))  # type: ignore[union-attr]
        if self.room > 0:
            part = text if len(text) <= self.room else text[: self.room]
            self.text.append(part)
            self.room -= len(part)

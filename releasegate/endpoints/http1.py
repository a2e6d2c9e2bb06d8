"""A lean HTTP/1.1 transport for httpx, for plain-``http`` endpoints under heavy concurrency.

httpx's default pool (httpcore) scans every pooled connection, with a ``poll`` syscall each, on
every request it assigns: at 64 connections that costs milliseconds per request and the load
generator, not the server, sets the pace. This transport keeps idle connections in a stack per
origin, bounds the total with a semaphore, and lets ``h11`` (httpx's own HTTP/1.1 state
machine) do the protocol, over plain asyncio streams. Body bytes are handed on as soon as they
are read, so chunk arrival times stay honest.

It speaks ``http://`` only; :class:`~releasegate.endpoints.client.OpenAIClient` uses httpx's
default transport for ``https://``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import h11
import httpx

__all__ = ["Http1Transport"]

_READ = 65536


class _Stale(httpx.RemoteProtocolError):
    """The connection was gone before any byte of the response arrived."""


class _Conn:
    __slots__ = ("reader", "writer", "h11", "key", "idle_since")

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: tuple[str, int]
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=1 << 20)
        self.key = key
        self.idle_since = 0.0

    def usable(self, now: float, expiry: float) -> bool:
        return (
            now - self.idle_since < expiry
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        self.writer.close()


class Http1Transport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connections to ``http://`` origins.

    Args:
        max_connections: the most connections open at once, over all origins.
        keepalive_expiry: idle connections older than this many seconds are not reused.
    """

    def __init__(self, max_connections: int = 64, keepalive_expiry: float = 5.0) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple[str, int], list[_Conn]] = {}
        self._expiry = keepalive_expiry
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"Http1Transport speaks http only: {url}")
        timeout = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeout.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection in time", request=request) from None
        try:
            return await self._send(request, (url.host, url.port or 80), timeout)
        except BaseException:
            self._slots.release()
            raise

    async def _send(
        self, request: httpx.Request, key: tuple[str, int], timeout: dict[str, float | None]
    ) -> httpx.Response:
        target = request.url.raw_path
        headers = [(k, v) for k, v in request.headers.raw]
        body = await request.aread()  # already read when the client built it from json=
        for attempt in (0, 1):
            conn = self._take(key)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(request, key, timeout.get("connect"))
            try:
                event = await self._exchange(conn, request, target, headers, body, timeout)
            except _Stale:
                conn.close()
                if reused and attempt == 0:  # the server had just dropped it: once more, fresh
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            stream = _Body(self, conn, request, timeout.get("read"))
            return httpx.Response(
                event.status_code,
                headers=event.headers,
                stream=stream,
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": event.reason},
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(
        self,
        conn: _Conn,
        request: httpx.Request,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeout: dict[str, float | None],
    ) -> h11.Response:
        h = conn.h11
        try:
            data = h.send(h11.Request(method=request.method, target=target, headers=headers))
            data += h.send(h11.Data(data=body)) if body else b""
            data += h.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        try:
            conn.writer.write(data)
            async with asyncio.timeout(timeout.get("write")):
                await conn.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout(
                "the server did not take the request", request=request
            ) from None
        except OSError as exc:
            raise _Stale(f"write failed: {exc}", request=request) from exc
        read_timeout = timeout.get("read")
        nothing_read = True
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc
            if event is h11.NEED_DATA:
                try:
                    chunk = await _read(conn, request, read_timeout)
                except httpx.ReadError as exc:
                    if nothing_read:
                        raise _Stale(str(exc), request=request) from exc
                    raise
                if not chunk and nothing_read:
                    raise _Stale("server closed the connection without answering", request=request)
                nothing_read = False
                h.receive_data(chunk)
                continue
            if isinstance(event, h11.Response):
                return event
            # h11.InformationalResponse (1xx): keep reading

    def _take(self, key: tuple[str, int]) -> _Conn | None:
        stack = self._idle.get(key)
        now = time.monotonic()
        while stack:
            conn = stack.pop()
            if conn.usable(now, self._expiry):
                return conn
            conn.close()
        return None

    async def _connect(
        self, request: httpx.Request, key: tuple[str, int], connect_timeout: float | None
    ) -> _Conn:
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(*key, limit=_READ)
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"connecting to {key[0]}:{key[1]}", request=request
            ) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        return _Conn(reader, writer, key)

    def _release(self, conn: _Conn, reusable: bool) -> None:
        if reusable and not self._closed:
            conn.h11.start_next_cycle()
            conn.idle_since = time.monotonic()
            self._idle.setdefault(conn.key, []).append(conn)
        else:
            conn.close()
        self._slots.release()

    async def aclose(self) -> None:
        self._closed = True
        conns = [conn for stack in self._idle.values() for conn in stack]
        self._idle.clear()
        for conn in conns:
            conn.close()
        await asyncio.gather(*(c.writer.wait_closed() for c in conns), return_exceptions=True)


async def _read(conn: _Conn, request: httpx.Request, read_timeout: float | None) -> bytes:
    try:
        async with asyncio.timeout(read_timeout):
            return await conn.reader.read(_READ)
    except TimeoutError:
        raise httpx.ReadTimeout("no data from the server in time", request=request) from None
    except OSError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc


class _Body(httpx.AsyncByteStream):
    """A response body, passed on as read; the connection goes back to the pool at the end."""

    def __init__(
        self, pool: Http1Transport, conn: _Conn, request: httpx.Request, timeout: float | None
    ) -> None:
        self._pool = pool
        self._conn: _Conn | None = conn
        self._request = request
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        h = conn.h11
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=self._request) from exc
            if event is h11.NEED_DATA:
                h.receive_data(await _read(conn, self._request, self._timeout))
            elif type(event) is h11.Data:
                yield event.data
            elif type(event) is h11.EndOfMessage:
                self._done(reusable=h.our_state is h11.DONE and h.their_state is h11.DONE)
                return

    def _done(self, reusable: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._release(conn, reusable)

    async def aclose(self) -> None:
        self._done(reusable=False)  # a body not read to its end leaves the connection unusable

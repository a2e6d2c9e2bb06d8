"""Incremental parser for ``text/event-stream`` bytes, as they arrive from the network.

Owns only the wire format: lines ending in LF, CRLF or CR (a CRLF split across two network
chunks included), ``:`` comments, multi-line ``data:`` fields joined with ``\\n``, and blank
lines that dispatch an event. Other fields (``event``, ``id``, ``retry``) are ignored: the
OpenAI-compatible streams this project reads carry everything in ``data``. Payloads come back
as ``bytes`` so that ``json.loads`` can take them without a decode step; ``[DONE]`` is a
payload like any other (see :data:`DONE`).
"""

from __future__ import annotations

DONE = b"[DONE]"
"""The payload that ends an OpenAI-compatible stream."""

_LF = b"\n"
_CR = b"\r"
MAX_LINE_BYTES = 4 << 20
"""The longest line kept waiting for its end (an OpenAI chunk event is well under 1 KiB)."""


class EventTooLarge(ValueError):
    """A line grew past ``max_line`` bytes without ending: the stream is not sane."""


class SSEParser:
    """Feed it network chunks; it returns the ``data`` payloads of the events they complete.

    Example:
        >>> p = SSEParser()
        >>> p.feed(b'data: {"a"')
        []
        >>> p.feed(b": 1}\\n\\ndata: [DONE]\\n\\n")
        [b'{"a": 1}', b'[DONE]']
    """

    __slots__ = ("_tail", "_data", "_skip_lf", "max_line")

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._tail = b""  # an unfinished line
        self._data: list[bytes] = []  # data lines of the event being read
        self._skip_lf = False  # the last chunk ended in CR: a leading LF belongs to it

    def feed(self, chunk: bytes) -> list[bytes]:
        """Parse one network chunk.

        Args:
            chunk: the next bytes of the stream, cut anywhere.

        Returns:
            The data payloads of every event this chunk completed, in order (often empty).

        Raises:
            EventTooLarge: an unfinished line holds more than ``max_line`` bytes.
        """
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == _LF:
                chunk = chunk[1:]
        if _CR in chunk:
            self._skip_lf = chunk[-1:] == _CR
            chunk = chunk.replace(b"\r\n", _LF).replace(_CR, _LF)
        if _LF not in chunk:
            self._tail += chunk
            if len(self._tail) > self.max_line:
                raise EventTooLarge(f"an SSE line grew past {self.max_line} bytes")
            return []
        if self._tail:
            chunk = self._tail + chunk
        lines = chunk.split(_LF)
        self._tail = lines.pop()
        if len(self._tail) > self.max_line:
            raise EventTooLarge(f"an SSE line grew past {self.max_line} bytes")
        return self._lines(lines)

    def flush(self) -> list[bytes]:
        """End of stream: return what a lenient reader would still make of the last bytes.

        Strictly, an event not closed by a blank line is dropped; servers that close the
        connection right after their last ``data:`` line are common enough to accept it.
        """
        lines = [self._tail, b""] if self._tail else [b""]
        self._tail = b""
        self._skip_lf = False
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else _LF.join(data))
                    data = self._data = []
                continue
            if line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value[:1] == b" " else value)
            elif line == b"data":
                data.append(b"")
            # comments (":…") and other fields are ignored
        return events

"""The incremental SSE parser: events must not depend on where the network cut the bytes."""

from __future__ import annotations

import random

import pytest

from releasegate.endpoints.sse import DONE, SSEParser

STREAM = (
    b": ping\n"
    b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n'
    b"event: message\nid: 3\nretry: 100\n"
    b'data: {"choices": [{"delta": {"content": "a\\nb"}}]}\n\n'
    b"data: first line\ndata: second line\ndata\n\n"
    b"data:no-space\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    b'{"choices": [{"delta": {"role": "assistant"}}]}',
    b'{"choices": [{"delta": {"content": "a\\nb"}}]}',
    b"first line\nsecond line\n",
    b"no-space",
    DONE,
]


def feed_all(parser: SSEParser, pieces: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for piece in pieces:
        out.extend(parser.feed(piece))
    return out


def test_whole_stream_in_one_chunk() -> None:
    assert feed_all(SSEParser(), [STREAM]) == EXPECTED


@pytest.mark.parametrize("eol", [b"\r\n", b"\r"])
def test_crlf_and_cr_line_endings(eol: bytes) -> None:
    stream = STREAM.replace(b"\n", eol)
    assert feed_all(SSEParser(), [stream]) == EXPECTED
    # one byte at a time puts every CR and its LF in different chunks
    assert feed_all(SSEParser(), [stream[i : i + 1] for i in range(len(stream))]) == EXPECTED


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_every_two_way_split(eol: bytes) -> None:
    stream = STREAM.replace(b"\n", eol)
    for cut in range(len(stream) + 1):
        assert feed_all(SSEParser(), [stream[:cut], stream[cut:]]) == EXPECTED, cut


def test_random_splits() -> None:
    rng = random.Random(7)
    stream = STREAM.replace(b"\n", b"\r\n") + STREAM
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(stream)), rng.randint(1, 20)))
        pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert feed_all(SSEParser(), pieces) == EXPECTED + EXPECTED


def test_event_waits_for_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: x\n") == []
    assert parser.feed(b"\n") == [b"x"]


def test_comments_and_blank_lines_alone_make_no_event() -> None:
    assert feed_all(SSEParser(), [b": one\n\n\n: two\r\n\r\n"]) == []


def test_flush_accepts_an_unterminated_last_event() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n\ndata: [DONE]") == [b"a"]
    assert parser.flush() == [DONE]
    assert parser.flush() == []


def test_flush_of_a_complete_stream_adds_nothing() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n\n") == [b"a"]
    assert parser.flush() == []

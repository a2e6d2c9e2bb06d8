"""Credentials in URLs are masked wherever releasegate writes a URL."""

from __future__ import annotations

import pytest

from releasegate.redact import redact_obj, redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://user:secret@127.0.0.1:8000/", "http://***@127.0.0.1:8000/"),
        ("https://token@host/v1", "https://***@host/v1"),
        ("http://host:80/v1?api_key=s&x=1", "http://host:80/v1?api_key=***&x=1"),
        (
            "http://h/?token=a&access_token=b&apiKey=c",
            "http://h/?token=***&access_token=***&apiKey=***",
        ),
        ("http://h/?keyboard=1&monkey=2", "http://h/?keyboard=1&monkey=2"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://u:p@h/p?password=x#frag", "http://***@h/p?password=***#frag"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_keeps_nothing_of_an_unparsable_url() -> None:
    assert redact_url("http://[::1") == "***"


def test_redact_text_masks_every_url_in_a_message() -> None:
    text = "ConnectError: http://a:s1@h:1/x failed; retried 'https://b:s2@g/?key=s3'"
    out = redact_text(text)
    assert out == "ConnectError: http://***@h:1/x failed; retried 'https://***@g/?key=***'"
    assert redact_text("no url here: a@b") == "no url here: a@b"


def test_redact_obj_walks_nested_values() -> None:
    value = {"server": {"url": "http://u:s@h/"}, "list": ["http://x:y@z", 3, None], "n": 1.5}
    assert redact_obj(value) == {
        "server": {"url": "http://***@h/"},
        "list": ["http://***@z", 3, None],
        "n": 1.5,
    }

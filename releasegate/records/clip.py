"""Bound the text a record stores, keeping its full length and a sha256 of all of it."""

from __future__ import annotations

import hashlib

STORED_CHARS = 16 * 1024
"""Characters of a prompt or model output kept in a record (result.json and reports too)."""


def text_sha256(text: str) -> str:
    """Hex sha256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def bounded(
    text: str, chars: int | None = None, sha256: str | None = None, limit: int = STORED_CHARS
) -> tuple[str, int | None, str | None]:
    """``text`` cut to ``limit`` characters, with the full length and sha256 when cut.

    ``chars``/``sha256`` describe the full text when ``text`` is already a prefix of it (the
    client counts and hashes a response as it streams); otherwise they are computed here.
    An uncut text returns ``(text, None, None)``: it is its own length and hash.
    """
    full = chars if chars is not None else len(text)
    if full <= limit and len(text) == full:
        return text, None, None
    digest = sha256 if sha256 is not None and chars is not None else text_sha256(text)
    return text[:limit], full, digest

"""Keep credentials out of everything releasegate writes: records, result.json, reports.

A URL may carry a secret in its user-info (``http://user:secret@host/``) or in its query
string (``?api_key=…``, ``&token=…``). :func:`redact_url` masks both; :func:`redact_text`
does the same to every URL inside a free text (an error message), and :func:`redact_obj`
to every string of a JSON-like structure (a suite dump, an environment fingerprint).
The API key named by ``api_key_env`` is never written at all, so it needs no masking.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_PARAMS = re.compile(
    r"(?:^|[_-])(?:api[_-]?key|key|token|access[_-]?token|secret|password|passwd|pass|pwd"
    r"|auth|authorization|sig|signature|credential|credentials|session)$",
    re.IGNORECASE,
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{}]+")


def _is_secret(name: str) -> bool:
    return bool(SECRET_PARAMS.search(name))


def redact_url(url: str) -> str:
    """``url`` with its user-info and secret-looking query values replaced by ``***``.

    Example:
        >>> redact_url("http://user:pw@host:8000/v1?api_key=k&x=1")
        'http://***@host:8000/v1?api_key=***&x=1'
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return MASK  # unparsable: keep nothing of it
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_secret(k) for k, _ in pairs):
            masked = [(k, MASK if _is_secret(k) else v) for k, v in pairs]
            query = urlencode(masked, safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (cheap when there is none)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def redact_obj(value: Any) -> Any:
    """A copy of a JSON-like value with every string redacted by :func:`redact_text`."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_obj(v) for v in value]
    return value

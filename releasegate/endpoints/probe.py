"""Check that an endpoint someone else runs answers before a run is spent on it.

In url mode nothing was launched, so nothing has waited for the endpoint: a closed port or a
wrong URL would otherwise run the whole plan as error records. The probe tries, in order,
``GET health_path`` (200), ``GET /v1/models`` (200), and one tiny request (``max_tokens: 1``);
the first that answers settles it. A refused or timed-out connection ends the probe at once.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from releasegate.endpoints.client import OpenAIClient
from releasegate.errors import EndpointError
from releasegate.redact import redact_text, redact_url

PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProbeResult:
    """What answered: ``health``, ``models`` or ``completion`` (None: nothing did)."""

    url: str
    answered: str | None
    status: int | None
    elapsed_s: float
    tried: list[str] = field(default_factory=list)

    def as_detail(self) -> dict[str, Any]:
        """The ``probe`` event's detail (URLs already redacted)."""
        return asdict(self)


def _root(base_url: str) -> str:
    return base_url.rstrip("/").removesuffix("/v1")


async def probe_endpoint(
    base_url: str,
    client: OpenAIClient,
    *,
    health_path: str = "/health",
    api_key: str | None = None,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> ProbeResult:
    """Find out whether ``base_url`` serves the API; never raises (see :func:`require`)."""
    root = _root(base_url)
    shown = redact_url(base_url)
    started = time.perf_counter()
    tried: list[str] = []

    def result(answered: str | None, status: int | None) -> ProbeResult:
        elapsed = round(time.perf_counter() - started, 4)
        return ProbeResult(shown, answered, status, elapsed, tried)

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    health = health_path if health_path.startswith("/") else "/" + health_path
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s), headers=headers, trust_env=False
    ) as http:
        for name, path in (("health", health), ("models", "/v1/models")):
            try:
                resp = await http.get(root + path)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
                tried.append(f"GET {path}: {type(exc).__name__}: {redact_text(str(exc))}")
                return result(None, None)  # nothing listens there: the rest would fail too
            except httpx.HTTPError as exc:
                tried.append(f"GET {path}: {type(exc).__name__}")
                continue
            tried.append(f"GET {path}: HTTP {resp.status_code}")
            if resp.status_code == 200:
                return result(name, 200)
    timing = (await client.complete("ping", max_tokens=1, keep_text=False)).timing
    if timing.status == 200 and timing.error is None:
        tried.append("POST completion (max_tokens 1): HTTP 200")
        return result("completion", 200)
    tried.append(f"POST completion (max_tokens 1): {timing.error or f'HTTP {timing.status}'}")
    return result(None, timing.status)


def require(arm: str, probe: ProbeResult) -> None:
    """Raise EndpointError (exit 4) naming the arm and URL when nothing answered."""
    if probe.answered is None:
        raise EndpointError(
            f"{arm} endpoint {probe.url} does not answer: " + "; ".join(probe.tried)
        )

"""Scrape a server's Prometheus ``/metrics`` and read queue depth / in-flight requests from it.

Understands llama-server (``llamacpp:*``) and vLLM (``vllm:*``) names. A missing, unreachable
or unparsable endpoint yields None: metrics are optional evidence, never a reason to fail a run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from releasegate.records.views import RunRecords

log = logging.getLogger(__name__)

RSS_NAME = "process_resident_memory_bytes"
"""prometheus_client's process collector (vLLM and other Python servers); not llama-server."""
QUEUE_DEPTH_NAMES = ("llamacpp:requests_deferred", "vllm:num_requests_waiting")
IN_FLIGHT_NAMES = ("llamacpp:requests_processing", "vllm:num_requests_running")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample_key(name: str, labels: dict[str, str]) -> str:
    """Render a sample as ``name`` or ``name{k="v",...}`` (labels sorted by key)."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def parse_metrics(text: str) -> dict[str, float] | None:
    """Flatten a Prometheus text exposition into ``{sample key: value}``; None if unparsable."""
    out: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[sample_key(sample.name, sample.labels)] = float(sample.value)
    except Exception as exc:  # the parser raises assorted types for malformed input
        log.debug("unparsable metrics body: %s", exc)
        return None
    return out


async def scrape_metrics(client: httpx.AsyncClient, url: str) -> dict[str, float] | None:
    """GET ``url`` and parse it; None when absent (404 or any non-200), unreachable or garbled."""
    try:
        resp = await client.get(url)
    except httpx.HTTPError as exc:
        log.debug("metrics scrape of %s failed: %s", url, exc)
        return None
    if resp.status_code != 200:
        return None
    return parse_metrics(resp.text)


def metric_sum(metrics: dict[str, float] | None, name: str) -> float | None:
    """Sum every sample called ``name`` (with any labels); None when there is none."""
    if not metrics:
        return None
    prefix = name + "{"
    values = [v for k, v in metrics.items() if k == name or k.startswith(prefix)]
    return sum(values) if values else None


def _first(metrics: dict[str, float] | None, names: tuple[str, ...]) -> float | None:
    for name in names:
        value = metric_sum(metrics, name)
        if value is not None:
            return value
    return None


def queue_depth(metrics: dict[str, float] | None) -> float | None:
    """Requests waiting for a slot (llama-server deferred / vLLM waiting), or None if unknown."""
    return _first(metrics, QUEUE_DEPTH_NAMES)


def in_flight(metrics: dict[str, float] | None) -> float | None:
    """Requests being processed (llama-server processing / vLLM running), or None if unknown."""
    return _first(metrics, IN_FLIGHT_NAMES)


class ScrapedMemory:
    """Peak and last ``process_resident_memory_bytes`` over the scrapes of one load round.

    For an endpoint releasegate did not launch, this is the only memory it can see; the
    values it gives have the keys of the launched-process sampler's ``memory`` probe.
    """

    def __init__(self) -> None:
        self.peak: float | None = None
        self.last: float | None = None

    def observe(self, metrics: dict[str, float] | None) -> None:
        value = metric_sum(metrics, RSS_NAME)
        if value is not None:
            self.last = value
            self.peak = value if self.peak is None else max(self.peak, value)

    def values(self) -> dict[str, float] | None:
        """``{"peak_rss", "last_rss"}`` in bytes, or None when no scrape carried the metric."""
        if self.peak is None or self.last is None:
            return None
        return {"peak_rss": self.peak, "last_rss": self.last}


def memory_unknown_reason(run: RunRecords) -> str | None:
    """Why an arm reached in url mode has no ``memory`` probe; None when none is missing."""
    reasons = []
    for arm in ("candidate", "incumbent"):
        connected = any(e.arm == arm and e.event == "connected" for e in run.events)
        if not connected or any(p.arm == arm and p.probe == "memory" for p in run.probes):
            continue
        reasons.append(
            f"{arm}: releasegate did not launch its endpoint and no scrape of its /metrics "
            f"carried {RSS_NAME}"
        )
    return "peak memory unknown (" + "; ".join(reasons) + ")" if reasons else None

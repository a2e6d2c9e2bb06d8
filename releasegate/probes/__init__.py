"""Probes observing a running server from outside: process memory and Prometheus metrics."""

from __future__ import annotations

from releasegate.probes.memory import MemorySampler
from releasegate.probes.metrics import (
    in_flight,
    metric_sum,
    parse_metrics,
    queue_depth,
    scrape_metrics,
)

__all__ = [
    "MemorySampler",
    "in_flight",
    "metric_sum",
    "parse_metrics",
    "queue_depth",
    "scrape_metrics",
]

"""The Prometheus text of ``GET /metrics``: every process's counts plus the model gauges."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from service.metrics.multiprocess import enabled


def render(*collectors: Collector) -> bytes:
    """Merged metrics of all processes (or this one's), then ``collectors`` read now."""
    if enabled():
        shared = CollectorRegistry()
        MultiProcessCollector(shared)
        text = generate_latest(shared)
    else:
        text = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    for collector in collectors:
        extra.register(collector)
    return text + generate_latest(extra)

"""``GET /metrics``: Prometheus text of all workers, the trainer and the model gauges."""

from __future__ import annotations

import falcon
from prometheus_client import CONTENT_TYPE_LATEST

from service.metrics.exposition import render
from service.metrics.model_collector import ModelCollector


class MetricsResource:
    """Renders the metrics.

    Args:
        collector: The per-tenant model gauges.
    """

    def __init__(self, collector: ModelCollector) -> None:
        self._collector = collector

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = render(self._collector)

"""Per-tenant model gauges, read from the served manifests at scrape time.

The worker answering ``/metrics`` reports what its :class:`ModelHolder` serves (all
workers serve the same store): version and backend as labels of an info gauge,
age, validation NDCG@10 of the served model and of popularity, whether trained,
and how many versions the store keeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from mlcore.interfaces import ModelStore
from mlcore.serving.tenant_model import TenantModel
from service.model_summary import ModelSummary


class ModelCollector:
    """A prometheus_client collector over the current models.

    Args:
        models: The served tenant -> model mapping (``ModelHolder.models``).
        store: The model store, for the kept versions.
        clock: Unix time, for the age.
    """

    def __init__(
        self,
        models: Callable[[], Mapping[str, TenantModel]],
        store: ModelStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._models = models
        self._store = store
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "mlservice_model_info",
            "The served model of each tenant (value 1)",
            labels=["tenant", "version", "backend", "algorithm"],
        )
        trained = GaugeMetricFamily(
            "mlservice_model_trained", "1 when the tenant's model has arrays", labels=["tenant"]
        )
        age = GaugeMetricFamily(
            "mlservice_model_age_seconds", "Seconds since the model was trained", labels=["tenant"]
        )
        ndcg = GaugeMetricFamily(
            "mlservice_model_validation_ndcg",
            "Validation NDCG@10 on the temporal split: served model and popularity",
            labels=["tenant", "model"],
        )
        kept = GaugeMetricFamily(
            "mlservice_model_versions_kept", "Versions kept by the store", labels=["tenant"]
        )
        for tenant, model in sorted(self._models().items()):
            summary = ModelSummary.of(model)
            info.add_metric([tenant, summary.version, summary.backend, summary.algorithm], 1)
            trained.add_metric([tenant], 1 if summary.trained else 0)
            if summary.trained_at is not None:
                age.add_metric([tenant], max(0.0, self._clock() - summary.trained_at))
            for label, value in (
                ("served", summary.served_ndcg),
                ("popularity", summary.popularity_ndcg),
            ):
                if value is not None:
                    ndcg.add_metric([tenant, label], value)
            kept.add_metric([tenant], len(self._kept(tenant)))
        yield from (info, trained, age, ndcg, kept)

    def _kept(self, tenant: str) -> list[str]:
        try:
            return self._store.versions(tenant)
        except Exception:  # noqa: BLE001 - a scrape must not fail on a store hiccup
            return []

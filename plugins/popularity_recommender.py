"""Recommender plugin ``popularity``: most-interacted items, per tenant and item type.

The class is the core's baseline (:class:`mlcore.training.baseline.PopularityRecommender`),
which the trainer also uses as its promotion gate; this plugin makes it selectable
as ``ML_RECOMMENDER=popularity``. It is also the smallest complete plugin: frozen
options, a factory and one record.
"""

from __future__ import annotations

from mlcore import RecommenderRecord, Settings, hookimpl
from mlcore.training.baseline import BASELINE, PopularityOptions, PopularityRecommender


def _make(*, options: PopularityOptions, settings: Settings | None = None) -> PopularityRecommender:
    return PopularityRecommender(options)


@hookimpl
def mlcore_recommenders() -> list[RecommenderRecord]:
    return [
        RecommenderRecord(
            name=BASELINE,
            factory=_make,
            options_type=PopularityOptions,
            description="Most-interacted items per tenant and item type (baseline and fallback)",
        )
    ]

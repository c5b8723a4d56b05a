"""Recommender plugin ``popularity``: most-interacted items, per tenant and item type.

The baseline every other backend is measured against, and the model the trainer
promotes when a learned model does not beat it. Scores are each item's share of
the tenant's interactions; serving filters by item type and excludes the user's
positive items like any other backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from mlcore.config import Settings
from mlcore.dataset import Dataset
from mlcore.errors import NotFittedError
from mlcore.hookspecs import hookimpl
from mlcore.interfaces import ServingArrays
from mlcore.plugin_records import PluginRecord


@dataclass(frozen=True)
class PopularityOptions:
    """Options of the ``popularity`` recommender.

    Attributes:
        weighted: Count ``rating + 1`` per interaction instead of 1, so repeated
            interactions (rating 1) weigh double.
    """

    weighted: bool = False


class PopularityRecommender:
    """Ranks items by interaction count; the same list for every user of a type."""

    def __init__(self, options: PopularityOptions) -> None:
        self.options = options

    def fit(self, dataset: Dataset) -> Self:
        matrix = dataset.weights if self.options.weighted else dataset.interactions
        counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float64)
        total = counts.sum() or 1.0
        self.item_scores_ = (counts / total).astype(np.float32)
        self.n_users_ = dataset.n_users
        return self

    def export(self) -> ServingArrays:
        if not hasattr(self, "item_scores_"):
            raise NotFittedError("popularity recommender used before fit()")
        return ServingArrays(
            kind="factors",
            user_factors=np.zeros((self.n_users_, 1), dtype=np.float32),
            user_bias=np.zeros(self.n_users_, dtype=np.float32),
            item_factors=np.zeros((self.item_scores_.shape[0], 1), dtype=np.float32),
            item_bias=self.item_scores_.copy(),
        )

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": "popularity",
            "algorithm": "popularity",
            "weighted": self.options.weighted,
        }


def _make(*, options: PopularityOptions, settings: Settings | None = None) -> PopularityRecommender:
    return PopularityRecommender(options)


@hookimpl
def mlcore_recommenders() -> list[PluginRecord]:
    return [
        PluginRecord(
            name="popularity",
            factory=_make,
            options_type=PopularityOptions,
            description="Most-interacted items per tenant and item type (baseline and fallback)",
        )
    ]

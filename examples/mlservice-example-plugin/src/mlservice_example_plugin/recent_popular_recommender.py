"""Recommender plugin ``recent-popular``: popularity with exponential time decay.

Each interaction counts ``0.5 ** (age / half_life)``, where ``age`` is measured
from the tenant's newest interaction (so the same data always gives the same
model, whenever training runs). Trending items outrank items that were popular
long ago; everybody gets the same list per item type, minus their own positives.

It satisfies :class:`mlcore.Recommender` and exports ``"factors"``
serving arrays (the scores are the item biases; the factors are one zero column),
which every mlservice model store and web worker understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Self

import numpy as np

from mlcore import (
    ConfigError,
    Dataset,
    NotFittedError,
    RecommenderRecord,
    ServingArrays,
    Settings,
    hookimpl,
)

DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class RecentPopularOptions:
    """Options of ``recent-popular``.

    Attributes:
        half_life_days: An interaction this many days older than the newest counts half.
        weighted: Count ``rating + 1`` per interaction instead of 1.
    """

    half_life_days: float = 14.0
    weighted: bool = False


class RecentPopularRecommender:
    """Time-decayed item popularity; no work in ``__init__``, ``fit`` returns ``self``."""

    def __init__(self, options: RecentPopularOptions) -> None:
        self.options = options

    def fit(self, dataset: Dataset) -> Self:
        ages = (dataset.timestamps.max(initial=0) - dataset.timestamps) / DAY_SECONDS
        decay = np.power(0.5, ages / self.options.half_life_days)
        if self.options.weighted:
            decay = decay * (dataset.ratings.astype(np.float64) + 1.0)
        scores = np.bincount(dataset.item_index, weights=decay, minlength=dataset.n_items)
        self.item_scores_ = (scores / (scores.sum() or 1.0)).astype(np.float32)
        self.n_users_ = dataset.n_users
        return self

    def export(self) -> ServingArrays:
        if not hasattr(self, "item_scores_"):
            raise NotFittedError("recent-popular recommender used before fit()")
        n_items = self.item_scores_.shape[0]
        return ServingArrays(
            kind="factors",
            user_factors=np.zeros((self.n_users_, 1), dtype=np.float32),
            user_bias=np.zeros(self.n_users_, dtype=np.float32),
            item_factors=np.zeros((n_items, 1), dtype=np.float32),
            item_bias=self.item_scores_.copy(),
        )

    def describe(self) -> Mapping[str, Any]:
        return {"backend": "recent-popular", "options": asdict(self.options)}


def make_recent_popular(
    *, options: RecentPopularOptions, settings: Settings | None = None
) -> RecentPopularRecommender:
    """The factory the registry calls with typed options and the process settings."""
    if options.half_life_days <= 0:
        raise ConfigError(
            f"recent-popular: half_life_days must be > 0, got {options.half_life_days}"
        )
    return RecentPopularRecommender(options)


@hookimpl
def mlcore_recommenders() -> list[RecommenderRecord]:
    """Announce ``recent-popular`` (called by mlservice's registry)."""
    return [
        RecommenderRecord(
            name="recent-popular",
            factory=make_recent_popular,
            options_type=RecentPopularOptions,
            description="Popularity with exponential time decay (example third-party plugin)",
        )
    ]

"""The popularity baseline: most-interacted items, the same list for every user of a type.

Every trained model is measured against it, and the trainer serves it when a
learned model does not beat it on the temporal validation split. It is core
code because the promotion gate needs it whatever plugins are installed; the
``popularity`` plugin announces this same class for ``ML_RECOMMENDER=popularity``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from mlcore.dataset import Dataset
from mlcore.errors import NotFittedError
from mlcore.interfaces import FoldedUsers, FoldInRequest, ServingArrays
from mlcore.training.fold_in import fold_in_arrays

#: The name the baseline is announced and recorded under.
BASELINE = "popularity"


@dataclass(frozen=True)
class PopularityOptions:
    """Options of the ``popularity`` recommender.

    Attributes:
        weighted: Count ``rating + 1`` per interaction instead of 1, so repeated
            interactions (rating 1) weigh double.
    """

    weighted: bool = False


class PopularityRecommender:
    """Ranks items by their share of the tenant's interactions.

    Args:
        options: The options; the defaults when omitted.
    """

    def __init__(self, options: PopularityOptions | None = None) -> None:
        self.options = options or PopularityOptions()

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
            extra=fold_in_arrays(BASELINE, {}),
        )

    def fold_in(self, request: FoldInRequest) -> FoldedUsers:
        """Every user scores like every other: new users get the same zero rows (the
        item scores stay as published; the users' seen items change)."""
        n = request.users.n_users
        return FoldedUsers(np.zeros((n, 1), dtype=np.float32), np.zeros(n, dtype=np.float32))

    def describe(self) -> Mapping[str, Any]:
        return {"backend": BASELINE, "algorithm": BASELINE, "weighted": self.options.weighted}

"""Serving kind ``"item_item"``: a dense item-item weight matrix (EASE and similar models).

The score of user u for item i is ``sum_j row_u[j] * W[j, i]``: the user's weighted
interaction row times a dense (I, I) float32 matrix ``W``, stored contiguous so
every worker memory-maps the same pages. Memory is ``4 × I²`` bytes (10,000 items:
400 MB; 20,000 items: 1.6 GB), which is why backends refuse large catalogues (the
EASE plugin's ``max_items``). One user costs ``|u| × I`` multiply-adds (the rows
of the items the user interacted with), a batch one sparse-dense product.
Similar items are the row of the query item: ``W[j, i]`` says how much an
interaction with ``j`` predicts ``i``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from mlcore.interfaces import ServingArrays
from mlcore.serving import neighbours
from mlcore.serving.kind import ServingKind, all_finite
from mlcore.serving.neighbours import USER_ITEMS, check_csr_arrays, csr_from_arrays

KIND = "item_item"
#: (I, I) float32, row j = how much an interaction with item j adds to each item's score.
WEIGHTS = "item_item_weights"


class ItemItemKind(ServingKind):
    """A user's weighted item row times a dense item-item matrix."""

    name: ClassVar[str] = KIND

    @classmethod
    def check(cls, arrays: Mapping[str, np.ndarray], n_users: int, n_items: int) -> None:
        super().check(arrays, n_users, n_items)
        if WEIGHTS not in arrays:
            raise ValueError(f"serving kind {KIND!r} needs array {WEIGHTS}")
        weights = arrays[WEIGHTS]
        if weights.shape != (n_items, n_items):
            raise ValueError(f"serving array {WEIGHTS} must be ({n_items}, {n_items})")
        if not all_finite(weights):
            raise ValueError(f"serving array {WEIGHTS} contains NaN or infinite values")
        check_csr_arrays(arrays, USER_ITEMS, n_users, n_items)

    @property
    def _weights(self) -> np.ndarray:
        return np.asarray(self.arrays[WEIGHTS])

    def user_scores(self, user: int, items: slice) -> np.ndarray:
        row_ptr = self.arrays[USER_ITEMS[0]]
        start, stop = int(row_ptr[user]), int(row_ptr[user + 1])
        rated = np.asarray(self.arrays[USER_ITEMS[1]][start:stop], dtype=np.int64)
        values = np.asarray(self.arrays[USER_ITEMS[2]][start:stop], dtype=np.float32)
        if rated.size == 0:
            n_items = self._weights.shape[0]
            return np.zeros(n_items, dtype=np.float32)[items]
        return np.asarray(values @ self._weights[rated][:, items], dtype=np.float32)

    @cached_property
    def _user_items(self) -> sp.csr_matrix:
        return csr_from_arrays(self.arrays, USER_ITEMS, self._weights.shape[0])

    def batch_scores(self, users: np.ndarray) -> np.ndarray:
        product = self._user_items[users] @ self._weights
        return np.asarray(product, dtype=np.float32)

    def similarity_rows(self, items: np.ndarray, window: slice) -> np.ndarray:
        return np.array(self._weights[items][:, window], dtype=np.float32)


def item_item_arrays(
    weights: np.ndarray,
    user_rows: sp.csr_matrix,
    top_k: int = 0,
    more: Mapping[str, np.ndarray] | None = None,
) -> ServingArrays:
    """The serving arrays of a dense item-item model: kind ``item_item`` (``top_k`` 0), or
    kind ``neighbours`` keeping each item's ``top_k`` weights of largest magnitude.

    Args:
        weights: (I, I) float32, row j = what an interaction with item j adds to each item.
        user_rows: (U, I) CSR query rows each user is scored with.
        top_k: 0, or the weights kept per item.
        more: Further arrays to publish with them (e.g. the fold-in arrays).
    """
    n_users, n_items = user_rows.shape
    rows = {**neighbours.csr_arrays(user_rows, USER_ITEMS), **(more or {})}
    if top_k > 0:
        similarity = top_k_by_magnitude(weights, top_k)
        extra = {**neighbours.csr_arrays(similarity, neighbours.SIMILARITY), **rows}
        return ServingArrays.without_factors(neighbours.KIND, n_users, n_items, extra)
    return ServingArrays.without_factors(KIND, n_users, n_items, {WEIGHTS: weights, **rows})


def top_k_by_magnitude(weights: np.ndarray, k: int) -> sp.csr_matrix:
    """Each row's ``k`` entries of largest magnitude (zeros dropped), as CSR."""
    n = weights.shape[0]
    k = min(k, max(n - 1, 1))
    keep = np.argpartition(-np.abs(weights), k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    values = np.take_along_axis(weights, keep, axis=1).ravel()
    matrix = sp.csr_matrix((values, (rows, keep.ravel())), shape=weights.shape, dtype=np.float32)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix

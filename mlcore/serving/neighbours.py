"""Serving kind ``"neighbours"``: item-item similarity instead of factors.

An item-item nearest-neighbour model has no factor form. It exports the sparse
(I, I) similarity matrix (each item's top-K neighbours) and each user's weighted
interaction row; the score of user u for item i is ``sum_j row_u[j] * S[j, i]``.
Both matrices travel as CSR arrays in :attr:`ServingArrays.extra` (and in the
published artifact) under the names below; one user is scored with numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from mlcore.serving.kind import ServingKind, all_finite

KIND = "neighbours"

#: (I+1,) int64, (S,) int32, (S,) float32: CSR of the item-item similarity, no diagonal.
SIMILARITY = ("similarity_indptr", "similarity_indices", "similarity_data")
#: (U+1,) int64, (N,) int32, (N,) float32: CSR of each user's interaction weights.
USER_ITEMS = ("user_items_indptr", "user_items_indices", "user_items_data")


def csr_arrays(matrix: sp.csr_matrix, names: tuple[str, str, str]) -> dict[str, np.ndarray]:
    """The three CSR arrays of ``matrix`` under ``names``, in the dtypes documented above."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    return {
        names[0]: np.ascontiguousarray(matrix.indptr, dtype=np.int64),
        names[1]: np.ascontiguousarray(matrix.indices, dtype=np.int32),
        names[2]: np.ascontiguousarray(matrix.data, dtype=np.float32),
    }


def csr_from_arrays(
    arrays: Mapping[str, np.ndarray], names: tuple[str, str, str], n_columns: int
) -> sp.csr_matrix:
    """Rebuild a CSR matrix from arrays named ``names`` (for batch scoring)."""
    indptr = np.asarray(arrays[names[0]])
    return sp.csr_matrix(
        (np.asarray(arrays[names[2]]), np.asarray(arrays[names[1]]), indptr),
        shape=(indptr.shape[0] - 1, n_columns),
    )


def check_csr_arrays(
    arrays: Mapping[str, np.ndarray], names: tuple[str, str, str], rows: int, n_items: int
) -> None:
    """Check that ``names`` form a valid CSR matrix of ``rows`` rows over ``n_items`` items.

    Raises:
        ValueError: Naming the missing or invalid array.
    """
    missing = [name for name in names if name not in arrays]
    if missing:
        raise ValueError(f"serving array(s) {', '.join(missing)} missing")
    indptr, indices, data = (np.asarray(arrays[name]) for name in names)
    if indptr.shape != (rows + 1,) or indices.shape != data.shape:
        raise ValueError(f"serving arrays {', '.join(names)} do not form a CSR of {rows} rows")
    if indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
        raise ValueError(f"serving array {names[0]} is not a valid CSR row pointer")
    if indices.size and (indices.min() < 0 or indices.max() >= n_items):
        raise ValueError(f"serving array {names[1]} has item indices out of range")
    if not all_finite(data):
        raise ValueError(f"serving array {names[2]} contains NaN or infinite values")


class NeighboursKind(ServingKind):
    """A user's weighted item row times the item-item similarity."""

    name: ClassVar[str] = KIND

    @classmethod
    def check(cls, arrays: Mapping[str, np.ndarray], n_users: int, n_items: int) -> None:
        super().check(arrays, n_users, n_items)
        check_csr_arrays(arrays, SIMILARITY, n_items, n_items)
        check_csr_arrays(arrays, USER_ITEMS, n_users, n_items)

    @property
    def _n_items(self) -> int:
        return int(np.asarray(self.arrays[SIMILARITY[0]]).shape[0] - 1)

    def user_scores(self, user: int, items: slice) -> np.ndarray:
        arrays = self.arrays
        n_items = self._n_items
        row_ptr = arrays[USER_ITEMS[0]]
        start, stop = int(row_ptr[user]), int(row_ptr[user + 1])
        rated = np.asarray(arrays[USER_ITEMS[1]][start:stop], dtype=np.int64)
        weights = np.asarray(arrays[USER_ITEMS[2]][start:stop], dtype=np.float64)
        sim_ptr = arrays[SIMILARITY[0]]
        starts = np.asarray(sim_ptr[rated], dtype=np.int64)
        lengths = np.asarray(sim_ptr[rated + 1], dtype=np.int64) - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(n_items, dtype=np.float32)[items]
        # Positions of every neighbour entry of the user's items, without a Python loop.
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = offsets + np.arange(total)
        neighbours = arrays[SIMILARITY[1]][positions]
        contributions = arrays[SIMILARITY[2]][positions] * np.repeat(weights, lengths)
        full = np.bincount(neighbours, weights=contributions, minlength=n_items)
        return full[items].astype(np.float32)

    @cached_property
    def _similarity(self) -> sp.csr_matrix:
        return csr_from_arrays(self.arrays, SIMILARITY, self._n_items).astype(np.float64)

    @cached_property
    def _user_items(self) -> sp.csr_matrix:
        return csr_from_arrays(self.arrays, USER_ITEMS, self._n_items)

    def batch_scores(self, users: np.ndarray) -> np.ndarray:
        product = self._user_items[users].astype(np.float64) @ self._similarity
        return np.asarray(product.toarray(), dtype=np.float32)

    def similarity_rows(self, items: np.ndarray, window: slice) -> np.ndarray:
        block = self._similarity[items][:, window]
        dense = np.full(block.shape, -np.inf, dtype=np.float32)
        rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        dense[rows, block.indices] = block.data
        return dense

"""The per-tenant dataset every recommender trains on.

The core owns ids: Totara ids are mapped to matrix indices here, and backends see
only matrices. Items are **grouped by component** in :data:`COMPONENTS` order, so
each item type is the contiguous slice ``type_slice(c)``; serving relies on it to
score one type with array views and no copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from mlcore.item_types import COMPONENTS


@dataclass(frozen=True, eq=False)
class Dataset:
    """One tenant's users, items, interactions and features.

    Interactions are stored once, as aligned arrays of length N with at most one
    row per (user, item) (the latest, contract §8.3); the sparse matrices are
    derived from them.

    Attributes:
        tenant: Tenant id string.
        user_ids: (U,) str, Totara user ids in ``user_data`` order.
        item_ids: (I,) str, prefixed item ids, grouped by component.
        item_types: (I,) int8, index into :data:`COMPONENTS`, non-decreasing.
        user_index: (N,) int32, row of each interaction.
        item_index: (N,) int32, column of each interaction.
        ratings: (N,) int8, 0 or 1 as exported.
        timestamps: (N,) int64, Unix seconds.
        user_features: (U, Fu) float32 CSR, the ``partial`` user features (multi-hot
            fields, competency levels); no identity columns.
        user_feature_names: Fu names, e.g. ``lang_en``, ``competencies_scale_12``.
        item_features: (I, Fi) float32 CSR, component one-hot + ``topic_*`` columns.
        item_feature_names: Fi names.
        user_texts: U strings, ``city + " " + description`` (raw, for TF-IDF).
        item_documents: I strings, the ``document`` column (raw, for TF-IDF).
        stats: Counts from building, e.g. ``dropped_unknown_user``.
    """

    tenant: str
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_types: np.ndarray
    user_index: np.ndarray
    item_index: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    user_features: sp.csr_matrix
    user_feature_names: tuple[str, ...]
    item_features: sp.csr_matrix
    item_feature_names: tuple[str, ...]
    user_texts: tuple[str, ...] = ()
    item_documents: tuple[str, ...] = ()
    stats: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return int(self.user_ids.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_ids.shape[0])

    @property
    def n_interactions(self) -> int:
        return int(self.user_index.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    @cached_property
    def interactions(self) -> sp.csr_matrix:
        """(U, I) float32 CSR with 1.0 for every interaction, whatever its rating."""
        return self._matrix(np.ones(self.n_interactions, dtype=np.float32))

    @cached_property
    def weights(self) -> sp.csr_matrix:
        """(U, I) float32 CSR with ``rating + 1`` (1 or 2); same pattern as ``interactions``."""
        return self._matrix(self.ratings.astype(np.float32) + 1.0)

    @cached_property
    def positives(self) -> sp.csr_matrix:
        """(U, I) float32 CSR with 1.0 where ``rating == 1`` (contract §8.3.6)."""
        keep = self.ratings == 1
        return sp.csr_matrix(
            (
                np.ones(int(keep.sum()), dtype=np.float32),
                (self.user_index[keep], self.item_index[keep]),
            ),
            shape=self.shape,
        )

    @cached_property
    def type_offsets(self) -> np.ndarray:
        """(len(COMPONENTS) + 1,) int64: items of type c are ``[offsets[c], offsets[c+1])``."""
        counts = np.bincount(self.item_types.astype(np.int64), minlength=len(COMPONENTS))
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def type_slice(self, component_index: int) -> slice:
        """The contiguous item slice of one component."""
        offsets = self.type_offsets
        return slice(int(offsets[component_index]), int(offsets[component_index + 1]))

    def item_popularity(self) -> np.ndarray:
        """(I,) float32 interaction counts per item."""
        return np.bincount(self.item_index, minlength=self.n_items).astype(np.float32)

    def with_interactions(self, keep: np.ndarray) -> Dataset:
        """The same users, items and features with only the interactions where ``keep``.

        Args:
            keep: (N,) bool mask over the interaction arrays.
        """
        return replace(
            self,
            user_index=self.user_index[keep],
            item_index=self.item_index[keep],
            ratings=self.ratings[keep],
            timestamps=self.timestamps[keep],
        )

    def _matrix(self, data: np.ndarray) -> sp.csr_matrix:
        matrix = sp.csr_matrix((data, (self.user_index, self.item_index)), shape=self.shape)
        matrix.sort_indices()
        return matrix

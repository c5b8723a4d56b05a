"""The parsed export tables: frozen values holding numpy arrays and tuples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Ids

INTERACTIONS_HEADER: tuple[str, ...] = ("user_id", "item_id", "rating", "timestamp")

USER_DATA_HEADER: tuple[str, ...] = (
    "user_id",
    "lang",
    "city",
    "country",
    "interests",
    "asp_position",
    "positions",
    "organisations",
    "competencies_scale",
    "badges",
    "description",
)

#: ``user_data`` columns that hold ``|``-separated category lists (contract §8.1).
LIST_COLUMNS: tuple[str, ...] = (
    "lang",
    "country",
    "interests",
    "asp_position",
    "positions",
    "organisations",
    "badges",
)


@dataclass(frozen=True, eq=False)
class InteractionsTable:
    """``user_interactions_<t>.csv`` as aligned arrays, in file order.

    Attributes:
        user_ids: N user ids as written.
        item_ids: N prefixed item ids as written (not validated here: unknown
            items are dropped and counted when the dataset is built).
        ratings: (N,) int8, 0 or 1 (values above 1 were read as 1).
        timestamps: (N,) int64, Unix seconds.
        clipped_ratings: How many ratings above 1 were read as 1.
    """

    user_ids: Ids
    item_ids: Ids
    ratings: np.ndarray
    timestamps: np.ndarray
    clipped_ratings: int = 0

    def __len__(self) -> int:
        return len(self.user_ids)

    @classmethod
    def empty(cls) -> InteractionsTable:
        """A table without rows (empty or header-only file)."""
        return cls(
            user_ids=Ids.of([]),
            item_ids=Ids.of([]),
            ratings=np.zeros(0, dtype=np.int8),
            timestamps=np.zeros(0, dtype=np.int64),
        )


@dataclass(frozen=True, eq=False)
class UsersTable:
    """``user_data_<t>.csv``, one entry per user, in file order.

    Attributes:
        user_ids: U unique user ids.
        lists: For each of :data:`LIST_COLUMNS`, one tuple of categories per user:
            the cell split on ``|``, entries stripped, empty entries dropped,
            duplicates removed (first occurrence kept).
        competencies: Per user, ``(competency id, level)`` pairs sorted by id; a
            repeated id keeps its highest level.
        cities: Per user, the raw ``city`` cell.
        descriptions: Per user, the raw ``description`` cell.
    """

    user_ids: Ids
    lists: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    competencies: tuple[tuple[tuple[str, int], ...], ...] = ()
    cities: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.user_ids)

    @classmethod
    def empty(cls) -> UsersTable:
        """A table without users (empty or header-only file)."""
        return cls(user_ids=Ids.of([]), lists={name: () for name in LIST_COLUMNS})


@dataclass(frozen=True, eq=False)
class ItemsTable:
    """``item_data_<t>.csv``, one entry per item, in file order.

    Attributes:
        item_ids: I unique prefixed item ids.
        item_types: (I,) int8, index into :data:`mlcore.item_types.COMPONENTS` of the
            component column set to 1 (equal to the id's prefix).
        topic_names: The ``topic_*`` header names, in file order.
        topics: (I, T) float32 CSR of the topic cells (0 or 1).
        documents: Per item, the raw ``document`` cell.
    """

    item_ids: Ids
    item_types: np.ndarray
    topic_names: tuple[str, ...] = ()
    topics: sp.csr_matrix = field(default_factory=lambda: sp.csr_matrix((0, 0), dtype=np.float32))
    documents: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.item_ids)

    @classmethod
    def empty(cls, topic_names: tuple[str, ...] = ()) -> ItemsTable:
        """A table without items (empty or header-only file)."""
        return cls(
            item_ids=Ids.of([]),
            item_types=np.zeros(0, dtype=np.int8),
            topic_names=topic_names,
            topics=sp.csr_matrix((0, len(topic_names)), dtype=np.float32),
        )

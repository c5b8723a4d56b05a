"""The ``partial`` user and item features (contract §8.4); no identity columns.

User features: each list column of :data:`~mlcore.totara.tables.LIST_COLUMNS` is
multi-hot encoded as ``<column>_<value>``. When a column has 30 or more categories only
the 30 most frequent are kept (frequency = number of users; ties broken by category
name). ``competencies_scale`` becomes one numeric column ``competencies_scale_<id>``
per competency holding the level (0 when absent). ``city`` and ``description`` are not
features; they are the user texts. Item features: the five component one-hot columns
and the ``topic_*`` columns of the file, in file order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from mlcore.item_types import COMPONENTS
from mlcore.totara.tables import LIST_COLUMNS, ItemsTable, UsersTable

#: Categories kept per multi-hot column (contract §8.1).
MAX_CATEGORIES = 30


def user_features(
    users: UsersTable, max_categories: int = MAX_CATEGORIES
) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """(U, Fu) float32 CSR and its column names.

    Columns: for each list column in :data:`LIST_COLUMNS` order, its kept categories
    sorted by name; then ``competencies_scale_<id>`` sorted by id.
    """
    blocks: list[sp.csr_matrix] = []
    names: list[str] = []
    for column in LIST_COLUMNS:
        cells = users.lists.get(column, ())
        kept = top_categories(cells, max_categories)
        blocks.append(multi_hot(cells, kept, len(users)))
        names.extend(f"{column}_{value}" for value in kept)
    matrix, ids = competency_matrix(users.competencies, len(users))
    blocks.append(matrix)
    names.extend(f"competencies_scale_{competency}" for competency in ids)
    stacked = sp.hstack(blocks, format="csr", dtype=np.float32) if names else _empty(len(users))
    return sp.csr_matrix(stacked, dtype=np.float32), tuple(names)


def item_features(items: ItemsTable) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """(I, 5 + T) float32 CSR: component one-hot columns, then the ``topic_*`` columns."""
    count = len(items)
    one_hot = sp.csr_matrix(
        (
            np.ones(count, dtype=np.float32),
            (np.arange(count), items.item_types.astype(np.int64)),
        ),
        shape=(count, len(COMPONENTS)),
    )
    topics = sp.csr_matrix(items.topics, shape=(count, len(items.topic_names)), dtype=np.float32)
    matrix = sp.hstack([one_hot, topics], format="csr", dtype=np.float32)
    return sp.csr_matrix(matrix, dtype=np.float32), (*COMPONENTS, *items.topic_names)


def top_categories(cells: Sequence[Sequence[str]], limit: int) -> tuple[str, ...]:
    """The categories kept for one column, sorted by name.

    All of them when there are fewer than ``limit``; otherwise the ``limit`` most
    frequent (number of users having them), ties broken by category name.
    """
    counts = Counter(value for cell in cells for value in cell)
    if len(counts) <= limit:
        return tuple(sorted(counts))
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return tuple(sorted(value for value, _ in ranked[:limit]))


def multi_hot(
    cells: Sequence[Sequence[str]], categories: Sequence[str], rows: int
) -> sp.csr_matrix:
    """(rows, len(categories)) float32 CSR with 1 where a row has the category."""
    position = {value: i for i, value in enumerate(categories)}
    row_index: list[int] = []
    col_index: list[int] = []
    for row, cell in enumerate(cells):
        for value in cell:
            col = position.get(value)
            if col is not None:
                row_index.append(row)
                col_index.append(col)
    data = np.ones(len(row_index), dtype=np.float32)
    return sp.csr_matrix((data, (row_index, col_index)), shape=(rows, len(categories)))


def competency_matrix(
    competencies: Sequence[Sequence[tuple[str, int]]], rows: int
) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """(rows, C) float32 CSR of competency levels and the C competency ids (sorted)."""
    ids = tuple(sorted({competency for pairs in competencies for competency, _ in pairs}))
    position = {competency: i for i, competency in enumerate(ids)}
    row_index, col_index, values = [], [], []
    for row, pairs in enumerate(competencies):
        for competency, level in pairs:
            if level:
                row_index.append(row)
                col_index.append(position[competency])
                values.append(level)
    matrix = sp.csr_matrix(
        (np.asarray(values, dtype=np.float32), (row_index, col_index)), shape=(rows, len(ids))
    )
    return matrix, ids


def _empty(rows: int) -> sp.csr_matrix:
    return sp.csr_matrix((rows, 0), dtype=np.float32)

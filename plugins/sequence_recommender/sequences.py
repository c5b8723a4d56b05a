"""Users' time-ordered histories as the rows a transition model learns from and scores.

Each user's interactions are ordered by time (ties by item index, as in
:func:`mlcore.training.splits.temporal_split`). Every position ``p >= 1`` of a
user's sequence is a **split point**: its source row holds the ``history`` items
before it, the newest weighing 1 and each older one ``0.5 ** (d / history_half_life)``
(``d`` positions further back); its target row holds the ``horizon`` items from ``p``
on, the first weighing 1 and each later one ``0.5 ** (d / horizon_half_life)``. A
user's **query row** is the source row of the split point after their newest item:
what the model is asked to continue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset


@dataclass(frozen=True)
class Window:
    """How many items a row holds and how fast their weights halve (in positions)."""

    length: int
    half_life: float

    def weight(self, distance: np.ndarray | int) -> np.ndarray:
        """Weight of an item ``distance`` positions from the newest (0: weight 1)."""
        return np.power(0.5, np.asarray(distance, dtype=np.float64) / self.half_life)


@dataclass(frozen=True, eq=False)
class Sequences:
    """Every user's interactions in time order.

    Attributes:
        items: (N,) int32 item of each interaction, users one after the other.
        users: (N,) int32 user of each.
        position: (N,) int64 position in its user's sequence (0: oldest).
        ends: (U,) int64 end (exclusive) of each user's run in ``items``.
        shape: (users, items) of the dataset.
    """

    items: np.ndarray
    users: np.ndarray
    position: np.ndarray
    ends: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, dataset: Dataset) -> Sequences:
        order = np.lexsort((dataset.item_index, dataset.timestamps, dataset.user_index))
        users = dataset.user_index[order]
        counts = np.bincount(users, minlength=dataset.n_users)
        ends = np.cumsum(counts)
        position = np.arange(order.shape[0]) - (ends - counts)[users]
        return cls(dataset.item_index[order], users, position, ends, dataset.shape)

    def source_items(self) -> np.ndarray:
        """(n,) items that occur in some source row: every item but a user's newest
        (each other one is the newest item before the next split point)."""
        not_newest = np.arange(self.items.shape[0]) < self.ends[self.users] - 1
        return np.unique(self.items[not_newest])

    def split_points(self) -> np.ndarray:
        """Indices (into ``items``) of every position ``p >= 1``."""
        return np.flatnonzero(self.position >= 1)

    def sources(self, history: Window) -> sp.csr_matrix:
        """(P, I) float32 source row of each split point."""
        points = self.split_points()
        rows, columns, values = [], [], []
        for back in range(1, history.length + 1):
            reach = np.flatnonzero(self.position[points] >= back)
            rows.append(reach)
            columns.append(self.items[points[reach] - back])
            values.append(np.full(reach.size, history.weight(back - 1), dtype=np.float32))
        return _csr(rows, columns, values, (points.size, self.shape[1]))

    def targets(self, horizon: Window) -> sp.csr_matrix:
        """(P, I) float32 target row of each split point."""
        points = self.split_points()
        rows, columns, values = [], [], []
        for ahead in range(horizon.length):
            reach = np.flatnonzero(points + ahead < self.ends[self.users[points]])
            rows.append(reach)
            columns.append(self.items[points[reach] + ahead])
            values.append(np.full(reach.size, horizon.weight(ahead), dtype=np.float32))
        return _csr(rows, columns, values, (points.size, self.shape[1]))

    def queries(self, history: Window) -> sp.csr_matrix:
        """(U, I) float32 query row of each user: their ``history`` newest items."""
        age = self.ends[self.users] - 1 - np.arange(self.items.shape[0])
        keep = age < history.length
        values = history.weight(age[keep]).astype(np.float32)
        return _csr([self.users[keep]], [self.items[keep]], [values], self.shape)


def _csr(
    rows: list[np.ndarray],
    columns: list[np.ndarray],
    values: list[np.ndarray],
    shape: tuple[int, int],
) -> sp.csr_matrix:
    matrix = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=shape,
        dtype=np.float32,
    )
    matrix.sort_indices()
    return matrix

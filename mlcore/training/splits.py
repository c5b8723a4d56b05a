"""Train/test splits of a dataset's interactions (same users, items and features)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlcore.dataset import Dataset


@dataclass(frozen=True, eq=False)
class Split:
    """A train part and a test part of one dataset; both keep the full id maps."""

    train: Dataset
    test: Dataset
    protocol: str


def temporal_split(dataset: Dataset, *, test_fraction: float = 0.2) -> Split:
    """Per user, the most recent ``test_fraction`` of interactions go to test.

    Users with one interaction stay wholly in train. Each user with two or more
    gets at least one and at most ``n - 1`` test interactions. Ties in time are
    broken by item index, so the split is deterministic.
    """
    order = np.lexsort((dataset.item_index, dataset.timestamps, dataset.user_index))
    users = dataset.user_index[order]
    counts = np.bincount(users, minlength=dataset.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(order.shape[0]) - starts[users]
    n_test = np.where(counts >= 2, np.clip(np.round(counts * test_fraction), 1, counts - 1), 0)
    is_test_sorted = position >= (counts - n_test)[users]
    is_test = np.empty_like(is_test_sorted)
    is_test[order] = is_test_sorted
    return Split(
        dataset.with_interactions(~is_test), dataset.with_interactions(is_test), "temporal per-user"
    )


def random_split(dataset: Dataset, *, test_fraction: float = 0.2, seed: int = 10) -> Split:
    """A seeded random ``test_fraction`` of all interactions goes to test."""
    rng = np.random.default_rng(seed)
    is_test = rng.random(dataset.n_interactions) < test_fraction
    return Split(
        dataset.with_interactions(~is_test),
        dataset.with_interactions(is_test),
        f"random seed={seed}",
    )


def sample_users(part: Dataset, max_users: int, seed: int) -> Dataset:
    """``part`` restricted to at most ``max_users`` seeded-random users (for cheap scoring)."""
    users = np.unique(part.user_index)
    if users.size <= max_users:
        return part
    chosen = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    return part.with_interactions(np.isin(part.user_index, chosen))


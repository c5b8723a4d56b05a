"""Recency multipliers: ``0.5 ** (age / half_life)`` per user, by time or by position."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.dataset import Dataset
from mlcore.training.recency import FLOOR, SECONDS_PER_DAY, Recency


def dataset_of(users: list[int], times: list[int]) -> Dataset:
    n_users = max(users, default=0) + 1
    n = len(users)
    return Dataset(
        tenant="t",
        user_ids=np.array([str(u) for u in range(n_users)]),
        item_ids=np.array([f"container_course{i}" for i in range(n)]),
        item_types=np.zeros(n, dtype=np.int8),
        user_index=np.array(users, dtype=np.int32),
        item_index=np.arange(n, dtype=np.int32),
        ratings=np.ones(n, dtype=np.int8),
        timestamps=np.array(times, dtype=np.int64),
        user_features=sp.csr_matrix((n_users, 0), dtype=np.float32),
        user_feature_names=(),
        item_features=sp.csr_matrix((n, 0), dtype=np.float32),
        item_feature_names=(),
    )


histories = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 400 * 86_400)), min_size=1, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(rows=histories, kind=st.sampled_from(["time", "position"]), half_life=st.floats(0.5, 500))
def test_invariants(rows: list[tuple[int, int]], kind: str, half_life: float) -> None:
    users, times = [r[0] for r in rows], [r[1] for r in rows]
    dataset = dataset_of(users, times)
    factors = Recency(kind, half_life).multipliers(dataset)  # type: ignore[arg-type]
    assert factors.shape == (len(rows),) and factors.dtype == np.float32
    assert np.all((factors >= np.float32(FLOOR)) & (factors <= 1.0))
    for user in set(users):
        mine = np.flatnonzero(dataset.user_index == user)
        # Oldest to newest; ties in time broken by item index, as the split does.
        order = mine[np.lexsort((dataset.item_index[mine], dataset.timestamps[mine]))]
        assert factors[order[-1]] == 1.0  # the newest interaction keeps its weight
        assert np.all(np.diff(factors[order]) >= -1e-7)  # older never weighs more


@settings(max_examples=30, deadline=None)
@given(rows=histories)
def test_off_changes_nothing(rows: list[tuple[int, int]]) -> None:
    dataset = dataset_of([r[0] for r in rows], [r[1] for r in rows])
    np.testing.assert_array_equal(Recency("off").multipliers(dataset), 1.0)
    assert (Recency("off").weighted(dataset) != dataset.weights).nnz == 0


def test_position_halves_every_half_life_back() -> None:
    dataset = dataset_of([0] * 5, [50, 10, 40, 20, 30])
    factors = Recency("position", 2.0).multipliers(dataset)
    # Ages by time order: t=50 -> 0, 40 -> 1, 30 -> 2, 20 -> 3, 10 -> 4.
    np.testing.assert_allclose(factors, [1.0, 0.25, 0.5**0.5, 0.5**1.5, 0.5], rtol=1e-6)


def test_time_halves_after_half_life_days() -> None:
    day = int(SECONDS_PER_DAY)
    dataset = dataset_of([0, 0, 1, 1], [100 * day, 90 * day, 7 * day, 7 * day])
    np.testing.assert_allclose(
        Recency("time", 10.0).multipliers(dataset), [1.0, 0.5, 1.0, 1.0], rtol=1e-6
    )


def test_weighted_multiplies_the_weights() -> None:
    dataset = dataset_of([0, 0, 0], [1, 2, 3])
    weighted = Recency("position", 1.0).weighted(dataset).toarray()
    np.testing.assert_allclose(weighted[0], 2.0 * np.array([0.25, 0.5, 1.0]))


@pytest.mark.parametrize(("kind", "half_life"), [("sometimes", 1.0), ("time", 0.0), ("position", -1)])
def test_invalid_settings_are_refused(kind: str, half_life: float) -> None:
    with pytest.raises(ValueError):
        Recency(kind, half_life)  # type: ignore[arg-type]

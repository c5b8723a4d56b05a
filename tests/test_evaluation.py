"""Ranking metrics on cases small enough to compute by hand; AUC against a pair count."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.dataset import Dataset
from mlcore.evaluation import _auc, evaluate, factor_scores
from mlcore.interfaces import ServingArrays

N_ITEMS = 5


def _dataset(pairs: list[tuple[int, int]], n_users: int = 3) -> Dataset:
    users = np.array([u for u, _ in pairs], dtype=np.int32)
    items = np.array([i for _, i in pairs], dtype=np.int32)
    return Dataset(
        tenant="0",
        user_ids=np.array([str(u) for u in range(n_users)]),
        item_ids=np.array([f"engage_article{i}" for i in range(N_ITEMS)]),
        item_types=np.full(N_ITEMS, 2, dtype=np.int8),
        user_index=users,
        item_index=items,
        ratings=np.zeros(len(pairs), dtype=np.int8),
        timestamps=np.zeros(len(pairs), dtype=np.int64),
        user_features=sp.csr_matrix((n_users, 0), dtype=np.float32),
        user_feature_names=(),
        item_features=sp.csr_matrix((N_ITEMS, 0), dtype=np.float32),
        item_feature_names=(),
    )


SCORES = np.array(
    [
        [10, 5, 4, 3, 1],  # user 0: item 0 seen; test items 1 and 3
        [3, 2, 1, 0, 9],  # user 1: nothing seen; test item 4
        [1, 1, 1, 1, 1],  # user 2: no test items, so not evaluated
    ],
    dtype=np.float32,
)
TRAIN = _dataset([(0, 0), (2, 2)])
TEST = _dataset([(0, 1), (0, 3), (1, 4)])


def _score(rows: np.ndarray) -> np.ndarray:
    return SCORES[rows]


@pytest.mark.parametrize("batch_size", [1, 2, 512])
def test_hand_computed_metrics(batch_size: int) -> None:
    metrics = evaluate(_score, TRAIN, TEST, k=2, batch_size=batch_size)
    # User 0 ranks 1, 2, 3, 4 (item 0 is seen): top 2 = [1, 2], one hit at rank 1.
    ndcg_0 = 1.0 / (1.0 + 1.0 / math.log2(3))
    # AUC user 0: positives {1, 3}, negatives {2, 4}: 1>2, 1>4, 3<2, 3>4 -> 3/4.
    # User 1 ranks 4, 0: one hit at rank 1 of one relevant item; AUC 1.
    assert metrics.users == 2 and metrics.k == 2
    assert metrics.precision == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert metrics.recall == pytest.approx((1 / 2 + 1) / 2)
    assert metrics.ndcg == pytest.approx((ndcg_0 + 1.0) / 2)
    assert metrics.auc == pytest.approx((0.75 + 1.0) / 2)
    assert metrics.coverage == pytest.approx(4 / 5)  # items 1, 2, 4, 0 were recommended
    assert metrics.as_dict()["users"] == 2


def test_perfect_and_worst_rankings() -> None:
    test = _dataset([(0, 4)], n_users=1)
    train = _dataset([], n_users=1)
    best = evaluate(lambda r: np.array([[0, 1, 2, 3, 9]], np.float32)[r], train, test, k=1)
    worst = evaluate(lambda r: np.array([[5, 4, 3, 2, 1]], np.float32)[r], train, test, k=1)
    assert (best.precision, best.recall, best.ndcg, best.auc) == (1.0, 1.0, 1.0, 1.0)
    assert (worst.precision, worst.recall, worst.ndcg, worst.auc) == (0.0, 0.0, 0.0, 0.0)


def test_k_larger_than_the_candidates_and_no_auc() -> None:
    metrics = evaluate(_score, TRAIN, TEST, k=10, with_auc=False)
    assert metrics.auc is None
    # Every candidate is in the top 10, so every relevant item is found.
    assert metrics.recall == 1.0
    assert metrics.precision == pytest.approx((2 / 10 + 1 / 10) / 2)


def test_no_test_users_gives_zeros() -> None:
    metrics = evaluate(_score, TRAIN, _dataset([]), k=2)
    assert metrics.users == 0 and metrics.precision == 0.0 and metrics.coverage == 0.0


def test_factor_scores_are_dot_products_plus_biases() -> None:
    serving = ServingArrays(
        kind="factors",
        user_factors=np.array([[1, 2], [0, 1]], np.float32),
        user_bias=np.array([0.5, -1], np.float32),
        item_factors=np.array([[1, 0], [0, 1], [2, 2]], np.float32),
        item_bias=np.array([0, 1, -1], np.float32),
    )
    scores = factor_scores(serving)(np.array([1, 0]))
    np.testing.assert_allclose(scores, [[-1, 1, 0], [1.5, 3.5, 5.5]])


def _auc_by_pairs(row: np.ndarray, relevant: list[int], seen: set[int]) -> float:
    candidates = [i for i in range(row.shape[0]) if i not in seen]
    negatives = [i for i in candidates if i not in relevant]
    if not negatives:
        return 1.0
    wins = sum(
        1.0 if row[p] > row[q] else 0.5 if row[p] == row[q] else 0.0
        for p in relevant
        for q in negatives
    )
    return wins / (len(relevant) * len(negatives))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_auc_equals_a_brute_force_pair_count(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 15))
    row = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), np.float32)
    seen = data.draw(st.sets(st.integers(0, n - 1), max_size=n - 1))
    free = [i for i in range(n) if i not in seen]
    relevant = sorted(data.draw(st.sets(st.sampled_from(free), min_size=1)))
    masked = row.copy()
    masked[sorted(seen)] = -np.inf
    expected = _auc_by_pairs(row, relevant, seen)
    assert _auc(masked, np.array(relevant), len(seen)) == pytest.approx(expected)

"""Ranking metrics on cases small enough to compute by hand; AUC against a pair count."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.dataset import Dataset
from mlcore.interfaces import ServingArrays
from mlcore.serving import ranking
from mlcore.serving.ranking import top_n
from mlcore.training.evaluation import Metrics, _auc, evaluate, serving_scores

N_ITEMS = 5


def _dataset(pairs: list[tuple[int, int]], n_users: int = 3, n_items: int = N_ITEMS) -> Dataset:
    users = np.array([u for u, _ in pairs], dtype=np.int32)
    items = np.array([i for _, i in pairs], dtype=np.int32)
    return Dataset(
        tenant="0",
        user_ids=np.array([str(u) for u in range(n_users)]),
        item_ids=np.array([f"engage_article{i}" for i in range(n_items)]),
        item_types=np.full(n_items, 2, dtype=np.int8),
        user_index=users,
        item_index=items,
        ratings=np.zeros(len(pairs), dtype=np.int8),
        timestamps=np.zeros(len(pairs), dtype=np.int64),
        user_features=sp.csr_matrix((n_users, 0), dtype=np.float32),
        user_feature_names=(),
        item_features=sp.csr_matrix((n_items, 0), dtype=np.float32),
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


def test_factor_kind_scores_are_dot_products_plus_biases() -> None:
    serving = ServingArrays(
        kind="factors",
        user_factors=np.array([[1, 2], [0, 1]], np.float32),
        user_bias=np.array([0.5, -1], np.float32),
        item_factors=np.array([[1, 0], [0, 1], [2, 2]], np.float32),
        item_bias=np.array([0, 1, -1], np.float32),
    )
    scores = serving_scores(serving)(np.array([1, 0]))
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


def _evaluate_user_by_user(
    scores: np.ndarray, train: Dataset, test: Dataset, k: int, with_auc: bool
) -> Metrics:
    """The specification of ``evaluate``: one user at a time, with ``top_n`` and ``np.isin``."""
    train_m, test_m = train.interactions.tocsr(), test.interactions.tocsr()
    users = np.flatnonzero(np.diff(test_m.indptr) > 0)
    sums = np.zeros(4)
    recommended: set[int] = set()
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for user in users:
        seen = train_m.indices[train_m.indptr[user] : train_m.indptr[user + 1]]
        relevant = test_m.indices[test_m.indptr[user] : test_m.indptr[user + 1]]
        row = scores[user].astype(np.float32, copy=True)
        row[seen] = -np.inf
        top = top_n(row, k)
        recommended.update(top.tolist())
        hits = np.isin(top, relevant)
        ideal = discounts[: min(k, relevant.size)].sum()
        sums[0] += hits.sum() / k
        sums[1] += hits.sum() / relevant.size
        sums[2] += (discounts[: top.size][hits]).sum() / ideal
        if with_auc:
            sums[3] += _auc(row, relevant, seen.size)
    n = max(len(users), 1)
    return Metrics(
        k=k,
        precision=float(sums[0] / n),
        recall=float(sums[1] / n),
        ndcg=float(sums[2] / n),
        auc=float(sums[3] / n) if with_auc else None,
        coverage=len(recommended) / max(train.n_items, 1),
        users=int(len(users)),
    )


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_batched_evaluate_equals_the_user_by_user_specification(data: st.DataObject) -> None:
    n_users, n_items = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 80))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    # Few distinct scores: ties at the cut-off are common.
    scores = rng.integers(0, data.draw(st.sampled_from([2, 5, 1000])), (n_users, n_items))
    scores = scores.astype(np.float32)
    cells = rng.permutation(n_users * n_items)
    n_train, n_test = rng.integers(0, cells.size + 1, size=2)
    train_cells, test_cells = cells[:n_train], rng.choice(cells, size=n_test, replace=False)
    train = _dataset([divmod(int(c), n_items) for c in train_cells], n_users, n_items)
    test = _dataset([divmod(int(c), n_items) for c in test_cells], n_users, n_items)
    k = data.draw(st.integers(1, 12))
    with_auc = data.draw(st.booleans())
    chunk = data.draw(st.sampled_from([ranking._CHUNK, 1, 2]))  # 1, 2: gathered candidates

    def score(rows: np.ndarray) -> np.ndarray:
        return scores[rows]

    with mock.patch.object(ranking, "_CHUNK", chunk):
        batch_size = data.draw(st.integers(1, 5))
        got = evaluate(score, train, test, k=k, with_auc=with_auc, batch_size=batch_size)
    expected = _evaluate_user_by_user(scores, train, test, k, with_auc)
    assert (got.k, got.users, got.coverage) == (expected.k, expected.users, expected.coverage)
    assert (got.auc is None) == (expected.auc is None) == (not with_auc)
    for name in (
        ("precision", "recall", "ndcg", "auc") if with_auc else ("precision", "recall", "ndcg")
    ):
        assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-12, abs=1e-15)


def test_k_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        evaluate(_score, TRAIN, TEST, k=0)

"""Ranking-quality metrics with full ranking, excluding each user's training items.

Every metric ranks **all** items for each test user (no sampling), with the user's
training interactions removed from the candidates, as ``lightfm.evaluation`` does
when given ``train_interactions``. Relevance is binary: an item is relevant when it
is in the user's test interactions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.interfaces import ServingArrays
from mlcore.serving.kinds import serving_kind
from mlcore.serving.ranking import top_n_rows

#: Scores for a batch of user rows: (B,) int64 rows -> (B, I) float32.
ScoreFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Metrics:
    """Mean per-user metrics over users with at least one test interaction."""

    k: int
    precision: float
    recall: float
    ndcg: float
    auc: float | None
    coverage: float
    users: int

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def serving_scores(serving: ServingArrays) -> ScoreFunction:
    """The score function of any serving arrays, through their serving kind.

    Raises:
        ValueError: An unknown kind.
    """
    return serving_kind(serving.kind)(serving.named_arrays()).batch_scores


def evaluate(
    score: ScoreFunction,
    train: Dataset,
    test: Dataset,
    *,
    k: int = 10,
    with_auc: bool = True,
    batch_size: int = 512,
) -> Metrics:
    """Precision@k, recall@k, NDCG@k, AUC and catalogue coverage.

    Args:
        score: Scores for user rows (see :data:`ScoreFunction`).
        train: Interactions excluded from each user's candidates.
        test: Relevant items per user; users without any are skipped.
        k: Cut-off.
        with_auc: AUC needs a full sort per user; tuning can skip it.
        batch_size: Users scored at once (memory: batch_size × I float32).

    Raises:
        ValueError: ``k`` below 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    train_m, test_m = train.interactions.tocsr(), test.interactions.tocsr()
    users = np.flatnonzero(np.diff(test_m.indptr) > 0)
    sums = np.zeros(4)
    recommended: list[np.ndarray] = []
    for rows in _batches(users, batch_size):
        scores = score(rows).astype(np.float32, copy=True)
        seen = train_m[rows]
        scores[_row_of_each_entry(seen), seen.indices] = -np.inf
        top, _ = top_n_rows(scores, k)
        recommended.append(np.unique(top[top >= 0]))
        relevant = test_m[rows]
        sums[:3] += _top_k_sums(top, relevant, k)
        if with_auc:
            sums[3] += _auc_sum(scores, seen, relevant)
    n = max(len(users), 1)
    n_recommended = np.unique(np.concatenate(recommended)).size if recommended else 0
    return Metrics(
        k=k,
        precision=float(sums[0] / n),
        recall=float(sums[1] / n),
        ndcg=float(sums[2] / n),
        auc=float(sums[3] / n) if with_auc else None,
        coverage=n_recommended / max(train.n_items, 1),
        users=int(len(users)),
    )


def _row_of_each_entry(matrix: sp.csr_matrix) -> np.ndarray:
    """The row of every stored entry of a CSR matrix, in storage order."""
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def _top_k_sums(top: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """Sums over a batch of precision@k, recall@k and NDCG@k.

    Args:
        top: (B, min(k, I)) recommended items, best first, then -1 padding.
        relevant: (B, I) CSR test interactions of the same users (each row non-empty).
        k: Cut-off.
    """
    n_relevant = np.diff(relevant.indptr)
    hits = _hits(top, relevant)
    n_hits = np.count_nonzero(hits, axis=1)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[np.minimum(k, n_relevant) - 1]
    dcg = (hits * discounts[: top.shape[1]]).sum(axis=1)
    return np.array([(n_hits / k).sum(), (n_hits / n_relevant).sum(), (dcg / ideal).sum()])


def _hits(top: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """(B, n) bool: is ``top[b, j]`` (-1 for padding) stored in row ``b`` of ``relevant``."""
    width = relevant.shape[1]
    keys = np.sort(_row_of_each_entry(relevant) * width + relevant.indices)
    wanted = np.arange(top.shape[0])[:, None] * width + top
    found = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return (top >= 0) & (keys[found] == wanted)


def _auc_sum(scores: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix) -> float:
    """Sum of per-row AUC over a batch (``scores`` with seen items already at ``-inf``)."""
    n_seen = np.diff(seen.indptr)
    total = 0.0
    for j in range(scores.shape[0]):
        items = relevant.indices[relevant.indptr[j] : relevant.indptr[j + 1]]
        total += _auc(scores[j], items, int(n_seen[j]))
    return total


def _batches(users: np.ndarray, size: int) -> Iterable[np.ndarray]:
    for start in range(0, users.shape[0], size):
        yield users[start : start + size]


def _auc(row: np.ndarray, relevant: np.ndarray, n_seen: int) -> float:
    """Probability that a relevant item outscores a non-relevant candidate (ties count half)."""
    candidates = row.size - n_seen
    n_pos = relevant.size
    n_neg = candidates - n_pos
    if n_neg <= 0:
        return 1.0
    positive_scores = row[relevant]
    finite = row[np.isfinite(row)]
    order = np.sort(finite)
    below = np.searchsorted(order, positive_scores, side="left")
    equal = np.searchsorted(order, positive_scores, side="right") - below
    # Pairs (positive, any candidate) minus pairs among positives themselves.
    wins = below.sum() + 0.5 * (equal.sum() - n_pos)
    wins -= n_pos * (n_pos - 1) / 2.0
    return float(wins / (n_pos * n_neg))

"""The ``item-knn`` recommender: implicit's item-item nearest neighbours, cosine or BM25.

It has no factor form, so it exports serving kind ``"neighbours"``
(:mod:`mlcore.serving.neighbours`): each item's top-K most similar other items, and each
user's interaction weights; a user's score for an item is the weighted sum of the
item's similarities to the items the user interacted with. The item itself is
dropped from its own neighbours, so an interacted item is not pushed up by its
self-similarity and ``/similar-items`` never sees the query item.
It is announced by :mod:`plugins.implicit_recommender`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.errors import NotFittedError
from mlcore.interfaces import FoldedUsers, FoldInRequest, ServingArrays
from mlcore.serving import neighbours
from mlcore.training.fold_in import fold_in_arrays, query_rows_only
from mlcore.training.recency import Recency, RecencyKind
from plugins.implicit_recommender.support import import_implicit, one_blas_thread, options_json
from plugins.implicit_recommender.tuning import StudyTuned


@dataclass(frozen=True)
class ItemKNNOptions:
    """Options of ``item-knn``.

    Attributes:
        similarity: ``"cosine"`` of the items' interaction columns, or ``"bm25"``
            weighting of them (damps very active users and very popular items).
        neighbours: Similar items kept per item (K).
        bm25_k1: BM25 term saturation (``"bm25"`` only).
        bm25_b: BM25 length normalisation (``"bm25"`` only).
        num_threads: Threads; 0 means ``ML_NUM_THREADS``. Deterministic for any number.
        recency: Each user's query row times ``0.5 ** (age / recency_half_life)``
            (``off``, ``position`` or ``time``; :mod:`mlcore.training.recency`).
        recency_half_life: Positions or days at which an interaction weighs half.
        tune_recency: Recency kinds tuned (default ``["off"]``: the search as before).
    """

    similarity: Literal["cosine", "bm25"] = "cosine"
    neighbours: int = 50
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    num_threads: int = 0
    recency: RecencyKind = "off"
    recency_half_life: float = 40.0
    tune_recency: tuple[RecencyKind, ...] = ("off",)


class ItemKNNRecommender(StudyTuned):
    """Item-item nearest neighbours over ``dataset.weights``."""

    backend = "item-knn"

    def __init__(self, options: ItemKNNOptions, *, num_threads: int = 1) -> None:
        self.options = options
        self.num_threads = num_threads

    def fit(self, dataset: Dataset) -> Self:
        nearest = import_implicit("implicit.nearest_neighbours", self.backend)
        options = self.options
        # One extra neighbour because the item itself is usually among them.
        k = options.neighbours + 1
        if options.similarity == "bm25":
            model = nearest.BM25Recommender(
                K=k, K1=options.bm25_k1, B=options.bm25_b, num_threads=self.num_threads
            )
        else:
            model = nearest.CosineRecommender(K=k, num_threads=self.num_threads)
        user_items = sp.csr_matrix(dataset.weights, dtype=np.float32)
        with one_blas_thread(), warnings.catch_warnings():
            # implicit's own cosine/BM25 weighting hands its kNN a COO matrix and warns.
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model.fit(user_items, show_progress=False)
        self.similarity_ = top_k_rows(_without_diagonal(model.similarity), options.neighbours)
        recency = Recency(options.recency, options.recency_half_life)
        self.user_items_ = recency.weighted(dataset, user_items)
        return self

    def export(self) -> ServingArrays:
        if not hasattr(self, "similarity_"):
            raise NotFittedError("item-knn recommender used before fit()")
        n_users, n_items = self.user_items_.shape
        extra = {
            **neighbours.csr_arrays(self.similarity_, neighbours.SIMILARITY),
            **neighbours.csr_arrays(self.user_items_, neighbours.USER_ITEMS),
            **fold_in_arrays(
                self.backend,
                {"recency": self.options.recency, "recency_half_life": self.options.recency_half_life},
            ),
        }
        return ServingArrays.without_factors(neighbours.KIND, n_users, n_items, extra)

    def fold_in(self, request: FoldInRequest) -> FoldedUsers:
        """New users' weighted rows (the similarities stay as published)."""
        params = request.params
        recency = Recency(params["recency"], float(params["recency_half_life"]))
        users = request.users
        return query_rows_only(users, recency.weighted(users, sp.csr_matrix(users.weights)))

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": self.backend,
            "algorithm": self.backend,
            "options": options_json(self.options),
            "num_threads": self.num_threads,
        }


def _without_diagonal(similarity: sp.spmatrix) -> sp.csr_matrix:
    coo = sp.coo_matrix(similarity, dtype=np.float32)
    off = (coo.row != coo.col) & (coo.data != 0)
    return sp.csr_matrix((coo.data[off], (coo.row[off], coo.col[off])), shape=coo.shape)


def top_k_rows(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row (ties by lower column); rows stay sorted."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    keep = np.zeros(matrix.nnz, dtype=bool)
    for row in range(matrix.shape[0]):
        start, stop = matrix.indptr[row], matrix.indptr[row + 1]
        if stop - start <= k:
            keep[start:stop] = True
            continue
        order = np.lexsort((matrix.indices[start:stop], -matrix.data[start:stop]))
        keep[start + order[:k]] = True
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    result = sp.csr_matrix(
        (matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape
    )
    result.sort_indices()
    return result

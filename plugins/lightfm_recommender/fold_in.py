"""Fold new or changed users (and, with features, new items) into a published LightFM model.

Users: a few epochs of LightFM's own update (its loss: WARP by default) on the users'
rows alone. The published item representations become the embeddings of one
identity feature per item, with their accumulated adagrad/adadelta gradients set so
large that no step moves them and ``item_alpha`` at 0, so the item side stays frozen;
each user is one identity feature whose embedding starts at the user's published
vector (a known user) or at the sum of its profile features' embeddings (a new
user in ``partial``/``hybrid``; zero in ``mf``).

Items (``partial``/``hybrid`` only): the sum of the published embeddings of a new
item's ``partial`` features (its type, topics), scaled as the full fit scales
feature rows; the identity feature it would have had is unknown and counts zero.
``hybrid``'s TF-IDF text features are not stored, so new entities are placed
by their ``partial`` features alone until the next full retrain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.interfaces import FoldedUsers, FoldInRequest
from mlcore.training.recency import Recency

#: Accumulated squared gradient that makes adagrad/adadelta steps vanish (frozen items).
FROZEN = np.float32(1e30)
#: Published array names of the ``partial`` feature embeddings, per side.
EMBEDDINGS = "fold_in_{}_embeddings"
BIASES = "fold_in_{}_biases"
NAMES = "fold_in_{}_feature_names"


def feature_arrays(
    model: Any, side: str, start: int, names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The embeddings and biases of one side's ``partial`` feature block (columns
    ``start`` to ``start + len(names)``), by the published names."""
    embeddings = model.user_embeddings if side == "user" else model.item_embeddings
    biases = model.user_biases if side == "user" else model.item_biases
    block = slice(start, start + len(names))
    return {
        EMBEDDINGS.format(side): np.ascontiguousarray(embeddings[block], dtype=np.float32),
        BIASES.format(side): np.ascontiguousarray(biases[block], dtype=np.float32),
        NAMES.format(side): np.asarray(list(names), dtype=str),
    }


def feature_vectors(
    arrays: Mapping[str, np.ndarray],
    side: str,
    features: sp.csr_matrix,
    names: tuple[str, ...],
    normalize: bool,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(vectors, biases) of rows from their ``partial`` features, or None without them."""
    if EMBEDDINGS.format(side) not in arrays:
        return None
    stored = {name: i for i, name in enumerate(np.asarray(arrays[NAMES.format(side)]).tolist())}
    columns = np.array([stored.get(name, -1) for name in names], dtype=np.int64)
    coo = sp.coo_matrix(features)
    keep = columns[coo.col] >= 0 if coo.nnz else np.zeros(0, dtype=bool)
    matrix = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], columns[coo.col[keep]])),
        shape=(features.shape[0], len(stored)),
        dtype=np.float32,
    )
    if normalize:  # as the full fit: the row (identity column 1 included) sums to 1
        sums = 1.0 + np.asarray(abs(matrix).sum(axis=1), dtype=np.float32).ravel()
        matrix = sp.csr_matrix(sp.diags(1.0 / sums) @ matrix, dtype=np.float32)
    vectors = matrix @ np.asarray(arrays[EMBEDDINGS.format(side)])
    biases = matrix @ np.asarray(arrays[BIASES.format(side)])
    return np.asarray(vectors, dtype=np.float32), np.asarray(biases, dtype=np.float32)


def starting_rows(request: FoldInRequest, normalize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each user's starting vector and bias: published for known users, from profile
    features (or zero) for new ones."""
    arrays, known, users = request.arrays, request.known, request.users
    d = np.asarray(arrays["item_factors"]).shape[1]
    vectors = np.zeros((known.shape[0], d), dtype=np.float32)
    biases = np.zeros(known.shape[0], dtype=np.float32)
    fresh = known < 0
    placed = feature_vectors(
        arrays, "user", users.user_features[fresh], users.user_feature_names, normalize
    )
    if placed is not None:
        vectors[fresh], biases[fresh] = placed
    vectors[~fresh] = np.asarray(arrays["user_factors"])[known[~fresh]]
    biases[~fresh] = np.asarray(arrays["user_bias"])[known[~fresh]]
    return vectors, biases


def fold_in_users(request: FoldInRequest) -> FoldedUsers:
    """New user rows: ``params["fold_in_epochs"]`` epochs of LightFM's update, items frozen."""
    from lightfm import LightFM  # noqa: PLC0415 - never at import time (pre-fork safety)

    params, arrays, users = request.params, request.arrays, request.users
    start, start_bias = starting_rows(request, bool(params.get("normalize_features", True)))
    item_factors = np.ascontiguousarray(arrays["item_factors"], dtype=np.float32)
    n_users, (n_items, d) = users.n_users, item_factors.shape
    model = LightFM(
        no_components=d,
        loss=params["loss"],
        learning_schedule=params["learning_schedule"],
        learning_rate=float(params["learning_rate"]),
        user_alpha=float(params["user_alpha"]),
        item_alpha=0.0,
        max_sampled=int(params["max_sampled"]),
        random_state=request.seed,
    )
    model._initialize(d, n_items, n_users)  # noqa: SLF001 - set the frozen state below
    model.item_embeddings = item_factors.copy()
    model.item_biases = np.ascontiguousarray(arrays["item_bias"], dtype=np.float32).copy()
    model.item_embedding_gradients[:] = FROZEN
    model.item_bias_gradients[:] = FROZEN
    model.user_embeddings = np.ascontiguousarray(start)
    model.user_biases = np.ascontiguousarray(start_bias)
    if users.n_interactions:
        recency = Recency(
            params.get("recency", "off"), float(params.get("recency_half_life", 40.0))
        )
        weights = None if model.loss == "warp-kos" else recency.weighted(users).tocoo()
        model.fit_partial(
            users.interactions.tocoo(),
            user_features=sp.identity(n_users, dtype=np.float32, format="csr"),
            item_features=sp.identity(n_items, dtype=np.float32, format="csr"),
            sample_weight=weights,
            epochs=int(params["fold_in_epochs"]),
            num_threads=1,
        )
    return FoldedUsers(
        np.ascontiguousarray(model.user_embeddings, dtype=np.float32),
        np.ascontiguousarray(model.user_biases, dtype=np.float32),
    )


def new_item_vectors(
    arrays: Mapping[str, np.ndarray], params: Mapping[str, Any], items: Dataset
) -> tuple[np.ndarray, np.ndarray] | None:
    """(factors, bias) of new items from their ``partial`` features; None in ``mf``."""
    if params.get("mode") not in ("partial", "hybrid"):
        return None
    return feature_vectors(
        arrays,
        "item",
        items.item_features,
        items.item_feature_names,
        bool(params.get("normalize_features", True)),
    )

"""What a backend stores for fold-in, and the dataset pieces a fold-in works on.

A backend that can fold new users into a published model (the
:class:`~mlcore.interfaces.FoldsIn` protocol) exports two more arrays with its serving
arrays, so the published artifact says which plugin folds it in and with which
parameters (arrays + JSON, never pickle; no fixed-width unicode arrays, as for ids):

=====================  ==============  ==========================================
name                   dtype           meaning
=====================  ==============  ==========================================
``fold_in_backend``    (N,) uint8      UTF-8 of the recommender plugin's name
``fold_in_params``     (B,) uint8      UTF-8 JSON of its fold-in parameters
=====================  ==============  ==========================================

Backends may add their own ``fold_in_*`` arrays (e.g. LightFM's feature
embeddings); the refresh passes every array of the member through unchanged
except those on the user or item axis.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.interfaces import FoldedUsers

BACKEND = "fold_in_backend"
PARAMS = "fold_in_params"


def fold_in_arrays(backend: str, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The two arrays that name a backend and its JSON fold-in parameters."""
    text = json.dumps(dict(params), sort_keys=True)
    return {BACKEND: _utf8(backend), PARAMS: _utf8(text)}


def _utf8(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def _text(array: np.ndarray) -> str:
    return np.asarray(array, dtype=np.uint8).tobytes().decode("utf-8")


def stored_fold_in(arrays: Mapping[str, np.ndarray]) -> tuple[str, dict[str, Any]] | None:
    """The backend name and parameters stored by :func:`fold_in_arrays`, or None."""
    if BACKEND not in arrays or PARAMS not in arrays:
        return None
    return _text(arrays[BACKEND]), dict(json.loads(_text(arrays[PARAMS])))


def with_items(dataset: Dataset, keep: np.ndarray) -> Dataset:
    """``dataset`` with only the items where ``keep`` (a bool mask over items), their
    features, documents and interactions; item order (grouped by type) is kept."""
    keep = np.asarray(keep, dtype=bool)
    if keep.all():
        return dataset
    new_index = np.full(dataset.n_items, -1, dtype=np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    rows = new_index[dataset.item_index] >= 0
    documents = tuple(d for d, k in zip(dataset.item_documents, keep, strict=True) if k)
    return replace(
        dataset,
        item_ids=dataset.item_ids.take(np.flatnonzero(keep)),
        item_types=dataset.item_types[keep],
        item_features=sp.csr_matrix(dataset.item_features)[keep],
        item_documents=documents if dataset.item_documents else (),
        user_index=dataset.user_index[rows],
        item_index=new_index[dataset.item_index[rows]].astype(np.int32),
        ratings=dataset.ratings[rows],
        timestamps=dataset.timestamps[rows],
    )


def with_users(dataset: Dataset, users: np.ndarray) -> Dataset:
    """``dataset`` with only the user rows ``users`` (in that order), their features,
    texts and interactions; the items stay as they are."""
    users = np.asarray(users, dtype=np.int64)
    new_index = np.full(dataset.n_users, -1, dtype=np.int64)
    new_index[users] = np.arange(users.shape[0])
    rows = new_index[dataset.user_index] >= 0
    texts = tuple(dataset.user_texts[u] for u in users.tolist()) if dataset.user_texts else ()
    return replace(
        dataset,
        user_ids=dataset.user_ids.take(users),
        user_features=sp.csr_matrix(dataset.user_features)[users],
        user_texts=texts,
        user_index=new_index[dataset.user_index[rows]].astype(np.int32),
        item_index=dataset.item_index[rows],
        ratings=dataset.ratings[rows],
        timestamps=dataset.timestamps[rows],
    )


def query_rows_only(users: Dataset, rows: sp.csr_matrix) -> FoldedUsers:
    """The fold-in of an item-item model: no factors, only each user's new query row."""
    n = users.n_users
    return FoldedUsers(
        user_factors=np.zeros((n, 0), dtype=np.float32),
        user_bias=np.zeros(n, dtype=np.float32),
        user_items=sp.csr_matrix(rows, dtype=np.float32),
    )

"""Fold-in of new or changed users into published ALS and BPR models, items frozen.

ALS: the exact least-squares user solve of implicit-feedback ALS (the same normal
equations as implicit's ``recalculate_user``; tests compare the two)::

    x_u = (YᵀY + λI + Σ_i (c_ui − 1) y_i y_iᵀ)⁻¹ Σ_i c_ui y_i,   c_ui = alpha × weight_ui

BPR: implicit has no user-only update, so a few epochs of BPR's own stochastic
gradient step on the user vector alone, all users of a refresh at once: each
positive ``i`` of a user is paired with a sampled item ``j`` the user has not
interacted with, and ``u += lr × (σ(−x_uij) (y_i − y_j) − reg × u)``.
Both are numpy only (no implicit thread pool is started).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def als_user_factors(
    item_factors: np.ndarray, confidences: sp.csr_matrix, regularization: float
) -> np.ndarray:
    """(n, d) float32 exact ALS user vectors for the confidence rows ``confidences``.

    A user without interactions gets the zero vector (as in implicit).
    """
    items = np.asarray(item_factors, dtype=np.float64)
    d = items.shape[1]
    gram = items.T @ items + regularization * np.eye(d)
    rows = sp.csr_matrix(confidences, dtype=np.float64)
    result = np.zeros((rows.shape[0], d), dtype=np.float64)
    for user in range(rows.shape[0]):
        start, stop = rows.indptr[user], rows.indptr[user + 1]
        if start == stop:
            continue
        ys = items[rows.indices[start:stop]]
        c = rows.data[start:stop]
        a = gram + (ys.T * (c - 1.0)) @ ys
        result[user] = np.linalg.solve(a, ys.T @ c)
    return result.astype(np.float32)


def bpr_user_factors(
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    interactions: sp.csr_matrix,
    *,
    start: np.ndarray,
    learning_rate: float,
    regularization: float,
    epochs: int,
    seed: int,
) -> np.ndarray:
    """(n, d) float32 BPR user vectors trained from ``start`` against frozen items."""
    rng = np.random.default_rng(seed)
    rows = sp.csr_matrix(interactions)
    users = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    positives = rows.indices.astype(np.int64)
    n_items = item_factors.shape[0]
    vectors = np.array(start, dtype=np.float64)
    items = np.asarray(item_factors, dtype=np.float64)
    bias = np.asarray(item_bias, dtype=np.float64)
    seen = set(zip(users.tolist(), positives.tolist(), strict=True))
    for _ in range(epochs):
        negatives = rng.integers(0, n_items, size=positives.shape[0])
        clash = np.fromiter(
            ((u, j) in seen for u, j in zip(users.tolist(), negatives.tolist(), strict=True)),
            dtype=bool,
            count=positives.shape[0],
        )
        diff = items[positives[~clash]] - items[negatives[~clash]]
        owner = users[~clash]
        x = (
            np.einsum("ij,ij->i", vectors[owner], diff)
            + bias[positives[~clash]]
            - bias[negatives[~clash]]
        )
        step = (1.0 / (1.0 + np.exp(x)))[:, None] * diff - regularization * vectors[owner]
        update = np.zeros_like(vectors)
        np.add.at(update, owner, step)
        vectors += learning_rate * update
    return vectors.astype(np.float32)

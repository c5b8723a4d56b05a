"""Vectorised rankings and CSV rows of the legacy batch outputs (contract §11.5).

``i2u`` rows: for every user and each component, the top items of that component by
model score. ``i2i`` rows: for every item, the most cosine-similar other items. Both
are computed for blocks of rows with matrix products and a partition over contiguous
item slices (items are grouped by component in :class:`Dataset`), never with a
Python loop per (row, item) pair; :mod:`mlcore.legacy.csv_files` turns them into text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

import numpy as np
import scipy.sparse as sp

from mlcore.item_types import COMPONENT_INDEX, COMPONENTS, FAMILIES

SeenPolicy = Literal["exclude", "downrank"]
SimilarScope = Literal["any", "family"]

#: The original legacy script's down-ranking factor (the service's is 0.5, §9.1).
LEGACY_DOWNRANK_FACTOR = 0.3
#: Cells (rows × items) of one scoring block, about 16 MiB of float32.
BLOCK_CELLS = 4_000_000

#: Similarities of a slice of target items to all items: rows -> (B, I) float32.
SimilarityFunction = Callable[[slice], np.ndarray]


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best columns of every row, best first, ties by lower column.

    Args:
        scores: (B, n) float array; ``-inf`` marks excluded cells.
        k: How many per row (capped at ``n``).

    Returns:
        ``(columns, values)``, both (B, min(k, n)); excluded cells may be selected
        when a row has fewer than ``k`` finite cells, with value ``-inf``.
    """
    rows, n = scores.shape
    k = min(k, n)
    if k <= 0:
        return np.empty((rows, 0), dtype=np.int64), np.empty((rows, 0), dtype=scores.dtype)
    if k < n:
        # The k-th best value per row; ties with it are taken by lower column.
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        above = scores > kth
        ties = scores == kth
        room = k - above.sum(axis=1, keepdims=True)
        chosen = above | (ties & (np.cumsum(ties, axis=1) <= room))
        columns = np.nonzero(chosen)[1].reshape(rows, k)
    else:
        columns = np.broadcast_to(np.arange(n), (rows, n)).copy()
    values = np.take_along_axis(scores, columns, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1), np.take_along_axis(values, order, axis=1)


def positives_mask(
    indptr: np.ndarray, indices: np.ndarray, rows: slice, n_items: int
) -> np.ndarray:
    """(B, I) bool: the positive items of the users in ``rows`` (CSR arrays of all users)."""
    start, stop = int(indptr[rows.start]), int(indptr[rows.stop])
    counts = np.diff(np.asarray(indptr[rows.start : rows.stop + 1]))
    mask = np.zeros((rows.stop - rows.start, n_items), dtype=bool)
    mask[np.repeat(np.arange(counts.shape[0]), counts), np.asarray(indices[start:stop])] = True
    return mask


def apply_seen_policy(scores: np.ndarray, positives: np.ndarray, policy: SeenPolicy) -> None:
    """Exclude (``-inf``) or down-rank each user's positive items, in place.

    ``downrank`` is the legacy script's rule: a positive item loses
    ``0.3 × (max − min)`` of the scores of the user's other items, over all items.
    A user whose items are all positive (or none) is left unchanged.

    Args:
        scores: (B, I) float32 scores of a block of users.
        positives: (B, I) bool from :func:`positives_mask`.
        policy: ``"exclude"`` or ``"downrank"``.
    """
    if policy == "exclude":
        scores[positives] = -np.inf
        return
    highest = np.where(positives, -np.inf, scores).max(axis=1)
    lowest = np.where(positives, np.inf, scores).min(axis=1)
    penalty = np.float32(LEGACY_DOWNRANK_FACTOR) * (highest - lowest)
    penalty[~np.isfinite(penalty)] = 0.0
    rows, columns = np.nonzero(positives)
    scores[rows, columns] -= penalty[rows].astype(scores.dtype)


def block_bounds(total: int, width: int) -> Iterator[slice]:
    """Consecutive row slices covering ``total`` rows, about :data:`BLOCK_CELLS` cells each."""
    size = max(1, BLOCK_CELLS // max(1, width))
    for start in range(0, total, size):
        yield slice(start, min(total, start + size))


def user_item_block(
    scores: np.ndarray, type_offsets: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per user, the top ``count`` items of each component, components in order.

    Args:
        scores: (B, I) float32 after :func:`apply_seen_policy`.
        type_offsets: (len(COMPONENTS) + 1,) int64 slice bounds of each component.
        count: Items per user and component.

    Returns:
        ``(items, values)``, both (B, W): item columns and scores, user-major, then
        component, then rank; ``-inf`` values mark cells to drop.
    """
    parts = []
    for component in range(len(COMPONENTS)):
        start, stop = int(type_offsets[component]), int(type_offsets[component + 1])
        columns, values = top_k_rows(scores[:, start:stop], count)
        parts.append((columns + start, values))
    items = np.concatenate([p[0] for p in parts], axis=1)
    values = np.concatenate([p[1] for p in parts], axis=1)
    return items, values


def family_ids(item_types: np.ndarray) -> np.ndarray:
    """(I,) int8: equal values for components that share a Totara table (§9.2)."""
    lookup = np.array([COMPONENT_INDEX[FAMILIES[name][0]] for name in COMPONENTS], dtype=np.int8)
    return lookup[item_types.astype(np.int64)]


def similar_block(
    similarity: np.ndarray,
    rows: slice,
    count: int,
    *,
    families: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` most similar other items of the items in ``rows``.

    Args:
        similarity: (B, I) float32 similarities of the targets in ``rows`` to all
            items, ``-inf`` where there is no relation; modified in place.
        rows: The target items of this block.
        count: Similar items per target.
        families: (I,) family ids to keep each target's own family only, or None
            for items of any type (the original's behaviour).

    Returns:
        ``(items, values)``, both (B, min(count, I)); ``-inf`` marks cells to drop.
    """
    targets = np.arange(rows.start, rows.stop)
    similarity[np.arange(targets.shape[0]), targets] = -np.inf
    if families is not None:
        similarity[families[rows][:, None] != families[None, :]] = -np.inf
    return top_k_rows(similarity, count)


def cooccurrence_rows(interactions: sp.csr_matrix) -> SimilarityFunction:
    """Cosine of the items' interaction columns; items never used together have no relation.

    The fallback for models without item vectors (e.g. ``popularity``), so that
    ``i2i`` still lists items that the same learners used.

    Args:
        interactions: (U, I) CSR, non-zero where a user interacted with an item.
    """
    binary = sp.csc_matrix((interactions != 0).astype(np.float32))
    norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    columns = sp.csc_matrix(binary @ sp.diags(scale.astype(np.float32)))
    everything = columns.tocsr()

    def similarity(rows: slice) -> np.ndarray:
        values = np.asarray((columns[:, rows].T @ everything).toarray(), dtype=np.float32)
        values[values <= 0] = -np.inf
        return values

    return similarity

"""Top-n selection over score vectors: deterministic, ties broken by item index."""

from __future__ import annotations

import numpy as np


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest finite scores, best first, ties by lower index.

    Args:
        scores: (K,) float array; ``-inf`` marks excluded entries.
        n: How many to return (fewer when fewer finite scores exist).

    Returns:
        (min(n, finite),) int64 indices into ``scores``.
    """
    finite = int(np.count_nonzero(np.isfinite(scores)))
    k = min(n, finite)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k < scores.shape[0]:
        kth = np.partition(scores, scores.shape[0] - k)[scores.shape[0] - k]
        above = np.flatnonzero(scores > kth)
        ties = np.flatnonzero(scores == kth)[: k - above.shape[0]]
        chosen = np.concatenate([above, ties])
    else:
        chosen = np.arange(scores.shape[0])
    order = np.lexsort((chosen, -scores[chosen].astype(np.float64)))
    return chosen[order].astype(np.int64)


#: Consecutive columns per chunk when looking for each row's candidates (see :func:`_candidates`).
_CHUNK = 32


def top_n_rows(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_n` for every row of a 2-D array at once.

    Rows whose top ``n`` are all finite (the usual case) are selected together; the
    others (fewer finite scores than ``n``, NaN or ``+inf``) go through :func:`top_n`.

    Args:
        scores: (B, K) float array; ``-inf`` marks excluded entries.
        n: How many to return per row.

    Returns:
        ``(top, counts)``: (B, min(n, K)) int64 indices, row ``b`` holding
        ``top_n(scores[b], n)`` in its first ``counts[b]`` columns and -1 after them.
    """
    rows, width = scores.shape
    m = min(max(n, 0), width)
    top = np.full((rows, m), -1, dtype=np.int64)
    counts = np.zeros(rows, dtype=np.int64)
    if m == 0 or rows == 0:
        return top, counts
    values, index = _candidates(scores, m)
    length = values.shape[1]
    upper = np.partition(values, length - m, axis=1)[:, length - m :]
    fast = np.flatnonzero(np.isfinite(upper).all(axis=1))
    if fast.size:
        top[fast] = _select_finite(values[fast], index[fast], upper[fast, 0], m)
        counts[fast] = m
    for row in np.setdiff1d(np.arange(rows), fast, assume_unique=True):
        chosen = top_n(scores[row], n)
        top[row, : chosen.shape[0]] = chosen
        counts[row] = chosen.shape[0]
    return top, counts


def _candidates(scores: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, entries in increasing column order that include every score >= its m-th best.

    Columns are cut into chunks of ``_CHUNK``. A row's m-th highest chunk maximum is at
    most its m-th highest score, so chunks whose maximum is below it hold nothing of the
    top m, nor ties with it; only the others are gathered (the whole row when that would
    not save much).

    Returns:
        ``(values, index)``: (B, L) scores (``-inf`` for padding) and their columns.
    """
    rows, width = scores.shape
    n_chunks = -(-width // _CHUNK)
    if 2 * m * _CHUNK >= width:
        return scores, np.broadcast_to(np.arange(width), scores.shape)
    maxima = np.maximum.reduceat(scores, np.arange(0, width, _CHUNK), axis=1)
    bound = np.partition(maxima, n_chunks - m, axis=1)[:, n_chunks - m]
    finite = np.isfinite(bound)
    wanted = np.count_nonzero(maxima[finite] >= bound[finite, None], axis=1)
    keep = max(m, int(wanted.max(initial=0)))
    if 2 * keep * _CHUNK >= width:
        return scores, np.broadcast_to(np.arange(width), scores.shape)
    chunks = np.sort(np.argpartition(maxima, n_chunks - keep, axis=1)[:, n_chunks - keep :])
    index = (chunks[:, :, None] * _CHUNK + np.arange(_CHUNK)).reshape(rows, -1)
    inside = index < width
    values = np.take_along_axis(scores, np.minimum(index, width - 1), axis=1)
    values[~inside] = -np.inf
    return values, index


def _select_finite(values: np.ndarray, index: np.ndarray, kth: np.ndarray, m: int) -> np.ndarray:
    """The top ``m`` of rows whose ``m``-th best value ``kth`` is finite, as column indices."""
    above = values > kth[:, None]
    tied = values == kth[:, None]
    missing = m - np.count_nonzero(above, axis=1)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= missing[:, None]))
    picked = np.nonzero(chosen)
    columns = index[picked].reshape(-1, m)
    picked_values = values[picked].reshape(-1, m).astype(np.float64)
    order = np.lexsort((columns, -picked_values), axis=-1)
    return np.take_along_axis(columns, order, axis=1)

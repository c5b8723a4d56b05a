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

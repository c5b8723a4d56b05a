"""EASE's closed form (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

``B = I - P · diag(1 / diag(P))`` with ``P = (XᵀX + λI)⁻¹``, so the diagonal of
``B`` is zero and ``B[j, i] = -P[j, i] / P[i, i]``. Only items with at least one
interaction take part (an item nobody touched has a zero row and column); the
inverse is a float32 Cholesky factorisation and inversion (LAPACK ``spotrf`` and
``spotri``): about ``n³`` flops for ``n`` active items, 11 CPU seconds at 10,000
items on one core of the benchmark machine. Memory: the (I, I) float32 result plus
one n×n float32 working matrix.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from mlcore.errors import MLCoreError

#: Items of the matrix timed to calibrate :func:`predicted_seconds`.
CALIBRATION_ITEMS = 600


def gram(matrix: sp.csr_matrix, active: np.ndarray) -> np.ndarray:
    """(n, n) float32 ``XᵀX`` of the ``active`` item columns of ``matrix`` (U, I)."""
    columns = sp.csc_matrix(matrix, dtype=np.float32)[:, active]
    return np.asarray((columns.T @ columns).toarray(), dtype=np.float32)


def ease_weights(matrix: sp.csr_matrix, regularization: float, threads: int = 1) -> np.ndarray:
    """(I, I) float32 EASE weights of the (U, I) interaction-weight matrix ``matrix``.

    Args:
        matrix: User-item weights (CSR).
        regularization: λ > 0, added to the diagonal of ``XᵀX``.
        threads: BLAS threads for the factorisation.

    Raises:
        ValueError: ``regularization`` is not positive.
        MLCoreError: The regularised Gram matrix is not positive definite (cannot
            happen for λ > 0 unless the weights are not finite).
    """
    if not regularization > 0:
        raise ValueError(f"EASE regularization must be > 0, got {regularization}")
    n_items = matrix.shape[1]
    active = np.flatnonzero(np.diff(sp.csc_matrix(matrix).indptr) > 0)
    weights = np.zeros((n_items, n_items), dtype=np.float32)
    if active.size == 0:
        return weights
    g = gram(matrix, active)
    g[np.diag_indices_from(g)] += np.float32(regularization)
    with blas_threads(threads):
        p = inverse_spd(g)
    block = -p / np.diag(p)[None, :]
    np.fill_diagonal(block, 0.0)
    weights[np.ix_(active, active)] = block
    return weights


def inverse_spd(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive-definite float32 matrix (overwrites ``matrix``).

    Raises:
        MLCoreError: Not positive definite.
    """
    factor, info = lapack.spotrf(matrix, lower=True, overwrite_a=True, clean=False)
    if info != 0:
        raise MLCoreError(f"EASE: XᵀX + λI is not positive definite (LAPACK info {info})")
    inverse, info = lapack.spotri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise MLCoreError(f"EASE: inverting XᵀX + λI failed (LAPACK info {info})")
    lower = np.tril(inverse)
    return lower + np.tril(lower, -1).T


def predicted_seconds(n_active: int, threads: int = 1) -> float:
    """CPU seconds one :func:`ease_weights` of ``n_active`` items is predicted to take.

    Times one factorisation of a small matrix on this machine now and scales it by
    ``(n / CALIBRATION_ITEMS)³`` (the cost is cubic), with 20% for the rest.
    """
    rng = np.random.default_rng(0)
    sample = rng.random((CALIBRATION_ITEMS, 64), dtype=np.float32)
    matrix = sample @ sample.T + np.eye(CALIBRATION_ITEMS, dtype=np.float32)
    started = time.process_time()
    with blas_threads(threads):
        inverse_spd(matrix)
    seconds = max(time.process_time() - started, 1e-4)
    return 1.2 * seconds * (max(n_active, 1) / CALIBRATION_ITEMS) ** 3


@contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """Limit BLAS to ``threads`` threads (one thread: the same model on every run)."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - only when fitting

    with threadpool_limits(max(threads, 1), "blas"):
        yield

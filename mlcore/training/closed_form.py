"""Shared pieces of the closed-form linear item-item models (``ease``, ``sequence``).

Both solve a ridge regression over items in closed form: a float32 Gram matrix of
the active items, its inverse by a Cholesky factorisation (LAPACK ``spotrf`` and
``spotri``, about ``n³`` flops for ``n`` active items), BLAS limited to a number of
threads (one thread: bit-identical models), a cost prediction calibrated on the
machine before a fit starts (so a fit that cannot fit the CPU budget refuses before
it works), and a limit on the catalogue (their model is a dense I×I matrix). Their
recommenders share :mod:`mlcore.training.closed_form_recommender`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from mlcore.dataset import Dataset
from mlcore.errors import ConfigError, MLCoreError

#: Side of the matrix product timed to calibrate :func:`predicted_seconds` (about 20 ms).
CALIBRATION_SIZE = 1024
#: Rows of a tall sparse matrix multiplied at once by :func:`gram` (bounds the sparse
#: intermediate of a large tenant).
GRAM_ROWS = 100_000


def active_columns(matrix: sp.spmatrix) -> np.ndarray:
    """(n,) int64 columns of ``matrix`` with at least one stored entry."""
    return np.flatnonzero(np.diff(sp.csc_matrix(matrix).indptr) > 0)


def gram(matrix: sp.spmatrix, active: np.ndarray) -> np.ndarray:
    """(n, n) float32 ``XᵀX`` of the ``active`` columns of ``matrix`` (rows × I), summed
    over blocks of :data:`GRAM_ROWS` rows."""
    rows = sp.csr_matrix(matrix, dtype=np.float32)
    result = np.zeros((active.size, active.size), dtype=np.float32)
    for start in range(0, rows.shape[0], GRAM_ROWS):
        block = sp.csc_matrix(rows[start : start + GRAM_ROWS])[:, active]
        result += (block.T @ block).toarray()
    return result


def inverse_spd(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive-definite float32 matrix (overwrites ``matrix``).

    Raises:
        MLCoreError: Not positive definite.
    """
    factor, info = lapack.spotrf(matrix, lower=True, overwrite_a=True, clean=False)
    if info != 0:
        raise MLCoreError(f"XᵀX + λI is not positive definite (LAPACK info {info})")
    inverse, info = lapack.spotri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise MLCoreError(f"inverting XᵀX + λI failed (LAPACK info {info})")
    lower = np.tril(inverse)
    return lower + np.tril(lower, -1).T


def predicted_seconds(n_active: int, threads: int = 1, product_columns: int = 0) -> float:
    """CPU seconds an inverse of ``n_active`` items (and, with ``product_columns``, its
    product with an ``n_active × product_columns`` matrix) is predicted to take.

    Counts flops (the Cholesky inverse at half the speed of a matrix product:
    ``2·n³`` product-flops; the product ``2·n²·m``) at the speed of a
    :data:`CALIBRATION_SIZE`³ float32 matrix product timed on this machine now, plus 20%.
    Measured on the benchmark machine (one thread): 10,000 items predicted 18 s, took
    11–15 s; 5,266 items and 9,742 columns predicted 6.2 s, took 5.5 s.
    """
    n = max(n_active, 1)
    flops = 1.5 * n**3 + 2.0 * n * n * max(product_columns, 0)
    return 1.2 * flops / product_flop_rate(threads)


def product_flop_rate(threads: int = 1) -> float:
    """Flops per CPU second of a float32 matrix product on this machine now (best of two)."""
    rng = np.random.default_rng(0)
    a = rng.random((CALIBRATION_SIZE, CALIBRATION_SIZE), dtype=np.float32)
    best = np.inf
    with blas_threads(threads):
        for _ in range(2):
            started = time.process_time()
            a @ a
            best = min(best, time.process_time() - started)
    return 2.0 * CALIBRATION_SIZE**3 / max(best, 1e-4)


def cores() -> int:
    """Cores this process may run on (more BLAS threads than these only spin and add CPU
    seconds, not speed)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


@contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """Limit BLAS to ``threads`` threads (one thread: the same model on every run)."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - only when fitting

    with threadpool_limits(max(threads, 1), "blas"):
        yield


def check_item_limit(backend: str, dataset: Dataset, limit: int) -> None:
    """Refuse a catalogue above ``limit`` items: the model is a dense I×I float32 matrix.

    Raises:
        ConfigError: Naming the limit, the memory the matrix would take and the
            alternatives.
    """
    if dataset.n_items <= limit:
        return
    gib = 4 * dataset.n_items**2 / 2**30
    raise ConfigError(
        f"{backend}: tenant {dataset.tenant} has {dataset.n_items:,} items, above the "
        f"{backend} option max_items={limit:,} (its dense item-item matrix would take "
        f"{gib:.1f} GiB). Raise max_items in ML_RECOMMENDER_OPTIONS if the memory is "
        "there, or use a backend that does not grow with the square of the catalogue "
        "(lightfm, implicit-als or item-knn)."
    )

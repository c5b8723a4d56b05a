"""The transition model's closed form (SLIT: Choi et al. 2021, "Session-aware Linear
Item-Item Models for Session-based Recommendation", the transition part).

``B = argmin ||T - S·B||² + λ||B||² = (SᵀS + λI)⁻¹ SᵀT`` where ``S`` holds the
source rows and ``T`` the target rows of every split point of every user's sequence
(:mod:`plugins.sequence_recommender.sequences`): ``B[j, i]`` is how much having
taken ``j`` recently predicts taking ``i`` next. Only items that occur in a source
row take part in the inverse (others have zero rows); the diagonal is set to 0
(an item never follows itself: a user has one interaction per item).

Cost: the Gram matrix, one float32 inverse of ``n`` source items (``n³`` flops,
:mod:`mlcore.training.closed_form`) and one ``n × n × I`` product. Memory: the
(I, I) float32 result plus two ``n × n`` / ``n × I`` float32 working matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mlcore.training.closed_form import active_columns, blas_threads, gram, inverse_spd


@dataclass(frozen=True, eq=False)
class TransitionSystem:
    """The λ-independent parts of the solve, computed once and reused by every λ.

    Attributes:
        active: (n,) items that occur in a source row.
        gram: (n, n) float32 ``SᵀS`` over them.
        cross: (n, I) float32 ``SᵀT``.
        n_items: I.
    """

    active: np.ndarray
    gram: np.ndarray
    cross: np.ndarray
    n_items: int

    @classmethod
    def of(cls, sources: sp.csr_matrix, targets: sp.csr_matrix) -> TransitionSystem:
        active = active_columns(sources)
        columns = sp.csc_matrix(sources, dtype=np.float32)[:, active]
        cross = np.asarray((columns.T @ targets).toarray(), dtype=np.float32)
        return cls(active, gram(sources, active), cross, sources.shape[1])

    def solve(self, regularization: float, threads: int = 1) -> np.ndarray:
        """(I, I) float32 ``B`` for λ = ``regularization``.

        Raises:
            ValueError: ``regularization`` is not positive.
        """
        if not regularization > 0:
            raise ValueError(f"sequence regularization must be > 0, got {regularization}")
        weights = np.zeros((self.n_items, self.n_items), dtype=np.float32)
        if self.active.size == 0:
            return weights
        system = self.gram.copy()
        system[np.diag_indices_from(system)] += np.float32(regularization)
        with blas_threads(threads):
            inverse = inverse_spd(system)
            if self.active.size == self.n_items:  # no (n, I) temporary
                np.matmul(inverse, self.cross, out=weights)
            else:
                weights[self.active] = inverse @ self.cross
        np.fill_diagonal(weights, 0.0)
        return weights


def transition_weights(
    sources: sp.csr_matrix, targets: sp.csr_matrix, regularization: float, threads: int = 1
) -> np.ndarray:
    """(I, I) float32 ``(SᵀS + λI)⁻¹ SᵀT`` with a zero diagonal."""
    return TransitionSystem.of(sources, targets).solve(regularization, threads)

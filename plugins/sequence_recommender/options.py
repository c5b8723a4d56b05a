"""Options of the ``sequence`` recommender plugin (``ML_RECOMMENDER_OPTIONS``).

See ``docs/sequence.md`` for the table and the measurements behind the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SequenceOptions:
    """Options of ``sequence``; the model options are where tuning starts.

    Attributes:
        regularization: λ added to the diagonal of ``SᵀS`` (tuned).
        history: A user's most recent interactions each source row (and each user's
            query) holds.
        history_half_life: Positions back at which a history item weighs half as much
            as the newest.
        horizon: Interactions after a split point each target row holds.
        horizon_half_life: Positions ahead at which a target weighs half as much as
            the next one.
        max_items: Largest catalogue accepted: the model is a dense I×I float32
            matrix (4·I² bytes: 1.6 GB at 20,000 items); above it ``fit`` refuses with a
            ``ConfigError``.
        top_k: 0 serves the dense matrix (kind ``item_item``); K > 0 keeps each item's
            K weights of largest magnitude (kind ``neighbours``, 8·K·I bytes).
        num_threads: BLAS threads of the solve; 0 means ``ML_NUM_THREADS``.
        tune_regularization: Bounds of λ (log scale).
        tune_max_users: Validation users sampled for scoring trials.
    """

    regularization: float = 300.0
    history: int = 40
    history_half_life: float = 10.0
    horizon: int = 5
    horizon_half_life: float = 2.0
    max_items: int = 20_000
    top_k: int = 0
    num_threads: int = 0
    tune_regularization: tuple[float, float] = (10.0, 10_000.0)
    tune_max_users: int = 2000

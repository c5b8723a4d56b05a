"""Options of the ``ease`` recommender plugin (``ML_RECOMMENDER_OPTIONS``).

See ``docs/ease.md`` for the table and the reasons behind the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlcore.training.recency import RecencyKind


@dataclass(frozen=True)
class EaseOptions:
    """Options of ``ease``; the model options are where tuning starts.

    Attributes:
        regularization: λ added to the diagonal of ``XᵀX``.
        use_ratings: ``X`` holds ``rating + 1`` instead of 1 per interaction (measured
            worse on the demo data, docs/ease.md).
        recency: ``"off"``, ``"position"`` or ``"time"`` (see
            :mod:`mlcore.training.recency`).
        recency_half_life: Positions or days at which an interaction weighs half.
        max_items: Largest catalogue accepted: the model is a dense I×I float32
            matrix (4·I² bytes: 1.6 GB at 20,000 items); above it ``fit`` refuses
            with a ``ConfigError``.
        top_k: 0 serves the dense matrix (kind ``item_item``); K > 0 keeps each
            item's K weights of largest magnitude (kind ``neighbours``, 8·K·I bytes),
            at a measured quality cost (docs/ease.md).
        num_threads: BLAS threads of the factorisation; 0 means ``ML_NUM_THREADS``.
        tune_regularization: Bounds of λ (log scale).
        tune_recency: Recency kinds tried.
        tune_half_life_positions: Bounds of the half-life in positions (log scale).
        tune_half_life_days: Bounds of the half-life in days (log scale).
        tune_max_users: Validation users sampled for scoring trials.
    """

    regularization: float = 200.0
    use_ratings: bool = False
    recency: RecencyKind = "off"
    recency_half_life: float = 40.0
    max_items: int = 20_000
    top_k: int = 0
    num_threads: int = 0
    tune_regularization: tuple[float, float] = (1.0, 5000.0)
    tune_recency: tuple[RecencyKind, ...] = ("off", "position", "time")
    tune_half_life_positions: tuple[float, float] = (10.0, 500.0)
    tune_half_life_days: tuple[float, float] = (7.0, 2000.0)
    tune_max_users: int = 2000

"""Recommender plugin ``ease``: EASE (Steck 2019), a closed-form item-item model.

Modules: ``options`` (typed options), ``closed_form`` (the numpy/LAPACK solver),
``recommender`` (fit, export, tuning of λ and recency). Serving uses the arrays
only (kind ``item_item``, or ``neighbours`` with ``top_k``). See ``docs/ease.md``.
"""

from __future__ import annotations

from mlcore.config import Settings
from mlcore.errors import ConfigError
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import RecommenderRecord
from mlcore.training.closed_form import cores
from mlcore.training.recency import Recency
from plugins.ease_recommender.options import EaseOptions
from plugins.ease_recommender.recommender import EaseRecommender

__all__ = ["EaseOptions", "EaseRecommender", "make_ease", "mlcore_recommenders"]


def make_ease(
    *, options: EaseOptions | None = None, settings: Settings | None = None
) -> EaseRecommender:
    """A new ``ease`` recommender (options checked here, before any training)."""
    options = options or EaseOptions()
    try:
        Recency(options.recency, options.recency_half_life)
    except ValueError as exc:
        raise ConfigError(f"ease option: {exc}") from None
    low, high = options.tune_regularization
    checks = [
        (options.regularization > 0, "regularization must be > 0"),
        (options.max_items >= 1, "max_items must be >= 1"),
        (options.top_k >= 0 and options.num_threads >= 0, "top_k and num_threads must be >= 0"),
        (0 < low <= high, "tune_regularization must be 0 < low <= high"),
        (bool(options.tune_recency), "tune_recency must not be empty"),
        (options.tune_max_users >= 1, "tune_max_users must be >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"ease option: {message}")
    # More BLAS threads than cores only spin: they add CPU seconds, not speed.
    threads = min(options.num_threads or (settings.num_threads if settings else 1), cores())
    seed = settings.seed if settings else 42
    return EaseRecommender(options, seed=seed, num_threads=threads)


@hookimpl
def mlcore_recommenders() -> list[RecommenderRecord]:
    return [
        RecommenderRecord(
            name="ease",
            factory=make_ease,
            options_type=EaseOptions,
            description="EASE: closed-form item-item model (numpy/LAPACK), λ and recency tuned",
        )
    ]

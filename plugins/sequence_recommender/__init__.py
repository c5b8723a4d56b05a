"""Recommender plugin ``sequence``: what users take next, from their time-ordered histories.

A closed-form linear transition model (SLIT, Choi et al. 2021) with numpy/scipy/LAPACK
only. Modules: ``options`` (typed options), ``sequences`` (source, target and query
rows of the users' histories), ``closed_form`` (the solve), ``recommender`` (fit,
export, tuning of λ). Serving uses the arrays only (kind ``item_item``, or
``neighbours`` with ``top_k``). See ``docs/sequence.md``.
"""

from __future__ import annotations

from mlcore.config import Settings
from mlcore.errors import ConfigError
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import RecommenderRecord
from mlcore.training.closed_form import cores
from plugins.sequence_recommender.options import SequenceOptions
from plugins.sequence_recommender.recommender import SequenceRecommender

__all__ = ["SequenceOptions", "SequenceRecommender", "make_sequence", "mlcore_recommenders"]


def make_sequence(
    *, options: SequenceOptions | None = None, settings: Settings | None = None
) -> SequenceRecommender:
    """A new ``sequence`` recommender (options checked here, before any training)."""
    options = options or SequenceOptions()
    low, high = options.tune_regularization
    checks = [
        (options.regularization > 0, "regularization must be > 0"),
        (options.history >= 1 and options.horizon >= 1, "history and horizon must be >= 1"),
        (
            options.history_half_life > 0 and options.horizon_half_life > 0,
            "history_half_life and horizon_half_life must be > 0",
        ),
        (options.max_items >= 1, "max_items must be >= 1"),
        (options.top_k >= 0 and options.num_threads >= 0, "top_k and num_threads must be >= 0"),
        (0 < low <= high, "tune_regularization must be 0 < low <= high"),
        (options.tune_max_users >= 1, "tune_max_users must be >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"sequence option: {message}")
    threads = min(options.num_threads or (settings.num_threads if settings else 1), cores())
    return SequenceRecommender(options, seed=settings.seed if settings else 42, num_threads=threads)


@hookimpl
def mlcore_recommenders() -> list[RecommenderRecord]:
    return [
        RecommenderRecord(
            name="sequence",
            factory=make_sequence,
            options_type=SequenceOptions,
            description="what users take next: closed-form transition model (SLIT), λ tuned",
        )
    ]

"""Recommender plugin ``lightfm``: LightFM in ``mf``, ``partial`` or ``hybrid`` mode.

The package announces :class:`~plugins.lightfm_recommender.recommender.LightFMRecommender`;
its modules: ``options`` (typed options and search space), ``features`` (per-mode
feature matrices, with ``text_features`` and ``stopwords`` for ``hybrid``), ``tuning``
(the epoch-wise Optuna objective), ``budget`` (time budget of tuning and final fit).
See ``docs/lightfm.md``.
"""

from __future__ import annotations

from mlcore.config import Settings
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import RecommenderRecord
from plugins.lightfm_recommender.options import LightFMOptions
from plugins.lightfm_recommender.recommender import LightFMRecommender


def _make(*, options: LightFMOptions, settings: Settings | None = None) -> LightFMRecommender:
    return LightFMRecommender(options, settings)


@hookimpl
def mlcore_recommenders() -> list[RecommenderRecord]:
    return [
        RecommenderRecord(
            name="lightfm",
            factory=_make,
            options_type=LightFMOptions,
            description="LightFM (mf, partial or hybrid), tuned on NDCG@10 with pruning by epoch",
        )
    ]

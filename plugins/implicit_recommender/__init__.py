"""Recommender plugins ``implicit-als``, ``implicit-bpr`` and ``item-knn`` (library ``implicit``).

ALS and BPR are matrix factorisations and export ``"factors"`` serving arrays like
LightFM; ``item-knn`` (see :mod:`plugins.implicit_recommender.item_knn`) exports
``"neighbours"``. Serving never calls implicit: its ``recommend`` pads short
results with item 0 and score -3.4e38, so only the exported arrays are used.
Nothing is pickled; the manifest records the options.

Options come from ``ML_RECOMMENDER_OPTIONS`` (JSON object) or the same key in the
``ML_CONFIG_FILE`` TOML, e.g. ``ML_RECOMMENDER=implicit-als`` with
``ML_RECOMMENDER_OPTIONS='{"factors": 32, "alpha": 5}'``.
"""

from __future__ import annotations

from mlcore.config import Settings
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import RecommenderRecord
from plugins.implicit_recommender.factor_models import (
    ImplicitALSOptions,
    ImplicitALSRecommender,
    ImplicitBPROptions,
    ImplicitBPRRecommender,
)
from plugins.implicit_recommender.item_knn import ItemKNNOptions, ItemKNNRecommender
from plugins.implicit_recommender.support import (
    check_positive,
    import_implicit,
    resolve_seed,
    resolve_threads,
)

__all__ = [
    "ImplicitALSOptions",
    "ImplicitALSRecommender",
    "ImplicitBPROptions",
    "ImplicitBPRRecommender",
    "ItemKNNOptions",
    "ItemKNNRecommender",
    "make_als",
    "make_bpr",
    "make_item_knn",
    "mlcore_recommenders",
]


def make_als(
    *, options: ImplicitALSOptions | None = None, settings: Settings | None = None
) -> ImplicitALSRecommender:
    """A new ``implicit-als`` recommender (checks that implicit is installed)."""
    options = options or ImplicitALSOptions()
    check_positive(options, "factors", "iterations", "alpha")
    import_implicit("implicit.cpu.als", ImplicitALSRecommender.backend)
    return ImplicitALSRecommender(
        options,
        seed=resolve_seed(options.seed, settings),
        num_threads=resolve_threads(options.num_threads, settings),
    )


def make_bpr(
    *, options: ImplicitBPROptions | None = None, settings: Settings | None = None
) -> ImplicitBPRRecommender:
    """A new ``implicit-bpr`` recommender (checks that implicit is installed)."""
    options = options or ImplicitBPROptions()
    check_positive(options, "factors", "iterations", "learning_rate")
    import_implicit("implicit.cpu.bpr", ImplicitBPRRecommender.backend)
    return ImplicitBPRRecommender(
        options,
        seed=resolve_seed(options.seed, settings),
        num_threads=resolve_threads(options.num_threads, settings),
    )


def make_item_knn(
    *, options: ItemKNNOptions | None = None, settings: Settings | None = None
) -> ItemKNNRecommender:
    """A new ``item-knn`` recommender (checks that implicit is installed)."""
    options = options or ItemKNNOptions()
    check_positive(options, "neighbours")
    import_implicit("implicit.nearest_neighbours", ItemKNNRecommender.backend)
    return ItemKNNRecommender(options, num_threads=resolve_threads(options.num_threads, settings))


@hookimpl
def mlcore_recommenders() -> list[RecommenderRecord]:
    return [
        RecommenderRecord(
            name="implicit-als",
            factory=make_als,
            options_type=ImplicitALSOptions,
            description="implicit: alternating least squares on implicit feedback (CPU)",
        ),
        RecommenderRecord(
            name="implicit-bpr",
            factory=make_bpr,
            options_type=ImplicitBPROptions,
            description="implicit: Bayesian personalised ranking (CPU)",
        ),
        RecommenderRecord(
            name="item-knn",
            factory=make_item_knn,
            options_type=ItemKNNOptions,
            description="implicit: item-item nearest neighbours, cosine or BM25",
        ),
    ]

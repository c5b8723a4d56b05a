"""implicit backends: lazy import, typed options from settings, exports that match implicit."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlcore.config import Settings, load_settings
from mlcore.configured import configured_plugins
from mlcore.dataset import Dataset
from mlcore.errors import ConfigError
from mlcore.interfaces import ServingArrays
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from mlcore.training.evaluation import serving_scores
from plugins.implicit_recommender import (
    ImplicitALSOptions,
    ImplicitBPROptions,
    make_als,
    make_bpr,
    make_item_knn,
)
from plugins.implicit_recommender.item_knn import ItemKNNOptions
from plugins.popularity_recommender import PopularityOptions, PopularityRecommender
from tests.contracts.recommender_contract import direct_ranking
from tests.support.recommender_data import (
    BLOCKS,
    ITEMS,
    block_dataset,
    make_dataset,
    random_dataset,
)

ONE_THREAD = Settings(num_threads=1, seed=3)


def test_importing_the_plugin_does_not_import_implicit(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in list(sys.modules):
        if module.split(".")[0] == "implicit" or module.startswith(
            ("plugins.implicit", "plugins.item_knn")
        ):
            monkeypatch.delitem(sys.modules, module)
    module = importlib.import_module("plugins.implicit_recommender")
    assert [record.name for record in module.mlcore_recommenders()] == [
        "implicit-als",
        "implicit-bpr",
        "item-knn",
    ]
    assert "implicit" not in sys.modules


@pytest.mark.parametrize("name", ["implicit-als", "implicit-bpr", "item-knn"])
def test_missing_extra_says_how_to_install(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in [m for m in sys.modules if m == "implicit" or m.startswith("implicit.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "implicit", None)
    registry = Registry(make_plugin_manager())
    with pytest.raises(ConfigError, match=r"pip install 'mlservice\[implicit\]'"):
        registry.create("recommender", name, settings=ONE_THREAD)


def test_options_come_from_the_environment_json() -> None:
    settings = load_settings(
        {
            "ML_RECOMMENDER": "implicit-als",
            "ML_RECOMMENDER_OPTIONS": '{"factors": 12, "alpha": 3.5, "iterations": "4"}',
            "ML_NUM_THREADS": "2",
            "ML_SEED": "11",
        }
    )
    recommender = configured_plugins(settings).recommender("implicit-als")
    assert recommender.options == ImplicitALSOptions(factors=12, alpha=3.5, iterations=4)
    assert (recommender.seed, recommender.num_threads) == (11, 2)


def test_options_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "ml.toml"
    config.write_text(
        'ML_RECOMMENDER = "item-knn"\n'
        "[ML_RECOMMENDER_OPTIONS]\n"
        'similarity = "bm25"\n'
        "neighbours = 7\n",
        encoding="utf-8",
    )
    settings = load_settings({"ML_CONFIG_FILE": str(config)})
    recommender = configured_plugins(settings).recommender(settings.recommender)
    assert recommender.options == ItemKNNOptions(similarity="bm25", neighbours=7)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("item-knn", {"similarity": "jaccard"}, "not one of cosine, bm25"),
        ("item-knn", {"neighbours": 0}, "neighbours must be > 0"),
        ("implicit-als", {"factors": -1}, "factors must be > 0"),
        ("implicit-bpr", {"learning_rate": "fast"}, "is not a float"),
        ("implicit-als", {"num_threads": -2}, "num_threads must be >= 0"),
    ],
)
def test_bad_options_are_clear_errors(name: str, options: dict, message: str) -> None:
    registry = Registry(make_plugin_manager())
    with pytest.raises(ConfigError, match=message):
        registry.create("recommender", name, options, settings=ONE_THREAD)


def test_backends_are_constructible_without_the_registry() -> None:
    dataset = block_dataset()
    for make in (make_als, make_bpr, make_item_knn):
        serving = make().fit(dataset).export()
        assert serving.user_factors.shape[0] == dataset.n_users


def test_als_export_is_implicits_factors_with_alpha_confidence() -> None:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    dataset = block_dataset()
    options = ImplicitALSOptions(factors=6, iterations=5, alpha=4.0, regularization=0.1)
    serving = make_als(options=options, settings=ONE_THREAD).fit(dataset).export()
    with threadpool_limits(1, "blas"):
        reference = AlternatingLeastSquares(
            factors=6, iterations=5, alpha=4.0, regularization=0.1, num_threads=1, random_state=3
        )
        reference.fit(dataset.weights, show_progress=False)
    np.testing.assert_array_equal(serving.user_factors, reference.user_factors)
    np.testing.assert_array_equal(serving.item_factors, reference.item_factors)
    assert not serving.item_bias.any() and not serving.user_bias.any()


def test_bpr_splits_the_item_bias_column_out_of_the_factors() -> None:
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from threadpoolctl import threadpool_limits

    dataset = block_dataset()
    options = ImplicitBPROptions(factors=5, iterations=20)
    serving = make_bpr(options=options, settings=ONE_THREAD).fit(dataset).export()
    with threadpool_limits(1, "blas"):
        reference = BayesianPersonalizedRanking(
            factors=5, iterations=20, learning_rate=0.01, num_threads=1, random_state=3
        )
        reference.fit(dataset.weights, show_progress=False)
    assert serving.item_factors.shape == (dataset.n_items, 5)
    assert serving.user_factors.shape == (dataset.n_users, 5)
    assert np.abs(serving.item_bias).max() > 0
    expected = reference.user_factors @ reference.item_factors.T
    ours = serving.user_factors @ serving.item_factors.T + serving.item_bias[None, :]
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Method expects CSR input")
@pytest.mark.parametrize("similarity", ["cosine", "bm25"])
def test_item_knn_scores_match_implicits_recommend(similarity: str) -> None:
    import implicit.nearest_neighbours as nearest

    dataset = random_dataset(seed=5)
    options = ItemKNNOptions(similarity=similarity, neighbours=dataset.n_items)
    serving = make_item_knn(options=options, settings=ONE_THREAD).fit(dataset).export()
    model_type = nearest.BM25Recommender if similarity == "bm25" else nearest.CosineRecommender
    reference = model_type(K=dataset.n_items + 1, num_threads=1)
    reference.fit(dataset.weights, show_progress=False)
    scores = serving_scores(serving)(np.arange(dataset.n_users))
    weights = dataset.weights.tocsr()
    compared = 0
    for user in range(dataset.n_users):
        # Asking for every item makes implicit pad its answer with item 0 / -3.4e38 and
        # with the user's own items at score 0: filter both, compare the rest.
        ids, values = reference.recommend(user, weights[user], N=dataset.n_items)
        real = (values > -1e30) & ~np.isin(ids, weights[user].indices)
        np.testing.assert_allclose(scores[user, ids[real]], values[real], rtol=1e-5, atol=1e-6)
        compared += int(real.sum())
    assert compared > dataset.n_users * 5


def test_item_knn_keeps_k_neighbours_and_never_the_item_itself() -> None:
    import scipy.sparse as sp

    dataset = block_dataset()
    options = ItemKNNOptions(neighbours=2)
    extra = make_item_knn(options=options, settings=ONE_THREAD).fit(dataset).export().extra
    similarity = sp.csr_matrix(
        (extra["similarity_data"], extra["similarity_indices"], extra["similarity_indptr"]),
        shape=(dataset.n_items, dataset.n_items),
    )
    assert np.diff(similarity.indptr).max() == 2
    assert not similarity.diagonal().any()


def test_openblas_is_limited_to_one_thread_while_fitting(monkeypatch: pytest.MonkeyPatch) -> None:
    import threadpoolctl
    from implicit.cpu.als import AlternatingLeastSquares

    seen: list[int] = []
    original = AlternatingLeastSquares.fit

    def spy(self: AlternatingLeastSquares, *args: object, **kwargs: object) -> None:
        seen.extend(
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        )
        original(self, *args, **kwargs)

    monkeypatch.setattr(AlternatingLeastSquares, "fit", spy)
    make_als(options=ImplicitALSOptions(factors=4, iterations=2)).fit(block_dataset())
    assert seen and set(seen) == {1}


def _small_block_probe() -> Dataset:
    """Block data plus a probe of the *smaller* block b who misses container_course6."""
    base = block_dataset()
    rows = [
        (str(base.user_ids[u]), str(base.item_ids[i]), int(r))
        for u, i, r in zip(base.user_index, base.item_index, base.ratings, strict=True)
    ]
    rows += [("probe_b", item, 1) for item in BLOCKS["b"][1] if item != "container_course6"]
    return make_dataset("0", [*base.user_ids.tolist(), "probe_b"], ITEMS, rows)


@pytest.mark.parametrize(
    ("make", "options"),
    [
        (make_als, ImplicitALSOptions(factors=8, iterations=10, regularization=1.0)),
        (make_bpr, ImplicitBPROptions(factors=8, iterations=200, learning_rate=0.05)),
        (make_item_knn, ItemKNNOptions(neighbours=10)),
    ],
)
def test_backends_personalise_where_popularity_cannot(make: Any, options: Any) -> None:
    dataset = _small_block_probe()
    probe = dataset.n_users - 1

    def top_course(serving: ServingArrays) -> str:
        return direct_ranking(serving, dataset, probe, "container_course", 1)[0][0]

    popularity = PopularityRecommender(PopularityOptions()).fit(dataset).export()
    assert top_course(popularity) != "container_course6"  # the data is not trivial
    serving = make(options=options, settings=ONE_THREAD).fit(dataset).export()
    assert top_course(serving) == "container_course6"

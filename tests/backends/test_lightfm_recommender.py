"""The lightfm plugin: serving arrays equal LightFM.predict, determinism, cold users, options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.errors import ConfigError, NotFittedError
from mlcore.interfaces import Recommender, Tunable
from mlcore.item_types import COMPONENTS
from mlcore.options import build_options
from mlcore.serving.artifact import build_artifact
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.evaluation import serving_scores
from plugins.lightfm_recommender import LightFMOptions, LightFMRecommender, mlcore_recommenders
from tests.support.lightfm_fixtures import N_COLD, N_USERS, tiny_dataset

MODES = ("mf", "partial", "hybrid")
ROOT = Path(__file__).resolve().parents[2]


def _fitted(mode: str, **options: object) -> tuple[LightFMRecommender, object]:
    dataset = tiny_dataset()
    opts = LightFMOptions(
        mode=mode,
        no_components=8,
        epochs=5,
        learning_rate=0.05,
        max_sampled=10,
        num_threads=1,
        seed=5,
        **options,  # type: ignore[arg-type]
    )
    return LightFMRecommender(opts).fit(dataset), dataset


def _predict(recommender: LightFMRecommender, user: int, n_items: int) -> np.ndarray:
    return recommender.model_.predict(
        np.full(n_items, user, dtype=np.int32),
        np.arange(n_items, dtype=np.int32),
        user_features=recommender.features_.users,
        item_features=recommender.features_.items,
        num_threads=1,
    )


@pytest.mark.parametrize("mode", MODES)
def test_numpy_and_tenant_model_rank_like_lightfm_predict(mode: str) -> None:
    recommender, dataset = _fitted(mode)
    serving = recommender.export()
    model = TenantModel(
        build_artifact(dataset, serving, backend="lightfm", algorithm=mode, details={})
    )
    score = serving_scores(serving)
    positives = dataset.positives.tocsr()
    for user in (0, 1, 7, N_USERS - 1):
        expected = _predict(recommender, user, dataset.n_items)
        gaps = np.diff(np.sort(expected))
        assert gaps.min() > 1e-5, "scores too close to compare rankings"
        numpy_scores = score(np.array([user]))[0]
        np.testing.assert_allclose(numpy_scores, expected, rtol=1e-5, atol=1e-5)
        assert np.argsort(-numpy_scores).tolist() == np.argsort(-expected).tolist()
        seen = set(positives.indices[positives.indptr[user] : positives.indptr[user + 1]])
        for c, component in enumerate(COMPONENTS):
            window = dataset.type_slice(c)
            order = window.start + np.argsort(-expected[window])
            want = [dataset.item_ids[i] for i in order if i not in seen]
            got = model.recommend(user, component, n=dataset.n_items)
            assert [r.item_id for r in got] == want


@pytest.mark.parametrize("mode", MODES)
def test_same_seed_one_thread_gives_identical_arrays(mode: str) -> None:
    first, _ = _fitted(mode)
    second, _ = _fitted(mode)
    a, b = first.export(), second.export()
    for name in ("user_factors", "user_bias", "item_factors", "item_bias"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert getattr(a, name).dtype == np.float32
        assert getattr(a, name).flags.c_contiguous


@pytest.mark.parametrize("mode", MODES)
def test_users_without_interactions_are_represented_through_features(mode: str) -> None:
    recommender, dataset = _fitted(mode)
    serving = recommender.export()
    assert serving.user_factors.shape == (dataset.n_users, 8)
    assert serving.item_factors.shape == (dataset.n_items, 8)
    cold = np.arange(N_USERS - N_COLD, N_USERS)
    assert not np.isin(cold, dataset.user_index).any()
    model = recommender.model_
    features = recommender.features_.users[cold]
    expected = features @ model.user_embeddings
    np.testing.assert_allclose(serving.user_factors[cold], expected, rtol=1e-6, atol=1e-7)
    assert np.abs(serving.user_factors[cold]).sum(axis=1).min() > 0
    if mode != "mf":
        # Cold users of different groups get different representations.
        assert not np.allclose(serving.user_factors[cold[0]], serving.user_factors[cold[1]])


def test_plugin_satisfies_protocols_and_describes_itself() -> None:
    recommender, dataset = _fitted("hybrid")
    assert isinstance(recommender, Recommender) and isinstance(recommender, Tunable)
    described = recommender.describe()
    assert described["backend"] == "lightfm" and described["algorithm"] == "hybrid"
    assert described["hyperparameters"]["no_components"] == 8
    assert described["features"]["user_identity"] == dataset.n_users
    assert described["features"]["item_tfidf"] > 0
    assert described["user_features"] == recommender.features_.users.shape[1]


def test_export_before_fit_is_an_error() -> None:
    with pytest.raises(NotFittedError):
        LightFMRecommender(LightFMOptions(mode="mf")).export()


def test_registry_factory_takes_mode_threads_and_seed_from_settings() -> None:
    (record,) = mlcore_recommenders()
    settings = Settings(algorithm="partial", num_threads=3, seed=11)
    options = build_options(record.options_type, {"tune_components": "[8, 16]"}, context="lightfm")
    recommender = record.factory(options=options, settings=settings)
    assert (recommender.mode, recommender.num_threads, recommender.seed) == ("partial", 3, 11)
    assert recommender.options.tune_components == (8, 16)
    explicit = LightFMRecommender(LightFMOptions(mode="mf", num_threads=1, seed=0), settings)
    assert (explicit.mode, explicit.num_threads, explicit.seed) == ("mf", 1, 0)


@pytest.mark.parametrize(
    "options",
    [
        {"no_components": 0},
        {"tune_components": (20, 10)},
        {"tune_alpha": (0.0, 1e-3)},
        {"tune_losses": ()},
    ],
)
def test_invalid_options_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="lightfm option"):
        LightFMRecommender(LightFMOptions(mode="mf", **options))  # type: ignore[arg-type]


def test_importing_the_plugin_starts_no_lightfm() -> None:
    code = (
        "import sys, plugins.lightfm_recommender as p; p.mlcore_recommenders(); "
        "assert 'lightfm' not in sys.modules and 'optuna' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


@pytest.mark.parametrize("loss", ["bpr", "warp-kos"])
def test_every_tuned_loss_trains(loss: str) -> None:
    recommender, dataset = _fitted("partial", loss=loss)
    serving = recommender.export()
    assert np.isfinite(serving.user_factors).all() and np.isfinite(serving.item_factors).all()
    assert recommender.describe()["hyperparameters"]["loss"] == loss

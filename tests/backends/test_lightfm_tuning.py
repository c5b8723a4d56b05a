"""Tuning the lightfm plugin on a tiny tenant: report, history, reuse of the best checkpoint."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.errors import ConfigError
from mlcore.training.splits import temporal_split
from plugins.lightfm_recommender.recommender import LightFMOptions, LightFMRecommender
from plugins.lightfm_recommender.tuning import TrainingData, serving_arrays, train_epochs
from tests.support.lightfm_fixtures import tiny_dataset

TINY = {
    "num_threads": 1,
    "seed": 9,
    "no_components": 8,
    "epochs": 4,
    "tune_components": (4, 12),
    "tune_epochs": (2, 6),
    "tune_patience": 2,
}


def _tune(options: LightFMOptions, settings: Settings | None = None):  # type: ignore[no-untyped-def]
    split = temporal_split(tiny_dataset())
    recommender = LightFMRecommender(options, settings)
    report = recommender.tune(split.train, split.test, trials=4, timeout=60.0, seed=9)
    return recommender, report, split


def test_tuning_report_and_sqlite_history(tmp_path: Path) -> None:
    settings = Settings(models_dir=tmp_path, seed=9)
    recommender, report, _ = _tune(LightFMOptions(mode="hybrid", **TINY), settings)  # type: ignore[arg-type]
    assert (tmp_path / "tuning" / "7.sqlite3").is_file()
    assert len(report.trials) == 4
    assert report.metric == "ndcg@10" and 0 < report.best_score <= 1
    assert list(report.scores) == sorted(set(report.scores))
    assert report.scores[-1] == pytest.approx(report.best_score, abs=1e-6)
    assert report.trials[0]["params"]["no_components"] == 8  # the defaults are tried first
    for trial in report.trials:
        assert {"params", "score", "best_epoch", "seconds", "state"} <= set(trial)
        assert trial["params"]["loss"] in ("warp", "bpr", "warp-kos")
        assert 5 <= trial["params"]["max_sampled"] <= 100
        assert trial["params"]["epochs"] == 6  # every trial may run to the maximum
        assert 1 <= trial["best_epoch"] <= trial["epochs_run"] <= 6
    assert 1 <= report.best_params["epochs"] <= 6
    assert recommender.params["epochs"] == report.best_params["epochs"]
    assert recommender.describe()["tuned"] is True
    assert recommender.params["no_components"] == report.best_params["no_components"]


def test_after_tuning_it_is_fitted_on_train_like_a_fresh_fit_with_the_best_params() -> None:
    recommender, report, split = _tune(
        LightFMOptions(mode="partial", study_storage="memory", **TINY)
    )  # type: ignore[arg-type]
    reused = recommender.export()  # the Tunable handshake: no fit(train) needed
    assert not hasattr(recommender, "model_")  # the best checkpoint of the search is kept
    best = report.best_params
    fresh_options = LightFMOptions(
        mode="partial",
        num_threads=1,
        seed=9,
        **{k: best[k] for k in ("no_components", "epochs", "loss", "learning_rate")},
        item_alpha=best["item_alpha"],
        user_alpha=best["user_alpha"],
        max_sampled=best["max_sampled"],
    )
    fresh = LightFMRecommender(fresh_options).fit(split.train).export()
    for name in ("user_factors", "user_bias", "item_factors", "item_bias"):
        np.testing.assert_array_equal(getattr(reused, name), getattr(fresh, name))
    full = recommender.fit(tiny_dataset())  # other data: trains for real
    assert full.model_.no_components == best["no_components"]


def test_tuning_is_reproducible_with_one_thread() -> None:
    options = LightFMOptions(mode="mf", study_storage="memory", **TINY)  # type: ignore[arg-type]
    _, first, _ = _tune(options)
    _, second, _ = _tune(options)
    assert first.best_params == second.best_params
    assert first.scores == second.scores
    assert [t["params"] for t in first.trials] == [t["params"] for t in second.trials]


def test_diverging_trials_score_zero_and_the_search_goes_on() -> None:
    options = LightFMOptions(
        mode="mf",
        study_storage="memory",
        **{**TINY, "tune_learning_rate": (1e3, 1e4), "tune_losses": ("bpr",)},  # type: ignore[arg-type]
    )
    _, report, _ = _tune(options)
    assert len(report.trials) == 4
    assert {t["state"] for t in report.trials} <= {"complete", "pruned"}  # none failed
    assert any(t["score"] == 0.0 for t in report.trials)


def test_warm_final_fit_continues_the_best_checkpoint_on_all_data() -> None:
    options = LightFMOptions(
        mode="partial", study_storage="memory", final_fit="warm", warm_fraction=0.5, **TINY
    )  # type: ignore[arg-type]
    recommender, report, split = _tune(options)
    full = tiny_dataset()
    best = recommender.fit(split.train).export()  # the checkpoint itself
    warm = recommender.fit(full)
    epochs = int(report.best_params["epochs"])
    assert warm.epochs_trained_ == max(1, -(-epochs // 2))
    plan = warm.describe()["final_fit_plan"]
    assert (plan["mode"], plan["epochs"]) == ("warm", warm.epochs_trained_)
    # Exactly the best checkpoint continued on all the data for those epochs:
    by_hand = copy.deepcopy(recommender._checkpoint[1])
    train_epochs(by_hand, TrainingData.of(full, warm.features_), warm.epochs_trained_, 1)
    expected = serving_arrays(by_hand, warm.features_)
    for name in ("user_factors", "user_bias", "item_factors", "item_bias"):
        np.testing.assert_array_equal(getattr(warm.export(), name), getattr(expected, name))
    assert not np.array_equal(warm.export().item_factors, best.item_factors)
    refit = LightFMRecommender(
        LightFMOptions(mode="partial", study_storage="memory", **TINY)  # type: ignore[arg-type]
    )
    refit.params = dict(recommender.params)
    refit.fit(full)
    assert refit.describe()["final_fit_plan"]["mode"] == "refit"
    assert refit.epochs_trained_ == epochs
    assert refit.model_.no_components == warm.model_.no_components


def test_warm_fraction_is_checked() -> None:
    with pytest.raises(ConfigError, match="warm_fraction"):
        LightFMRecommender(LightFMOptions(warm_fraction=0.0))

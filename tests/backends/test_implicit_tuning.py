"""Tuning of the implicit backends through mlcore's tuner."""

from __future__ import annotations

import pytest

from mlcore.config import Settings
from mlcore.interfaces import Tunable
from mlcore.training.evaluation import evaluate, serving_scores
from mlcore.training.splits import temporal_split
from plugins.implicit_recommender import ImplicitALSOptions, make_als, make_bpr, make_item_knn
from plugins.implicit_recommender.tuning import SPACES
from tests.support.recommender_data import random_dataset

ONE_THREAD = Settings(num_threads=1, seed=5)


def _ndcg(recommender: object, train: object, test: object) -> float:
    scores = serving_scores(recommender.export())  # type: ignore[attr-defined]
    return evaluate(scores, train, test, k=10, with_auc=False).ndcg  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [make_als, make_bpr, make_item_knn])
def test_tuning_keeps_the_best_options_for_fit(make: object) -> None:
    split = temporal_split(random_dataset(seed=4, n_users=40))
    recommender = make(settings=ONE_THREAD)  # type: ignore[operator]
    assert isinstance(recommender, Tunable)
    report = recommender.tune(split.train, split.test, trials=3, timeout=30, seed=1)
    assert report.metric == "ndcg@10" and len(report.trials) == 3
    assert set(report.best_params) <= set(SPACES[recommender.backend]) | {"iterations"}
    for name, value in report.best_params.items():
        assert getattr(recommender.options, name) == value
    # The defaults are the first trial, so tuning never reports worse than them.
    first = report.trials[0]["score"]
    assert report.best_score >= first


def test_als_refit_reproduces_the_tuned_score() -> None:
    # ALS continued for k more iterations equals ALS trained k+n at once, so the
    # checkpoint the tuner scored is exactly what fit() trains.
    split = temporal_split(random_dataset(seed=6, n_users=40))
    options = ImplicitALSOptions(factors=8)
    recommender = make_als(options=options, settings=ONE_THREAD)
    report = recommender.tune(split.train, split.test, trials=2, timeout=30, seed=2)
    recommender.fit(split.train)
    assert _ndcg(recommender, split.train, split.test) == pytest.approx(report.best_score)

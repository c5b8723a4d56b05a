"""mlcore.training.evaluation agrees with lightfm.evaluation on the same model and data."""

from __future__ import annotations

import numpy as np
import pytest

from mlcore.training.evaluation import evaluate, serving_scores
from mlcore.training.splits import random_split
from plugins.lightfm_recommender.recommender import LightFMOptions, LightFMRecommender
from tests.support.lightfm_fixtures import tiny_dataset


@pytest.mark.parametrize("k", [3, 5])
def test_precision_and_auc_equal_lightfm_evaluation(k: int) -> None:
    from lightfm.evaluation import auc_score, precision_at_k

    split = random_split(tiny_dataset(), test_fraction=0.3, seed=4)
    options = LightFMOptions(mode="partial", no_components=6, epochs=3, num_threads=1, seed=2)
    recommender = LightFMRecommender(options).fit(split.train)
    serving = recommender.export()
    scores = serving_scores(serving)(np.arange(split.train.n_users))
    # Without ties the two rankings are unambiguous.
    assert all(np.unique(row).size == row.size for row in scores)
    train_m, test_m = split.train.interactions, split.test.interactions
    assert test_m.nnz > 0
    common = {
        "test_interactions": test_m,
        "train_interactions": train_m,
        "user_features": recommender.features_.users,
        "item_features": recommender.features_.items,
        "num_threads": 1,
    }
    expected_precision = precision_at_k(recommender.model_, k=k, **common).mean()
    expected_auc = auc_score(recommender.model_, **common).mean()

    metrics = evaluate(serving_scores(serving), split.train, split.test, k=k)

    assert metrics.users == int((test_m.getnnz(axis=1) > 0).sum())
    assert metrics.precision == pytest.approx(expected_precision, abs=1e-5)
    assert metrics.auc == pytest.approx(expected_auc, abs=1e-5)
    assert 0 < metrics.precision < 1 and 0.3 < metrics.auc < 1

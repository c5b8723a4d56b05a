"""The ``ease`` recommender: closed form, item limit, tuning handshake, serving kinds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mlcore.config import Settings
from mlcore.errors import BudgetError, ConfigError
from mlcore.serving import item_item, neighbours
from mlcore.training.evaluation import serving_scores
from mlcore.training.recency import Recency
from mlcore.training.splits import temporal_split
from plugins.ease_recommender import EaseOptions, make_ease
from plugins.ease_recommender.closed_form import ease_weights
from tests.support.lightfm_fixtures import tiny_dataset
from tests.support.recommender_data import block_dataset


def brute_force_ease(x: np.ndarray, lam: float) -> np.ndarray:
    """Steck's closed form, literally: B = I - P diag(1/diag(P)), P = (XᵀX + λI)⁻¹."""
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    b = np.eye(x.shape[1]) - p @ np.diag(1.0 / np.diag(p))
    return b


@pytest.mark.parametrize("lam", [0.5, 10.0, 300.0])
def test_closed_form_matches_brute_force_numpy(lam: float) -> None:
    rng = np.random.default_rng(4)
    x = (rng.random((30, 12)) < 0.3) * rng.integers(1, 3, (30, 12))
    x[:, 5] = 0  # an item nobody touched: zero row and column
    weights = ease_weights(sp.csr_matrix(x.astype(np.float32)), lam)
    active = np.flatnonzero(x.sum(axis=0))
    expected = np.zeros((12, 12))
    expected[np.ix_(active, active)] = brute_force_ease(x[:, active].astype(np.float64), lam)
    np.testing.assert_allclose(weights, expected, rtol=2e-3, atol=2e-5)
    assert np.all(np.diag(weights) == 0)
    assert weights.dtype == np.float32


@pytest.mark.parametrize("use_ratings", [False, True])
def test_fit_scores_are_the_rows_times_b(use_ratings: bool) -> None:
    dataset = tiny_dataset()
    options = EaseOptions(regularization=20.0, use_ratings=use_ratings)
    model = make_ease(options=options).fit(dataset)
    scores = serving_scores(model.export())(np.arange(dataset.n_users))
    x = dataset.weights if use_ratings else dataset.interactions
    b = ease_weights(sp.csr_matrix(x), 20.0)
    np.testing.assert_allclose(scores, x.toarray() @ b, rtol=1e-4, atol=1e-5)
    assert model.export().kind == item_item.KIND


def test_recency_weights_the_query_rows_only() -> None:
    dataset = tiny_dataset()
    options = EaseOptions(regularization=20.0, recency="position", recency_half_life=2.0)
    model = make_ease(options=options).fit(dataset)
    plain = make_ease(options=EaseOptions(regularization=20.0)).fit(dataset)
    np.testing.assert_array_equal(model.weights_, plain.weights_)
    rows = Recency("position", 2.0).weighted(dataset, dataset.interactions)
    expected = rows.toarray() @ plain.weights_
    np.testing.assert_allclose(
        serving_scores(model.export())(np.arange(dataset.n_users)), expected, rtol=1e-4, atol=1e-5
    )


def test_above_max_items_it_refuses_naming_the_limit_and_the_alternatives() -> None:
    dataset = block_dataset()
    model = make_ease(options=EaseOptions(max_items=dataset.n_items - 1))
    with pytest.raises(ConfigError, match=r"max_items=16.*lightfm, implicit-als or item-knn"):
        model.fit(dataset)
    split = temporal_split(dataset)
    with pytest.raises(ConfigError, match="max_items"):
        model.tune(split.train, split.test, trials=2, timeout=10, seed=1)


def test_a_fit_that_cannot_fit_the_budget_refuses_before_working() -> None:
    model = make_ease()
    model.set_time_budget(0.0)
    with pytest.raises(BudgetError, match="predicted to take"):
        model.fit(block_dataset())


def test_top_k_serves_the_largest_weights_as_neighbours() -> None:
    dataset = block_dataset()
    dense = make_ease(options=EaseOptions(regularization=5.0)).fit(dataset)
    sparse = make_ease(options=EaseOptions(regularization=5.0, top_k=3)).fit(dataset).export()
    assert sparse.kind == neighbours.KIND
    similarity = neighbours.csr_from_arrays(sparse.extra, neighbours.SIMILARITY, dataset.n_items)
    assert np.diff(similarity.indptr).max() <= 3
    for row in range(dataset.n_items):
        kept = similarity[row].toarray().ravel()
        magnitude = np.sort(np.abs(dense.weights_[row]))[::-1]
        assert np.abs(kept[kept != 0]).min(initial=np.inf) >= magnitude[min(2, magnitude.size - 1)] - 1e-6


def test_tune_ends_fitted_on_train_with_the_best_options() -> None:
    dataset = tiny_dataset()
    split = temporal_split(dataset)
    model = make_ease(settings=Settings(num_threads=1, seed=3))
    report = model.tune(split.train, split.test, trials=5, timeout=60, seed=3)
    assert set(report.best_params) >= {"regularization", "recency"}
    assert len(report.trials) == 5
    tuned = serving_scores(model.export())(np.arange(dataset.n_users))
    again = make_ease(options=model.options).fit(split.train)
    np.testing.assert_allclose(tuned, serving_scores(again.export())(np.arange(dataset.n_users)))
    assert report.best_score == max(t["score"] for t in report.trials)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"regularization": 0.0}, "regularization"),
        ({"recency": "position", "recency_half_life": 0.0}, "half_life"),
        ({"tune_regularization": (5.0, 1.0)}, "tune_regularization"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_ease(options=EaseOptions(**options))  # type: ignore[arg-type]

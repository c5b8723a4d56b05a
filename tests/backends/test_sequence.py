"""The ``sequence`` recommender: sequence rows, closed form, order, limits, tuning handshake."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.config import Settings
from mlcore.dataset import Dataset
from mlcore.errors import BudgetError, ConfigError
from mlcore.serving import item_item, neighbours
from mlcore.training.evaluation import serving_scores
from mlcore.training.splits import temporal_split
from plugins.sequence_recommender import SequenceOptions, make_sequence
from plugins.sequence_recommender import recommender as sequence_module
from plugins.sequence_recommender.closed_form import transition_weights
from plugins.sequence_recommender.sequences import Sequences, Window
from tests.support.lightfm_fixtures import tiny_dataset
from tests.support.recommender_data import ITEMS, block_dataset, make_dataset


def brute_force_rows(
    histories: list[list[int]], n_items: int, history: Window, horizon: Window
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source, target and query rows by the definition, one Python loop per position."""
    sources, targets, queries = [], [], []
    for items in histories:
        for p in range(1, len(items)):
            source, target = np.zeros(n_items), np.zeros(n_items)
            for back in range(1, min(history.length, p) + 1):
                source[items[p - back]] = 0.5 ** ((back - 1) / history.half_life)
            for ahead in range(min(horizon.length, len(items) - p)):
                target[items[p + ahead]] = 0.5 ** (ahead / horizon.half_life)
            sources.append(source)
            targets.append(target)
        query = np.zeros(n_items)
        for age, item in enumerate(reversed(items[-history.length :])):
            query[item] = 0.5 ** (age / history.half_life)
        queries.append(query)
    shape = (0, n_items)
    return (
        np.array(sources).reshape(-1, n_items) if sources else np.zeros(shape),
        np.array(targets).reshape(-1, n_items) if targets else np.zeros(shape),
        np.array(queries),
    )


def sequence_dataset(histories: list[list[int]], shuffle_seed: int = 0) -> Dataset:
    """A dataset whose user ``u`` took ``histories[u]`` in that order (rows shuffled)."""
    rows = [(f"u{u}", ITEMS[i], 1) for u, items in enumerate(histories) for i in items]
    times = [t for items in histories for t in range(len(items))]
    dataset = make_dataset("0", [f"u{u}" for u in range(len(histories))], ITEMS, rows)
    order = np.random.default_rng(shuffle_seed).permutation(len(rows))
    stamps = 1_700_000_000 + np.array(times, dtype=np.int64) * 60
    return replace(
        dataset,
        user_index=dataset.user_index[order],
        item_index=dataset.item_index[order],
        ratings=dataset.ratings[order],
        timestamps=stamps[order],
    )


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n_users=st.integers(1, 5),
    history=st.integers(1, 6),
    history_half_life=st.floats(0.5, 20),
    horizon=st.integers(1, 6),
    horizon_half_life=st.floats(0.5, 20),
)
def test_sequence_rows_match_their_definition(
    data: st.DataObject,
    n_users: int,
    history: int,
    history_half_life: float,
    horizon: int,
    horizon_half_life: float,
) -> None:
    items = st.lists(st.integers(0, len(ITEMS) - 1), max_size=len(ITEMS), unique=True)
    histories = [data.draw(items) for _ in range(n_users)]
    dataset = sequence_dataset(histories, data.draw(st.integers(0, 100)))
    back, ahead = Window(history, history_half_life), Window(horizon, horizon_half_life)
    sequences = Sequences.of(dataset)
    sources, targets, queries = brute_force_rows(histories, len(ITEMS), back, ahead)
    np.testing.assert_allclose(sequences.sources(back).toarray(), sources, rtol=1e-6)
    np.testing.assert_allclose(sequences.targets(ahead).toarray(), targets, rtol=1e-6)
    np.testing.assert_allclose(sequences.queries(back).toarray(), queries, rtol=1e-6)
    np.testing.assert_array_equal(
        sequences.source_items(), np.flatnonzero(np.abs(sources).sum(axis=0))
    )


@pytest.mark.parametrize("lam", [0.5, 10.0, 300.0])
def test_closed_form_matches_brute_force_numpy(lam: float) -> None:
    rng = np.random.default_rng(5)
    sources = (rng.random((40, 12)) < 0.3) * rng.random((40, 12))
    targets = (rng.random((40, 12)) < 0.2) * 1.0
    sources[:, 4] = 0  # never a source: a zero row of B
    weights = transition_weights(
        sp.csr_matrix(sources.astype(np.float32)), sp.csr_matrix(targets.astype(np.float32)), lam
    )
    active = np.flatnonzero(sources.sum(axis=0))
    s = sources[:, active]
    expected = np.zeros((12, 12))
    expected[active] = np.linalg.solve(s.T @ s + lam * np.eye(active.size), s.T @ targets)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(weights, expected, rtol=2e-3, atol=2e-5)
    assert weights.dtype == np.float32


def test_it_predicts_the_next_step_of_a_path_not_just_the_set() -> None:
    """Everyone follows 0 → 1 → ... → 5; a user who has just taken 2 is offered 3 first.

    An order-blind model sees 0, 1, 3, 4, 5 as equally related to {0, 1, 2}.
    """
    path = [0, 1, 2, 3, 4, 5]
    histories = [path] * 12 + [path[:3]]
    dataset = sequence_dataset(histories)
    model = make_sequence(options=SequenceOptions(regularization=1.0)).fit(dataset)
    scores = serving_scores(model.export())(np.array([12]))[0]
    unseen = [3, 4, 5, *range(6, len(ITEMS))]
    ranked = sorted(unseen, key=lambda item: -scores[item])
    assert ranked[:3] == [3, 4, 5]


def test_fit_scores_are_the_query_rows_times_b() -> None:
    dataset = tiny_dataset()
    options = SequenceOptions(regularization=20.0, history=4, horizon=2)
    model = make_sequence(options=options).fit(dataset)
    sequences = Sequences.of(dataset)
    history, horizon = Window(4, options.history_half_life), Window(2, options.horizon_half_life)
    b = transition_weights(sequences.sources(history), sequences.targets(horizon), 20.0)
    expected = sequences.queries(history).toarray() @ b
    scores = serving_scores(model.export())(np.arange(dataset.n_users))
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)
    assert model.export().kind == item_item.KIND


def test_top_k_serves_neighbours_with_at_most_k_per_item() -> None:
    dataset = block_dataset()
    model = make_sequence(options=SequenceOptions(regularization=5.0, top_k=3)).fit(dataset)
    sparse = model.export()
    assert sparse.kind == neighbours.KIND
    similarity = neighbours.csr_from_arrays(sparse.extra, neighbours.SIMILARITY, dataset.n_items)
    assert np.diff(similarity.indptr).max() <= 3


def test_above_max_items_it_refuses_naming_the_limit_and_the_alternatives() -> None:
    dataset = block_dataset()
    model = make_sequence(options=SequenceOptions(max_items=dataset.n_items - 1))
    with pytest.raises(ConfigError, match=r"sequence: .*max_items=16.*lightfm, implicit-als"):
        model.fit(dataset)


def test_a_fit_that_cannot_fit_the_budget_refuses_before_working() -> None:
    model = make_sequence()
    model.set_time_budget(0.0)
    with pytest.raises(BudgetError, match="predicted to take"):
        model.fit(block_dataset())
    assert not hasattr(model, "weights_")


def test_a_tuning_that_cannot_fit_the_budget_refuses_before_its_first_trial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A clean skip: no trial starts (a trial failing inside Optuna logs a traceback)."""
    studies: list[object] = []
    monkeypatch.setattr(sequence_module, "run_study", lambda *a, **k: studies.append(a))
    split = temporal_split(tiny_dataset())
    model = make_sequence()
    model.set_time_budget(0.0)
    with pytest.raises(BudgetError, match="predicted to take"):
        model.tune(split.train, split.test, trials=3, timeout=60, seed=1)
    assert studies == []
    assert not hasattr(model, "weights_")


def test_tune_ends_fitted_on_train_with_the_best_options() -> None:
    dataset = tiny_dataset()
    split = temporal_split(dataset)
    model = make_sequence(settings=Settings(num_threads=1, seed=3))
    report = model.tune(split.train, split.test, trials=5, timeout=60, seed=3)
    assert set(report.best_params) == {"regularization"}
    assert len(report.trials) == 5
    assert model.options.regularization == report.best_params["regularization"]
    users = np.arange(dataset.n_users)
    tuned = serving_scores(model.export())(users)
    again = make_sequence(options=model.options).fit(split.train)
    np.testing.assert_allclose(tuned, serving_scores(again.export())(users))
    assert report.best_score == max(t["score"] for t in report.trials)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"regularization": 0.0}, "regularization"),
        ({"history": 0}, "history"),
        ({"horizon_half_life": 0.0}, "half_life"),
        ({"tune_regularization": (5.0, 1.0)}, "tune_regularization"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_sequence(options=SequenceOptions(**options))  # type: ignore[arg-type]

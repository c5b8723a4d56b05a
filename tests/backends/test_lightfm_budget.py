"""The time budget of LightFM training: tuning stops in time, the final fit fits what is left.

Training cost is simulated: a fake clock advances by a fixed number of seconds per
interaction and epoch whenever LightFM trains, as LightFM's real cost is linear in
the interactions. Everything else costs no (fake) time, so the budget arithmetic
can be checked exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import plugins.lightfm_recommender.recommender as recommender_module
import plugins.lightfm_recommender.tuning as tuning_module
from mlcore.config import Settings
from mlcore.interfaces import Budgeted
from mlcore.training.fitting import TenantFitter
from mlcore.training.splits import temporal_split
from plugins.lightfm_recommender.budget import TimeBudget, TuningPace, plan_final_fit
from plugins.lightfm_recommender.recommender import LightFMOptions, LightFMRecommender
from plugins.lightfm_recommender.tuning import TrainingData, serving_arrays
from tests.support.lightfm_fixtures import tiny_dataset

SECONDS_PER_INTERACTION = 0.01
OPTIONS = LightFMOptions(
    mode="partial",
    num_threads=1,
    seed=9,
    no_components=8,
    epochs=6,
    tune_components=(4, 12),
    tune_epochs=(2, 8),
    tune_patience=8,
    study_storage="memory",
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A clock that LightFM training advances by its simulated cost."""
    fake = FakeClock()
    real = tuning_module.train_epochs

    def timed(model: Any, data: TrainingData, epochs: int, num_threads: int) -> Any:
        result = real(model, data, epochs, num_threads)
        fake.now += SECONDS_PER_INTERACTION * data.interactions.nnz * epochs
        return result

    monkeypatch.setattr(tuning_module, "train_epochs", timed)
    monkeypatch.setattr(recommender_module, "train_epochs", timed)
    return fake


def _epoch_seconds(n_interactions: int) -> float:
    return SECONDS_PER_INTERACTION * n_interactions


def _budgeted(clock: FakeClock, budget: float) -> tuple[LightFMRecommender, Any]:
    split = temporal_split(tiny_dataset())
    recommender = LightFMRecommender(OPTIONS, clock=clock)
    recommender.set_time_budget(budget)
    report = recommender.tune(split.train, split.test, trials=40, timeout=1e9, seed=9)
    return recommender, report


def test_tuning_stops_in_time_and_the_refit_fits_the_budget(clock: FakeClock) -> None:
    full = tiny_dataset()
    budget = 14 * _epoch_seconds(full.n_interactions)  # room for a few trials, not 40
    started = clock.now
    recommender, report = _budgeted(clock, budget)
    assert recommender._pace is not None and recommender._pace.exhausted
    assert 1 <= len(report.trials) < 40
    recommender.fit(full)
    assert clock.now - started <= budget + 1e-9
    plan = recommender.describe()["final_fit_plan"]
    assert plan["mode"] == "refit"
    assert recommender.epochs_trained_ == recommender.params["epochs"] == plan["epochs"]
    assert plan["predicted_seconds"] == pytest.approx(
        plan["epochs"] * _epoch_seconds(full.n_interactions)
    )
    assert recommender.describe()["time_budget_seconds"] == budget


def test_without_a_budget_the_same_search_runs_every_trial(clock: FakeClock) -> None:
    split = temporal_split(tiny_dataset())
    recommender = LightFMRecommender(OPTIONS, clock=clock)
    report = recommender.tune(split.train, split.test, trials=6, timeout=1e9, seed=9)
    assert len(report.trials) == 6
    recommender.fit(tiny_dataset())
    assert recommender.describe()["final_fit_plan"]["mode"] == "refit"
    assert "time_budget_seconds" not in recommender.describe()


def test_warm_when_the_refit_no_longer_fits(clock: FakeClock) -> None:
    full = tiny_dataset()
    epoch = _epoch_seconds(full.n_interactions)
    budget = 14 * epoch
    started = clock.now
    recommender, _ = _budgeted(clock, budget)
    tuned_epochs = int(recommender.params["epochs"])
    clock.now = started + budget - 1.5 * epoch  # other work spent the rest: one epoch fits
    recommender.fit(full)
    plan = recommender.describe()["final_fit_plan"]
    assert plan["mode"] == "warm" and "left in the budget" in plan["reason"]
    assert recommender.epochs_trained_ == 1 <= tuned_epochs
    assert clock.now - started <= budget + 1e-9


def test_the_checkpoint_is_served_when_not_one_epoch_fits(clock: FakeClock) -> None:
    full = tiny_dataset()
    budget = 14 * _epoch_seconds(full.n_interactions)
    started = clock.now
    recommender, _ = _budgeted(clock, budget)
    clock.now = started + budget - 0.5 * _epoch_seconds(full.n_interactions)
    checkpoint = recommender._checkpoint[1]  # type: ignore[index]
    recommender.fit(full)
    assert recommender.describe()["final_fit_plan"]["mode"] == "checkpoint"
    assert recommender.epochs_trained_ == 0
    expected = serving_arrays(checkpoint, recommender.features_)
    np.testing.assert_array_equal(recommender.export().item_factors, expected.item_factors)
    np.testing.assert_array_equal(recommender.export().user_factors, expected.user_factors)


def test_an_untuned_fit_stops_at_the_deadline_after_at_least_one_epoch(clock: FakeClock) -> None:
    full = tiny_dataset()
    recommender = LightFMRecommender(OPTIONS, clock=clock)
    recommender.set_time_budget(2.5 * _epoch_seconds(full.n_interactions))
    recommender.fit(full)
    assert recommender.epochs_trained_ == 2  # a third epoch would overrun
    recommender.set_time_budget(0.0)
    recommender.fit(full)
    assert recommender.epochs_trained_ == 1  # a model from scratch needs one epoch


def test_the_features_of_a_split_and_its_whole_are_built_once() -> None:
    full = tiny_dataset()
    split = temporal_split(full)
    recommender = LightFMRecommender(OPTIONS)
    assert recommender.features(split.train) is recommender.features(full)
    other = tiny_dataset(seed=4)
    assert recommender.features(other) is not recommender.features(full)


@given(
    preferred=st.sampled_from(["refit", "warm"]),
    tuned_epochs=st.integers(1, 200),
    seconds_per_epoch=st.floats(0.001, 100.0),
    remaining=st.one_of(st.floats(-50.0, 10_000.0), st.just(math.inf)),
    warm_fraction=st.floats(0.01, 1.0),
    has_checkpoint=st.booleans(),
)
def test_final_fit_plan_invariants(
    preferred: str,
    tuned_epochs: int,
    seconds_per_epoch: float,
    remaining: float,
    warm_fraction: float,
    has_checkpoint: bool,
) -> None:
    plan = plan_final_fit(
        preferred=preferred,  # type: ignore[arg-type]
        tuned_epochs=tuned_epochs,
        seconds_per_epoch=seconds_per_epoch,
        remaining=remaining,
        warm_fraction=warm_fraction,
        has_checkpoint=has_checkpoint,
    )
    refit_fits = tuned_epochs * seconds_per_epoch <= remaining
    if not has_checkpoint or (preferred == "refit" and refit_fits):
        assert (plan.mode, plan.epochs) == ("refit", tuned_epochs)
        return
    assert plan.mode in ("warm", "checkpoint")
    assert plan.epochs <= max(1, math.ceil(tuned_epochs * warm_fraction))
    assert plan.predicted_seconds <= max(remaining, 0.0) + 1e-9
    assert (plan.mode == "checkpoint") == (plan.epochs == 0)
    if plan.mode == "checkpoint":
        assert remaining < seconds_per_epoch
    assert plan.reason


def test_pace_reserves_the_refit_of_the_best_checkpoint() -> None:
    clock = FakeClock()
    pace = TuningPace(TimeBudget(100.0, clock), scale=1.25, fixed_seconds=5.0)
    assert pace.allows(1)  # nothing measured: the first epoch always runs
    clock.now += 10.0
    pace.record(10.0, 1.0)
    pace.new_best(1, 10.0)
    # 89 s left; epoch 2 needs 10 + 1 + refit of 2 epochs (25) + 5 = 41 s.
    assert pace.allows(2, 10.0) and not pace.exhausted
    clock.now += 50.0  # 39 s left: not enough for epoch 2 any more
    assert not pace.allows(2, 10.0) and pace.exhausted
    unlimited = TuningPace(TimeBudget(None, clock), scale=1.25)
    unlimited.record(1e9, 0.0)
    assert unlimited.allows(1000, 1e9)


def _fitter(settings: Settings, clock: Any) -> TenantFitter:
    def make(name: str) -> Any:
        return LightFMRecommender(OPTIONS, settings, clock=clock)

    assert isinstance(make("lightfm"), Budgeted)
    return TenantFitter(settings, make_recommender=make, clock=clock)


@pytest.mark.parametrize("budget", [0.0, 500.0])
def test_the_trainer_hands_the_rest_of_its_budget_to_the_recommender(budget: float) -> None:
    settings = Settings(training_budget=budget, tuning_trials=2, seed=9, num_threads=1, blend="off")
    times = iter([10.0])  # the tenant starts at 10; every later reading is 13

    def trainer_clock() -> float:
        return next(times, 13.0)

    artifact = _fitter(settings, trainer_clock).fit_tenant(tiny_dataset()).artifact
    described = artifact.manifest["recommender"]
    if budget:
        assert described["time_budget_seconds"] == budget - 3.0
    else:
        assert "time_budget_seconds" not in described


def test_untuned_the_gate_fit_and_the_final_fit_share_the_budget(clock: FakeClock) -> None:
    full = tiny_dataset()
    budget = 7 * _epoch_seconds(full.n_interactions)
    settings = Settings(training_budget=budget, tuning_trials=0, seed=9, num_threads=1, blend="off")
    started = clock.now
    artifact = _fitter(settings, clock).fit_tenant(full).artifact
    described = artifact.manifest["recommender"]
    assert clock.now - started <= budget + 1e-9
    assert artifact.manifest["validation"]["promoted"] == "lightfm"
    # Without sharing, the gate's fit would take all 6 epochs and leave the final fit two.
    assert described["epochs_trained"] == 4

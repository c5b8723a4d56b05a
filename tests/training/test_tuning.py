"""The generic epoch-wise Optuna driver, with a fake objective whose scores are known."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mlcore.errors import MLCoreError
from mlcore.training.tuning import StudyConfig, run_study


class PeakObjective:
    """Score rises until epoch ``peak`` then falls; higher ``quality`` is better everywhere."""

    def __init__(self) -> None:
        self.epochs_run: list[int] = []

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {
            "quality": trial.suggest_float("quality", 0.0, 1.0),
            "no_components": trial.suggest_int("no_components", 8, 64),
            "epochs": trial.suggest_int("epochs", 5, 30),
            "peak": 4,
        }

    def checkpoints(self, params: Mapping[str, Any]) -> Iterator[tuple[int, float]]:
        for epoch in range(1, params["epochs"] + 1):
            self.epochs_run.append(epoch)
            yield epoch, params["quality"] - abs(epoch - params["peak"]) * 0.01


def _config(**changes: Any) -> StudyConfig:
    return StudyConfig(**{"trials": 12, "timeout": 60.0, "seed": 3, "patience": 3, **changes})


def test_report_records_every_trial_and_monotone_improvements() -> None:
    first = {"quality": 0.5, "no_components": 16, "epochs": 10}
    report = run_study(PeakObjective(), _config(), first=first)
    assert len(report.trials) == 12
    assert report.trials[0]["params"]["quality"] == 0.5  # the enqueued defaults run first
    assert {t["state"] for t in report.trials} <= {"complete", "pruned"}
    assert list(report.scores) == sorted(set(report.scores))  # strictly increasing
    assert report.scores[-1] == pytest.approx(report.best_score, abs=1e-6)
    assert len(report.epochs) == len(report.n_components) == len(report.scores)
    assert report.metric == "ndcg@10"
    best = max((t for t in report.trials if t["score"] is not None), key=lambda t: t["score"])
    assert report.best_score == best["score"]
    # Early stopping: the best epoch is the peak, and the best params say so.
    assert report.best_params["epochs"] == 4 == best["best_epoch"]
    assert report.epochs[-1] == 4
    assert report.n_components[-1] == report.best_params["no_components"]
    assert all(t["seconds"] >= 0 for t in report.trials)


def test_patience_stops_a_trial_after_its_peak() -> None:
    objective = PeakObjective()
    report = run_study(
        objective, _config(trials=1), first={"quality": 0.9, "no_components": 8, "epochs": 30}
    )
    assert report.trials[0]["epochs_run"] == 4 + 3
    assert objective.epochs_run == list(range(1, 8))


def test_pruner_stops_trials_that_lag_at_the_same_epoch() -> None:
    report = run_study(PeakObjective(), _config(trials=20, patience=50, min_resource=1))
    states = [t["state"] for t in report.trials]
    assert "pruned" in states and "complete" in states
    pruned = [t for t in report.trials if t["state"] == "pruned"]
    assert all(t["epochs_run"] < t["params"]["epochs"] for t in pruned)


def test_same_seed_same_search() -> None:
    first = run_study(PeakObjective(), _config(trials=6))
    second = run_study(PeakObjective(), _config(trials=6))
    assert [t["params"] for t in first.trials] == [t["params"] for t in second.trials]
    assert first.scores == second.scores


def test_sqlite_storage_keeps_the_study(tmp_path: Path) -> None:
    import optuna

    url = f"sqlite:///{tmp_path / 'tenant.sqlite3'}"
    run_study(PeakObjective(), _config(trials=3, storage=url, study_name="run-1"))
    run_study(PeakObjective(), _config(trials=2, storage=url, study_name="run-2"))
    assert (tmp_path / "tenant.sqlite3").is_file()
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(url))
    assert names == ["run-1", "run-2"]
    assert len(optuna.load_study(study_name="run-1", storage=url).trials) == 3


def test_timeout_stops_inside_a_trial() -> None:
    ticks = iter(range(1000))
    report = run_study(
        PeakObjective(),
        _config(trials=5, timeout=2.0, patience=100),
        first={"quality": 0.2, "no_components": 8, "epochs": 30},
        clock=lambda: float(next(ticks)),
    )
    assert report.trials[0]["epochs_run"] < 30


class BudgetedObjective(PeakObjective):
    """Runs out of (pretend) budget after ``epochs_allowed`` epochs in all trials."""

    def __init__(self, epochs_allowed: int) -> None:
        super().__init__()
        self.epochs_allowed = epochs_allowed
        self.exhausted = False

    def checkpoints(self, params: Mapping[str, Any]) -> Iterator[tuple[int, float]]:
        for epoch, score in super().checkpoints(params):
            if len(self.epochs_run) > self.epochs_allowed:
                self.exhausted = True
                return
            yield epoch, score


def test_stop_ends_the_search_and_an_empty_trial_counts_as_pruned() -> None:
    objective = BudgetedObjective(epochs_allowed=7)
    first = {"quality": 0.5, "no_components": 16, "epochs": 5}
    report = run_study(objective, _config(), first=first, stop=lambda: objective.exhausted)
    # Trial 0 runs its 5 epochs; trial 1 gets 2 more, then the budget stops it and the search.
    assert len(report.trials) == 2
    assert [t["epochs_run"] for t in report.trials] == [5, 2]
    assert report.trials[1]["state"] == "complete"  # a cut trial keeps its best epoch
    # Without the stop, later trials get no checkpoint at all: pruned, not failed.
    report = run_study(BudgetedObjective(epochs_allowed=5), _config(), first=first)
    assert [t["state"] for t in report.trials] == ["complete"] + ["pruned"] * 11
    assert report.best_params["quality"] == 0.5
    with pytest.raises(MLCoreError, match="no tuning trial produced a score"):
        run_study(BudgetedObjective(epochs_allowed=0), _config(), first=first)

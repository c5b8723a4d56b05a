"""Seeded, budgeted hyperparameter search with pruning by epoch (Optuna).

Any backend that trains epoch by epoch can be tuned here: it suggests a
configuration for an Optuna trial and yields a validation score after each epoch
(or group of epochs). Each trial keeps its best epoch (early stopping after
``patience`` checkpoints without improvement); Optuna's pruner stops trials whose
scores lag behind the others' at the same epoch. Optuna's TPE sampler is seeded,
so a run is reproducible when the backend is (one thread) and the time budget
does not cut it short. With ``storage`` the study is kept in a database (SQLite)
as the tuning history.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mlcore.errors import MLCoreError
from mlcore.interfaces import TuningReport
from mlcore.training.budget import cpu_seconds

Pruner = Literal["successive_halving", "hyperband", "none"]


class EpochwiseObjective(Protocol):
    """What :func:`run_study` tunes."""

    def suggest(self, trial: Any) -> dict[str, Any]:
        """A JSON-able configuration drawn with the Optuna ``trial``'s ``suggest_*``."""
        ...

    def checkpoints(self, params: Mapping[str, Any]) -> Iterator[tuple[int, float]]:
        """Train ``params`` from scratch, yielding ``(epochs so far, validation score)``."""
        ...


@dataclass(frozen=True)
class StudyConfig:
    """Budget and bookkeeping of one search.

    Attributes:
        trials: Maximum number of trials.
        timeout: CPU seconds for the whole search (see :func:`run_study`'s clock); a
            running trial stops at its next checkpoint once they are spent, and no
            trial starts after.
        seed: Seed of the TPE sampler.
        storage: SQLAlchemy URL (e.g. ``sqlite:///tuning/0.sqlite3``), or None for memory.
        study_name: A fresh name per run.
        metric: Name of the score, for the report.
        patience: Checkpoints without improvement before a trial stops.
        pruner: Optuna pruner comparing trials at the same epoch.
        min_resource: Epochs every trial runs before it can be pruned.
        epochs_key: Name of the epochs parameter (set to the best epoch in the report).
        components_key: Name of the parameter reported as the original's N_EMBEDDINGS.
    """

    trials: int
    timeout: float
    seed: int
    storage: str | None = None
    study_name: str = "tuning"
    metric: str = "ndcg@10"
    patience: int = 5
    pruner: Pruner = "successive_halving"
    min_resource: int = 3
    epochs_key: str = "epochs"
    components_key: str = "no_components"


def run_study(
    objective: EpochwiseObjective,
    config: StudyConfig,
    *,
    first: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    stop: Callable[[], bool] | None = None,
    clock: Callable[[], float] = cpu_seconds,
) -> TuningReport:
    """Search, then report every trial and the best configuration.

    Args:
        objective: Suggests configurations and scores them epoch by epoch.
        config: Budget, seed, storage.
        first: A configuration tried first (e.g. the current defaults), so the
            search never reports worse than it on validation; or a list of them,
            tried in order.
        stop: Checked after each trial; True ends the search (e.g. a time budget
            that must keep room for the final fit). A trial that yields no
            checkpoint at all counts as pruned.
        clock: The budget's clock: process CPU seconds (so a busy machine runs the
            same trials), injectable for tests. ``config.timeout`` counts on it.
    """
    import optuna  # noqa: PLC0415 - optional heavy import, only when tuning

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    deadline = clock() + max(config.timeout, 0.0)
    storage = open_storage(optuna, config.storage)
    try:
        study = new_study(optuna, config, storage, first)
        trial_fn = _trial_function(optuna, objective, config, deadline, clock)
        spent: Callable[[], bool] = lambda: clock() >= deadline  # noqa: E731
        callbacks = [_stopper(spent), *([] if stop is None else [_stopper(stop)])]
        study.optimize(trial_fn, n_trials=max(config.trials, 1), callbacks=callbacks)
        return trial_report(study.trials, config)
    finally:
        close_storage(storage)


def new_study(
    optuna: Any,
    config: StudyConfig,
    storage: Any,
    first: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    *,
    constant_liar: bool = False,
) -> Any:
    """The seeded TPE study of ``config``, with ``first`` enqueued.

    ``constant_liar`` (trials running at the same time) makes TPE treat running
    trials as bad, so parallel trials spread out instead of sampling the same region.
    """
    with warnings.catch_warnings():  # constant_liar is "experimental" since Optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=config.seed,
            n_startup_trials=max(3, min(10, config.trials // 3)),
            **({"constant_liar": True} if constant_liar else {}),
        )
    study = optuna.create_study(
        study_name=config.study_name,
        storage=storage,
        direction="maximize",
        sampler=sampler,
        pruner=new_pruner(optuna, config),
    )
    for configuration in [first] if isinstance(first, Mapping) else first or []:
        study.enqueue_trial(dict(configuration))
    return study


def close_storage(storage: Any) -> None:
    """Release a storage's database connections."""
    if storage is not None:
        storage.engine.dispose()


def _trial_function(
    optuna: Any,
    objective: EpochwiseObjective,
    config: StudyConfig,
    deadline: float,
    clock: Callable[[], float],
) -> Callable[[Any], float]:
    def run(trial: Any) -> float:
        started = clock()
        params = objective.suggest(trial)
        trial.set_user_attr("params", dict(params))
        best, best_epoch, waited = -math.inf, 0, 0
        for epoch, score in objective.checkpoints(params):
            if score > best:
                best, best_epoch, waited = score, epoch, 0
            else:
                waited += 1
            trial.set_user_attr("best_score", best)
            trial.set_user_attr("best_epoch", best_epoch)
            trial.set_user_attr("epochs_run", epoch)
            trial.set_user_attr("seconds", clock() - started)
            trial.report(score, epoch)
            if waited >= config.patience or clock() >= deadline:
                break
            if trial.should_prune():
                raise optuna.TrialPruned()
        if best_epoch == 0:  # the objective stopped before its first checkpoint
            raise optuna.TrialPruned()
        return best

    return run


def _stopper(stop: Callable[[], bool]) -> Callable[[Any, Any], None]:
    def after_trial(study: Any, _trial: Any) -> None:
        if stop():
            study.stop()

    return after_trial


def open_storage(optuna: Any, url: str | None) -> Any:
    """Optuna storage for ``url`` (None: in memory)."""
    if url is None:
        return None
    return optuna.storages.RDBStorage(url)


def new_pruner(optuna: Any, config: StudyConfig) -> Any:
    """The Optuna pruner ``config`` names."""
    if config.pruner == "none":
        return optuna.pruners.NopPruner()
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=config.min_resource)
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=config.min_resource)


def trial_report(trials: list[Any], config: StudyConfig) -> TuningReport:
    """The report of a finished study's trials (every trial, the best configuration)."""
    records: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    epochs: list[int] = []
    components: list[int] = []
    scores: list[float] = []
    for trial in sorted(trials, key=lambda t: t.number):
        attrs = trial.user_attrs
        record = {
            "number": trial.number,
            "state": trial.state.name.lower(),
            "params": attrs.get("params", dict(trial.params)),
            "score": attrs.get("best_score"),
            "best_epoch": attrs.get("best_epoch"),
            "epochs_run": attrs.get("epochs_run"),
            "seconds": round(float(attrs.get("seconds", 0.0)), 3),
        }
        if "where" in attrs:  # a trial run as a unit of work: which process ran it
            record["where"] = attrs["where"]
        records.append(record)
        score = record["score"]
        if score is None or not math.isfinite(score):
            continue
        if best is None or score > best["score"]:
            best = record
            epochs.append(int(record["best_epoch"]))
            components.append(int(record["params"].get(config.components_key, 0)))
            scores.append(round(float(score), 6))
    if best is None:
        raise MLCoreError("no tuning trial produced a score")
    best_params = {**best["params"], config.epochs_key: best["best_epoch"]}
    return TuningReport(
        best_params=best_params,
        best_score=float(best["score"]),
        metric=config.metric,
        trials=tuple(records),
        epochs=tuple(epochs),
        n_components=tuple(components),
        scores=tuple(scores),
    )

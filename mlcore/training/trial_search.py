"""Hyperparameter search whose trials are units of work (Optuna ask/tell in the trainer).

The study (TPE sampler, SQLite history) stays with the tenant's trainer. Each
trial is asked for its parameters there and shipped as a :class:`TrialTask` to
:func:`run_trial` through the :class:`~mlcore.interfaces.Executor`: parameters, a
:class:`DataHandle` (settings, tenant, the sha256 of the export the trainer
loaded) and the history of the trials completed so far. The unit reads the export
itself (once per worker process and tenant run), rebuilds the same recommender,
trains epoch by epoch, and returns the scores per epoch and its CPU seconds.

Pruning happens in the unit with Optuna's own pruner, over a study replayed from
the shipped history: with one slot that history is every earlier trial, so the
unit decides as the sequential search (:func:`~mlcore.training.tuning.run_study`)
would. With several slots, trials running at the same time do not see each
other, and TPE uses ``constant_liar``: the search differs from the sequential one
(docs/scale-out.md, "Trials as units of work").
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.errors import MLCoreError
from mlcore.interfaces import Executor, TrialTunable, TuningReport
from mlcore.training.budget import charge_remote, cpu_seconds, not_counted
from mlcore.training.splits import temporal_split
from mlcore.training.tuning import (
    EpochwiseObjective,
    StudyConfig,
    close_storage,
    new_pruner,
    new_study,
    open_storage,
    trial_report,
)
from mlcore.training.units import load_fingerprinted, where, with_local_secrets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataHandle:
    """How a unit of work finds the data of a tenant's search (never the data itself).

    Attributes:
        settings: The run's settings without secrets (data source, recommender options).
        tenant: The tenant.
        fingerprint: sha256 of the export files the trainer loaded; a unit that
            reads different bytes refuses to train on them.
        recommender: The plugin whose trials these are.
    """

    settings: Settings
    tenant: str
    fingerprint: str
    recommender: str = ""


@dataclass(frozen=True, eq=False)
class TrialDispatch:
    """What a :class:`~mlcore.interfaces.TrialTunable` gets: where trials run, on what."""

    executor: Executor
    handle: DataHandle

    def for_recommender(self, name: str) -> TrialDispatch:
        return TrialDispatch(self.executor, replace(self.handle, recommender=name))


@dataclass(frozen=True)
class TrialRecord:
    """A finished trial as the pruner of a later one needs it."""

    scores: tuple[tuple[int, float], ...]
    pruned: bool
    last_checked: bool


@dataclass(frozen=True)
class TrialTask:
    """One trial as a unit of work.

    Attributes:
        handle: Where the data is.
        params: The configuration, as the backend's ``suggest`` drew it.
        history: The trials completed before this one was asked.
        config: Patience, pruner and its minimum resource (the study's).
        cpu_limit: CPU seconds this trial may use (``inf``: no limit); it stops at
            its next checkpoint after them.
        sizes: Interactions of the training and validation parts the trainer tuned on.
    """

    handle: DataHandle
    params: Mapping[str, Any]
    history: tuple[TrialRecord, ...]
    config: StudyConfig
    cpu_limit: float
    sizes: tuple[int, int]


@dataclass(frozen=True)
class TrialResult:
    """What a trial unit returns: scores per epoch and what it cost."""

    record: TrialRecord
    cpu_seconds: float
    where: str

    @property
    def best(self) -> tuple[float, int]:
        """(best score, its epoch); (-inf, 0) without a checkpoint."""
        if not self.record.scores:
            return -math.inf, 0
        epoch, score = max(self.record.scores, key=lambda pair: (pair[1], -pair[0]))
        return score, epoch


def run_trial_search(
    dispatch: TrialDispatch,
    config: StudyConfig,
    *,
    suggest: Callable[[Any], dict[str, Any]],
    sizes: tuple[int, int],
    first: Mapping[str, Any] | None = None,
    stop: Callable[[], bool] | None = None,
    cpu_limit: Callable[[int], float] | None = None,
    on_result: Callable[[TrialResult], None] | None = None,
) -> TuningReport:
    """Search as :func:`~mlcore.training.tuning.run_study` does, each trial a unit of work.

    Args:
        dispatch: The executor and the data handle.
        config: Trials, CPU timeout (on :func:`cpu_seconds`, which counts the trials'
            CPU seconds as they report), seed, storage, pruner.
        suggest: Draws a configuration with the Optuna trial's ``suggest_*``.
        sizes: Interactions of the training and validation parts (checked by units).
        first: A configuration tried first.
        stop: Checked after each finished trial; True starts no further trial.
        cpu_limit: CPU seconds a new trial may use, given the trials running.
        on_result: Called with each finished trial's result.
    """
    import optuna  # noqa: PLC0415 - optional heavy import, only when tuning

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    executor = dispatch.executor
    slots = max(executor.slots(), 1)
    deadline = cpu_seconds() + max(config.timeout, 0.0)
    storage = open_storage(optuna, config.storage)
    try:
        study = new_study(optuna, config, storage, first, constant_liar=slots > 1)
        search = _Search(optuna, study, dispatch, config, sizes)
        while True:
            stopping = search.asked > 0 and (  # the first trial always runs, as in run_study
                cpu_seconds() >= deadline or (stop is not None and stop())
            )
            while not stopping and search.can_ask(slots):
                limit = cpu_limit(len(search.pending)) if cpu_limit else math.inf
                search.ask(suggest, min(limit, max(deadline - cpu_seconds(), 0.0)))
            if not search.pending:
                break
            for result in search.collect():
                if on_result is not None:
                    on_result(result)
        return trial_report(study.trials, config)
    finally:
        close_storage(storage)


class _Search:
    """The running trials of one study."""

    def __init__(
        self,
        optuna: Any,
        study: Any,
        dispatch: TrialDispatch,
        config: StudyConfig,
        sizes: tuple[int, int],
    ) -> None:
        self.optuna = optuna
        self.study = study
        self.dispatch = dispatch
        self.config = config
        self.sizes = sizes
        self.asked = 0
        self.history: list[TrialRecord] = []
        self.pending: dict[Future[Any], Any] = {}

    def can_ask(self, slots: int) -> bool:
        return len(self.pending) < slots and self.asked < max(self.config.trials, 1)

    def ask(self, suggest: Callable[[Any], dict[str, Any]], cpu_limit: float) -> None:
        trial = self.study.ask()
        params = suggest(trial)
        trial.set_user_attr("params", dict(params))
        task = TrialTask(
            self.dispatch.handle, params, tuple(self.history), self.config, cpu_limit, self.sizes
        )
        self.pending[self.dispatch.executor.submit(run_trial, task)] = trial
        self.asked += 1

    def collect(self) -> list[TrialResult]:
        """Wait for at least one trial; tell the study about every finished one."""
        with not_counted():  # other units may use this process meanwhile
            done = self.dispatch.executor.wait(list(self.pending))
        results = []
        for future in sorted(done, key=lambda f: self.pending[f].number):
            trial = self.pending.pop(future)
            try:
                result: TrialResult = future.result()
            except Exception as exc:  # noqa: BLE001 - a failed trial never fails the search
                log.warning("tenant %s: trial %d failed: %r", self._tenant, trial.number, exc)
                self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
                continue
            charge_remote(result.cpu_seconds)
            self._tell(trial, result)
            self.history.append(result.record)
            results.append(result)
        return results

    @property
    def _tenant(self) -> str:
        return self.dispatch.handle.tenant

    def _tell(self, trial: Any, result: TrialResult) -> None:
        best, best_epoch = result.best
        for epoch, score in result.record.scores:
            trial.report(score, epoch)
        trial.set_user_attr("best_score", best)
        trial.set_user_attr("best_epoch", best_epoch)
        trial.set_user_attr("epochs_run", result.record.scores[-1][0] if best_epoch else 0)
        trial.set_user_attr("seconds", result.cpu_seconds)
        trial.set_user_attr("where", result.where)
        pruned = self.optuna.trial.TrialState.PRUNED
        if result.record.pruned or best_epoch == 0:
            self.study.tell(trial, state=pruned)
        else:
            self.study.tell(trial, best)


def run_trial(task: TrialTask) -> TrialResult:
    """The trial unit of work: train ``task.params`` epoch by epoch on the handle's data.

    Stops after ``patience`` checkpoints without improvement, when its CPU seconds
    pass ``task.cpu_limit``, or when Optuna's pruner, over the replayed history,
    prunes it.
    """
    import optuna  # noqa: PLC0415 - optional heavy import, only when tuning

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.process_time()
    objective = _objective(task)
    judge = _replayed(optuna, task.config, task.history).ask()
    scores: list[tuple[int, float]] = []
    best, waited, pruned, checked = -math.inf, 0, False, True
    for epoch, score in objective.checkpoints(task.params):
        scores.append((epoch, score))
        best, waited = (score, 0) if score > best else (best, waited + 1)
        judge.report(score, epoch)
        if waited >= task.config.patience or time.process_time() - started >= task.cpu_limit:
            checked = False
            break
        if judge.should_prune():
            pruned = True
            break
    record = TrialRecord(tuple(scores), pruned, checked)
    return TrialResult(record, time.process_time() - started, where())


def _replayed(optuna: Any, config: StudyConfig, history: Sequence[TrialRecord]) -> Any:
    """An in-memory study whose pruner has seen ``history`` as the trainer's study did."""
    study = optuna.create_study(direction="maximize", pruner=new_pruner(optuna, config))
    for record in history:
        trial = study.ask()
        for index, (epoch, score) in enumerate(record.scores):
            trial.report(score, epoch)
            if index < len(record.scores) - 1 or record.last_checked:
                trial.should_prune()
        if record.pruned or not record.scores:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, max(score for _, score in record.scores))
    return study


#: The split and recommender of the last few handles seen by this process.
_CONTEXTS: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
_KEPT_CONTEXTS = 2


def _objective(task: TrialTask) -> EpochwiseObjective:
    """The backend's objective for ``task``; the data is read once per process and handle."""
    handle = task.handle
    key = f"{handle.tenant}\0{handle.fingerprint}\0{handle.recommender}\0{handle.settings!r}"
    if key not in _CONTEXTS:
        _CONTEXTS[key] = _load_context(handle, task.sizes)
        while len(_CONTEXTS) > _KEPT_CONTEXTS:
            _CONTEXTS.popitem(last=False)
    _CONTEXTS.move_to_end(key)
    recommender, split = _CONTEXTS[key]
    objective: EpochwiseObjective = recommender.trial_objective(
        split.train, split.test, seed=task.config.seed
    )
    return objective


def _load_context(handle: DataHandle, sizes: tuple[int, int]) -> tuple[Any, Any]:
    settings = with_local_secrets(handle.settings)
    parts = configured_plugins(settings)
    dataset, fingerprint = load_fingerprinted(parts.data_source(), handle.tenant)
    if fingerprint != handle.fingerprint:
        raise MLCoreError(
            f"the export of tenant {handle.tenant} changed during its tuning search "
            "(this unit read other bytes than the trainer); the trial is skipped"
        )
    split = temporal_split(dataset)
    if (split.train.n_interactions, split.test.n_interactions) != tuple(sizes):
        raise MLCoreError(
            f"tenant {handle.tenant}: the split of this unit does not match the trainer's"
        )
    recommender = parts.recommender(handle.recommender)
    if not isinstance(recommender, TrialTunable):
        raise MLCoreError(f"recommender {handle.recommender!r} cannot run single trials")
    return recommender, split

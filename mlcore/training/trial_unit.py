"""A tuning trial as a unit of work: parameters and a data handle in, scores per epoch out.

:func:`run_trial` runs on a worker (or a process of this machine). It reads the
tenant's export through the configured data source itself, once per process and
handle (the last two are kept), checks it against the sha256 the trainer saw,
rebuilds the temporal split and the recommender (same plugin, same options) and
trains the trial's parameters epoch by epoch with the backend's
:meth:`~mlcore.interfaces.TrialTunable.trial_objective`. It prunes with Optuna's own
pruner over an in-memory study replayed from the shipped history of finished
trials, so with one slot it decides as the sequential search does. The search that
sends trials is :mod:`mlcore.training.trial_search`.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.errors import MLCoreError
from mlcore.interfaces import TrialTunable
from mlcore.training.splits import temporal_split
from mlcore.training.tuning import EpochwiseObjective, StudyConfig, new_pruner
from mlcore.training.units import load_fingerprinted, where, with_local_secrets


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
        refit_factor: Times its own epochs the trial's best checkpoint will cost to
            refit (e.g. on the training part and on everything): the trial stops
            before an epoch after which that refit would not fit ``cpu_limit``.
    """

    handle: DataHandle
    params: Mapping[str, Any]
    history: tuple[TrialRecord, ...]
    config: StudyConfig
    cpu_limit: float
    sizes: tuple[int, int]
    refit_factor: float = 0.0


@dataclass(frozen=True)
class TrialResult:
    """What a trial unit returns: scores per epoch and what it cost."""

    record: TrialRecord
    cpu_seconds: float
    where: str
    cpu_limit: float = math.inf

    @property
    def best(self) -> tuple[float, int]:
        """(best score, its epoch); (-inf, 0) without a checkpoint."""
        if not self.record.scores:
            return -math.inf, 0
        epoch, score = max(self.record.scores, key=lambda pair: (pair[1], -pair[0]))
        return score, epoch


def run_trial(task: TrialTask) -> TrialResult:
    """The trial unit of work: train ``task.params`` epoch by epoch on the handle's data.

    Stops after ``patience`` checkpoints without improvement, before an epoch that
    (with the refit it implies) would not fit ``task.cpu_limit``, or when Optuna's
    pruner, over the replayed history, prunes it.
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
        spent = time.process_time() - started
        if waited >= task.config.patience or not _next_epoch_fits(task, spent, len(scores)):
            checked = False
            break
        if judge.should_prune():
            pruned = True
            break
    record = TrialRecord(tuple(scores), pruned, checked)
    return TrialResult(record, time.process_time() - started, where(), task.cpu_limit)


def _next_epoch_fits(task: TrialTask, spent: float, epochs: int) -> bool:
    """Whether one more epoch, and the refit of a checkpoint that long, fit the limit."""
    if math.isinf(task.cpu_limit):
        return True
    per_epoch = spent / max(epochs, 1)
    return spent + per_epoch * (1.0 + (epochs + 1) * task.refit_factor) <= task.cpu_limit


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

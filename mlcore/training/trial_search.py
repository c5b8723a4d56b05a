"""Hyperparameter search whose trials are units of work (Optuna ask/tell in the trainer).

The study (TPE sampler, SQLite history) stays with the tenant's trainer. Each
trial is asked for its parameters there and shipped as a
:class:`~mlcore.training.trial_unit.TrialTask` to
:func:`~mlcore.training.trial_unit.run_trial` through the
:class:`~mlcore.interfaces.Executor`: parameters, a data handle (settings, tenant,
the sha256 of the export the trainer loaded) and the history of the trials
completed so far; the unit returns the scores per epoch and its CPU seconds, which
count in the tenant's budget (:func:`~mlcore.training.budget.charge_remote`).

With one slot the history is every earlier trial and the search is the sequential
one (:func:`~mlcore.training.tuning.run_study`) trial for trial. With several
slots, trials running at the same time do not see each other, and TPE uses
``constant_liar``: the search differs from the sequential one
(docs/scale-out.md, "Trials as units of work").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from mlcore.interfaces import Executor, TuningReport
from mlcore.training.budget import charge_remote, cpu_seconds, not_counted
from mlcore.training.trial_unit import (
    DataHandle,
    TrialRecord,
    TrialResult,
    TrialTask,
    run_trial,
)
from mlcore.training.tuning import (
    StudyConfig,
    close_storage,
    new_study,
    open_storage,
    trial_report,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class TrialDispatch:
    """What a :class:`~mlcore.interfaces.TrialTunable` gets: where trials run, on what."""

    executor: Executor
    handle: DataHandle

    def for_recommender(self, name: str) -> TrialDispatch:
        return TrialDispatch(self.executor, replace(self.handle, recommender=name))


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
    refit_factor: float = 0.0,
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
        refit_factor: See :class:`~mlcore.training.trial_unit.TrialTask`.
    """
    import optuna  # noqa: PLC0415 - optional heavy import, only when tuning

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    executor = dispatch.executor
    slots = max(executor.slots(), 1)
    deadline = cpu_seconds() + max(config.timeout, 0.0)
    storage = open_storage(optuna, config.storage)
    try:
        study = new_study(optuna, config, storage, first, constant_liar=slots > 1)
        search = _Search(optuna, study, dispatch, config, sizes, refit_factor)
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
        refit_factor: float,
    ) -> None:
        self.optuna = optuna
        self.refit_factor = refit_factor
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
            self.dispatch.handle,
            params,
            tuple(self.history),
            self.config,
            cpu_limit,
            self.sizes,
            self.refit_factor,
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

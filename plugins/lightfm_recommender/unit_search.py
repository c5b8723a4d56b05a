"""LightFM's search with each trial a unit of work (``ML_EXECUTOR``; docs/scale-out.md).

The study stays here (:func:`mlcore.training.trial_search.run_trial_search`); trials
run wherever the executor puts them and report their scores per epoch and CPU
seconds, which count in the tenant's budget. :class:`UnitPace` plays the part of
:class:`~plugins.lightfm_recommender.budget.TuningPace` for trials it cannot watch
epoch by epoch: no trial starts unless the refit of the best trial so far (on the
training part, to end fitted as ``Tunable`` asks, and on everything) still fits,
and each trial gets an equal share of what is left beyond that and beyond the shares
of the trials still running; a trial stops before an epoch after which its own refits
would not fit its share.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mlcore.dataset import Dataset
from mlcore.interfaces import TuningReport
from mlcore.training.trial_search import TrialDispatch, run_trial_search
from mlcore.training.trial_unit import TrialResult
from plugins.lightfm_recommender.budget import TimeBudget, TuningPace

if TYPE_CHECKING:
    from plugins.lightfm_recommender.recommender import LightFMRecommender


class UnitPace:
    """What the budget allows a search whose trials run elsewhere.

    Args:
        budget: The recommender's time budget (CPU seconds, trials included).
        scale: Interactions of the final fit divided by those of tuning.
        slots: Trials that run at once.
    """

    def __init__(self, budget: TimeBudget, scale: float, slots: int) -> None:
        self.budget = budget
        self.scale = scale
        self.slots = max(slots, 1)
        self.committed = 0.0
        self.best_score = -math.inf
        self.best_epochs = 0
        self.epoch_seconds = 0.0

    def record(self, result: TrialResult) -> None:
        """A finished trial: its CPU seconds per epoch, and whether it is the best."""
        if math.isfinite(result.cpu_limit):
            self.committed = max(self.committed - result.cpu_limit, 0.0)
        score, epoch = result.best
        seconds_per_epoch = result.cpu_seconds / max(len(result.record.scores), 1)
        if epoch and score > self.best_score:
            self.best_score, self.best_epochs = score, epoch
            self.epoch_seconds = seconds_per_epoch

    @property
    def refit_factor(self) -> float:
        """A checkpoint's refits cost its epochs once on the training part, and ``scale``
        times on everything."""
        return 1.0 + self.scale

    def reserve(self) -> float:
        """Predicted CPU seconds of the refits of the best trial."""
        return self.best_epochs * self.epoch_seconds * self.refit_factor

    def free(self) -> float:
        """CPU seconds left beyond the best trial's refits and the running trials' shares."""
        return self.budget.remaining() - self.reserve() - self.committed

    def exhausted(self) -> bool:
        """Whether no further trial may start."""
        return self.budget.limited and self.free() <= 0

    def trial_limit(self, running: int) -> float:
        """CPU seconds for a trial starting beside ``running`` others (its share)."""
        if not self.budget.limited:
            return math.inf
        limit = max(self.free(), 0.0) / max(self.slots - running, 1)
        self.committed += limit
        return limit

    def tuning_pace(self) -> TuningPace:
        """The pace the final fit plans with (seconds per epoch of the best trial)."""
        pace = TuningPace(self.budget, scale=self.scale)
        pace.new_best(self.best_epochs, self.epoch_seconds)
        return pace


def tune_by_units(
    recommender: LightFMRecommender,
    dispatch: TrialDispatch,
    train: Dataset,
    validation: Dataset,
    trials: int,
    timeout: float,
    seed: int,
) -> TuningReport:
    """``recommender.tune`` with its trials run through ``dispatch``; ends fitted on
    ``train`` with the best options (one more fit here: the trials' models stay where
    they ran)."""
    space = recommender.options.search_space()
    total = train.n_interactions + validation.n_interactions
    slots = dispatch.executor.slots()
    pace = UnitPace(recommender.time_budget, total / max(train.n_interactions, 1), slots)
    report = run_trial_search(
        dispatch,
        recommender.study_config(train.tenant, trials, timeout, seed),
        suggest=space.suggest,
        sizes=(train.n_interactions, validation.n_interactions),
        first=space.clip(recommender.params),
        stop=pace.exhausted,
        cpu_limit=pace.trial_limit,
        on_result=pace.record,
        refit_factor=pace.refit_factor,
    )
    recommender.adopt(report, train, pace.tuning_pace())
    return report

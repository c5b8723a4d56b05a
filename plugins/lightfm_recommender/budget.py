"""Fitting LightFM's tuning and final fit into a time budget (``ML_TRAINING_BUDGET``).

LightFM's cost per epoch is linear in the interactions, so the seconds of each
training epoch, measured as tuning goes, predict what the final fit on every
interaction will cost. Tuning stops while the predicted refit of its best
checkpoint still fits the budget; the final fit is a refit from scratch when it
fits what is left, otherwise it continues the best tuned checkpoint for as many
epochs as fit (``warm``), or serves that checkpoint as it is when not even one
epoch fits. See ``docs/lightfm.md`` ("Time budget").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

FinalFit = Literal["refit", "warm", "checkpoint"]


class TimeBudget:
    """A deadline on a monotonic clock; ``None`` seconds means no limit.

    Args:
        seconds: Seconds from now, or None.
        clock: Monotonic seconds (injectable for tests).
    """

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.seconds = seconds
        self.deadline = None if seconds is None else clock() + max(seconds, 0.0)

    @property
    def limited(self) -> bool:
        return self.deadline is not None

    def remaining(self) -> float:
        """Seconds left (``inf`` without a limit; negative once overrun)."""
        if self.deadline is None:
            return math.inf
        return self.deadline - self.clock()


@dataclass(frozen=True)
class FinalFitPlan:
    """How the model of every interaction is made after tuning.

    Attributes:
        mode: ``refit`` (from scratch), ``warm`` (continue the best tuned
            checkpoint) or ``checkpoint`` (serve that checkpoint as it is).
        epochs: Epochs to train (0 for ``checkpoint``).
        predicted_seconds: What those epochs are predicted to cost.
        reason: Why this mode, for the manifest and the log.
    """

    mode: FinalFit
    epochs: int
    predicted_seconds: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_final_fit(
    *,
    preferred: Literal["refit", "warm"],
    tuned_epochs: int,
    seconds_per_epoch: float,
    remaining: float,
    warm_fraction: float,
    has_checkpoint: bool,
) -> FinalFitPlan:
    """Choose the final fit that fits ``remaining`` seconds.

    Args:
        preferred: The ``final_fit`` option.
        tuned_epochs: Epochs of the best tuned configuration (>= 1).
        seconds_per_epoch: Predicted seconds of one epoch on every interaction.
        remaining: Seconds left in the budget (``inf`` without one).
        warm_fraction: Share of ``tuned_epochs`` a warm fit runs.
        has_checkpoint: Whether a tuned checkpoint of this data's shape exists;
            without one, only ``refit`` is possible (the fit then stops at the
            deadline after at least one epoch).
    """
    refit_seconds = tuned_epochs * seconds_per_epoch
    if not has_checkpoint:
        return FinalFitPlan("refit", tuned_epochs, refit_seconds, "no tuned checkpoint")
    if preferred == "refit" and refit_seconds <= remaining:
        return FinalFitPlan("refit", tuned_epochs, refit_seconds, "fits the budget")
    warm_epochs = max(1, math.ceil(tuned_epochs * warm_fraction))
    if math.isfinite(remaining) and seconds_per_epoch > 0:
        epochs = min(warm_epochs, max(math.floor(remaining / seconds_per_epoch), 0))
    else:
        epochs = warm_epochs
    if preferred == "refit":
        reason = (
            f"refit predicted {refit_seconds:.0f} s, {max(remaining, 0.0):.0f} s left in the budget"
        )
    else:
        reason = "final_fit option is warm"
    if epochs == 0:
        return FinalFitPlan("checkpoint", 0, 0.0, f"{reason}; not one epoch fits")
    return FinalFitPlan("warm", epochs, epochs * seconds_per_epoch, reason)


class TuningPace:
    """Decides before each tuning epoch whether the budget still allows it.

    An epoch may run when, after it and its validation scoring, the refit of
    whichever checkpoint would then be the best (the best so far, or this trial
    at this epoch) is still predicted to fit, plus ``fixed_seconds`` for the
    work around the final fit.

    Args:
        budget: The deadline.
        scale: Interactions of the final fit divided by those of tuning.
        fixed_seconds: Seconds reserved for work besides the final fit's epochs.
    """

    def __init__(self, budget: TimeBudget, *, scale: float, fixed_seconds: float = 0.0):
        self.budget = budget
        self.scale = scale
        self.fixed_seconds = fixed_seconds
        self.best_epoch_seconds = 0.0
        self.best_epochs = 0
        self.last_epoch_seconds: float | None = None
        self.last_score_seconds = 0.0
        self.exhausted = False

    def record(self, epoch_seconds: float, score_seconds: float) -> None:
        """One measured epoch (training seconds, scoring seconds)."""
        self.last_epoch_seconds = epoch_seconds
        self.last_score_seconds = score_seconds

    def new_best(self, epochs: int, epoch_seconds: float) -> None:
        """The best checkpoint is now ``epochs`` epochs of ``epoch_seconds`` each."""
        self.best_epochs = epochs
        self.best_epoch_seconds = epoch_seconds

    def final_epoch_seconds(self) -> float:
        """Predicted seconds of one epoch of the best configuration on every interaction."""
        return self.best_epoch_seconds * self.scale

    def allows(self, epoch: int, epoch_seconds: float | None = None) -> bool:
        """Whether epoch number ``epoch`` (1-based) of the current trial may run.

        Args:
            epoch: The epoch about to run.
            epoch_seconds: This trial's measured seconds per epoch, if any; else
                the last measured epoch of any trial.
        """
        if not self.budget.limited:
            return True
        cost = epoch_seconds if epoch_seconds is not None else self.last_epoch_seconds
        if cost is None:  # nothing measured yet: the very first epoch always runs
            return True
        best_refit = self.best_epochs * self.best_epoch_seconds * self.scale
        this_refit = epoch * cost * self.scale
        needed = cost + self.last_score_seconds + max(best_refit, this_refit) + self.fixed_seconds
        if self.budget.remaining() < needed:
            self.exhausted = True
            return False
        return True

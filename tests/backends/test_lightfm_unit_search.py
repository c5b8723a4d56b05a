"""LightFM's pace for trials run as units: shares of the budget never add up to more than it."""

from __future__ import annotations

import math

from mlcore.training.trial_unit import TrialRecord, TrialResult
from plugins.lightfm_recommender.budget import TimeBudget
from plugins.lightfm_recommender.unit_search import UnitPace


def _result(seconds: float, limit: float, scores: tuple[tuple[int, float], ...]) -> TrialResult:
    return TrialResult(TrialRecord(scores, False, True), seconds, "host:1", limit)


def test_running_trials_share_what_the_budget_leaves() -> None:
    now = [0.0]
    pace = UnitPace(TimeBudget(100.0, lambda: now[0]), scale=1.5, slots=2)
    first, second = pace.trial_limit(0), pace.trial_limit(1)
    assert (first, second) == (50.0, 50.0) and pace.exhausted()
    now[0] = 30.0  # the first trial reports 30 CPU seconds: 4 epochs, best at epoch 2
    pace.record(_result(30.0, first, ((1, 0.1), (2, 0.3), (3, 0.2), (4, 0.25))))
    assert pace.reserve() == 2 * 7.5 * 2.5  # its refits: training part and everything
    assert math.isclose(pace.free(), 70.0 - 37.5 - 50.0)  # the second still holds its share
    assert pace.exhausted()
    now[0] = 40.0
    pace.record(_result(10.0, second, ((1, 0.05),)))  # worse: the best stays
    assert math.isclose(pace.trial_limit(0), (60.0 - 37.5) / 2)  # a share per slot


def test_without_a_budget_trials_are_unlimited() -> None:
    pace = UnitPace(TimeBudget(None), scale=1.2, slots=3)
    assert pace.trial_limit(2) == math.inf and not pace.exhausted()

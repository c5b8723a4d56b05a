"""Fit one candidate backend on the training part of the temporal split and score it.

:func:`fit_candidate` is the unit the trainer repeats for LightFM and each blend
partner: tune (the :class:`~mlcore.interfaces.Tunable` handshake) or fit on
``split.train``, then score on ``split.test`` with the evaluation code serving
uses. The result, a :class:`CandidateFit`, keeps the recommender fitted on the
training part, so the blend weights can be fitted on its exported arrays, and
records what it cost in CPU seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlcore.interfaces import Budgeted, Recommender, Tunable, TuningReport
from mlcore.training.budget import cpu_seconds
from mlcore.training.evaluation import Metrics, evaluate, serving_scores
from mlcore.training.splits import Split, sample_users

#: Validation users a candidate is scored on (a seeded sample above it).
SCORED_USERS = 5000


@dataclass(frozen=True)
class CandidatePlan:
    """What one candidate may spend.

    Attributes:
        trials: Tuning trials (0: fit with the options as they are).
        timeout: CPU seconds of tuning at most.
        budget: CPU seconds for tuning and the final fit (``inf``: unlimited),
            handed to a :class:`~mlcore.interfaces.Budgeted` recommender.
        seed: Seed of the search.
    """

    trials: int
    timeout: float
    budget: float
    seed: int


@dataclass(frozen=True, eq=False)
class CandidateFit:
    """One candidate fitted on the training part and scored on validation.

    Attributes:
        name: The plugin name.
        recommender: Fitted on ``split.train`` (by tuning or ``fit``).
        metrics: NDCG@10 and friends on ``split.test``.
        tuning: The search, if it was tuned.
        seconds: CPU seconds of tuning, fitting and scoring.
    """

    name: str
    recommender: Recommender
    metrics: Metrics
    tuning: TuningReport | None
    seconds: float

    def final_fit_reserve(self, scale: float = 1.3) -> float:
        """CPU seconds to keep for the fit on every interaction: the slowest trial (or
        the whole fit, untuned) times ``scale`` (the whole tenant is larger)."""
        if self.tuning is not None and self.tuning.trials:
            slowest = max(float(t.get("seconds") or 0.0) for t in self.tuning.trials)
            return scale * slowest
        return scale * self.seconds


@dataclass(frozen=True)
class CandidateRecord:
    """What the manifest, ``mlservice train`` and ``/health-check`` show of a candidate.

    Attributes:
        name: The plugin name.
        ndcg: Validation NDCG@10 (None when skipped).
        weight: Its weight in what serves (0: not serving).
        seconds: CPU seconds it took on the training part.
        skipped: Why it was not trained, if it was not.
    """

    name: str
    ndcg: float | None
    weight: float
    seconds: float
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "name": self.name,
            "validation_ndcg": None if self.ndcg is None else round(self.ndcg, 6),
            "weight": round(self.weight, 4),
            "seconds": round(self.seconds, 2),
        }
        if self.skipped:
            result["skipped"] = self.skipped
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CandidateRecord:
        ndcg = data.get("validation_ndcg")
        return cls(
            name=str(data.get("name", "")),
            ndcg=float(ndcg) if isinstance(ndcg, int | float) else None,
            weight=float(data.get("weight") or 0.0),
            seconds=float(data.get("seconds") or 0.0),
            skipped=data.get("skipped"),
        )

    def summary(self) -> str:
        """One short line, e.g. ``ease ndcg 0.1123 weight 0.5 4 s``."""
        if self.skipped:
            return f"{self.name} skipped ({self.skipped})"
        ndcg = "-" if self.ndcg is None else f"{self.ndcg:.4f}"
        return f"{self.name} ndcg {ndcg} weight {self.weight:g} {self.seconds:.0f} s"


def fit_candidate(
    name: str, recommender: Recommender, split: Split, plan: CandidatePlan
) -> CandidateFit:
    """Tune or fit ``recommender`` on ``split.train`` within ``plan``; score it on ``split.test``.

    Errors of the recommender propagate (the trainer decides whether a failing
    candidate is skipped).
    """
    started = cpu_seconds()
    if isinstance(recommender, Budgeted) and math.isfinite(plan.budget):
        recommender.set_time_budget(plan.budget)
    tuning = None
    if isinstance(recommender, Tunable) and plan.trials > 0 and split.test.n_interactions > 0:
        tuning = recommender.tune(
            split.train,
            split.test,
            trials=plan.trials,
            timeout=min(plan.timeout, plan.budget),
            seed=plan.seed,
        )
    else:
        recommender.fit(split.train)
    metrics = score_on_validation(recommender, split, seed=plan.seed)
    return CandidateFit(name, recommender, metrics, tuning, cpu_seconds() - started)


def score_on_validation(
    recommender: Recommender, split: Split, *, max_users: int = SCORED_USERS, seed: int = 42
) -> Metrics:
    """NDCG@10 (and P, R, coverage; no AUC) of a recommender fitted on ``split.train``, on
    at most ``max_users`` validation users (a seeded sample: scoring every user of a large
    tenant costs as much as a fit)."""
    scores = serving_scores(recommender.export())
    validation = sample_users(split.test, max_users, seed)
    return evaluate(scores, split.train, validation, k=10, with_auc=False)

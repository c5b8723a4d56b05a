"""Hyperparameter search for the implicit backends with :func:`mlcore.training.tuning.run_study`.

The same seeded, budgeted, pruned search as LightFM, judged by NDCG@10 on the
validation interactions. ALS and BPR are scored after every ``step`` iterations
(implicit continues from the current factors when ``fit`` is called again), so the
tuner also picks ``iterations`` and prunes weak trials early; item-kNN has no
iterations and is scored once per trial.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from mlcore.dataset import Dataset
from mlcore.interfaces import TuningReport
from mlcore.training.evaluation import evaluate, serving_scores
from mlcore.training.recency import recency_trial, suggest_recency
from mlcore.training.tuning import StudyConfig, run_study

#: Tuned options per backend: name -> (low, high) on a log scale, or a tuple of choices.
SPACES: dict[str, dict[str, Any]] = {
    "implicit-als": {"factors": (8, 128), "regularization": (0.01, 100.0), "alpha": (0.1, 50.0)},
    "implicit-bpr": {
        "factors": (8, 128),
        "learning_rate": (0.001, 0.1),
        "regularization": (0.0001, 0.1),
    },
    "item-knn": {"similarity": ("cosine", "bm25"), "neighbours": (5, 500)},
}
#: Bounds of a tuned recency half-life (positions or days; log scale).
RECENCY_HALF_LIFE = (5.0, 500.0)
#: (iterations per checkpoint, most iterations) of the iterative backends.
SCHEDULES = {"implicit-als": (1, 30), "implicit-bpr": (10, 300)}


@dataclass
class _Objective:
    """An :class:`mlcore.training.tuning.EpochwiseObjective` over one backend."""

    backend: str
    make: Callable[[Mapping[str, Any]], Any]
    train: Dataset
    validation: Dataset
    recency: tuple[str, ...] = ()

    def suggest(self, trial: Any) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, bounds in SPACES[self.backend].items():
            if isinstance(bounds[0], str):
                params[name] = trial.suggest_categorical(name, list(bounds))
            elif isinstance(bounds[0], int):
                params[name] = trial.suggest_int(name, *bounds, log=True)
            else:
                params[name] = trial.suggest_float(name, *bounds, log=True)
        if len(self.recency) > 1:  # only when asked for: it changes what the sampler draws
            params.update(suggest_recency(trial, self.recency, RECENCY_HALF_LIFE))
        return params

    def checkpoints(self, params: Mapping[str, Any]) -> Iterator[tuple[int, float]]:
        recommender = self.make(params)
        if self.backend not in SCHEDULES:
            yield 1, self._score(recommender.fit(self.train))
            return
        step, total = SCHEDULES[self.backend]
        for done in recommender.fit_in_steps(self.train, step, total):
            yield done, self._score(recommender)

    def _score(self, recommender: Any) -> float:
        scores = serving_scores(recommender.export())
        return evaluate(scores, self.train, self.validation, k=10, with_auc=False).ndcg


def tune_recommender(
    recommender: Any,
    train: Dataset,
    validation: Dataset,
    *,
    trials: int,
    timeout: float,
    seed: int,
) -> TuningReport:
    """Search the options of an implicit ``recommender``; return the report.

    The recommender's current options are the first trial, so the result is never
    worse than them on validation. ``best_params`` holds only option names
    (``iterations`` included for ALS and BPR).
    """
    backend = recommender.backend

    def make(params: Mapping[str, Any]) -> Any:
        return type(recommender)(
            replace(recommender.options, **params),
            **_collaborators(recommender),
        )

    recency = tuple(getattr(recommender.options, "tune_recency", ("off",)))
    objective = _Objective(backend, make, train, validation, recency)
    iterative = backend in SCHEDULES
    step = SCHEDULES[backend][0] if iterative else 1
    config = StudyConfig(
        trials=trials,
        timeout=timeout,
        seed=seed,
        study_name=f"{train.tenant}-{backend}-{time.time_ns()}",
        patience=3,
        min_resource=3 * step,
        epochs_key="iterations" if iterative else "checkpoint",
        components_key="factors" if iterative else "neighbours",
    )
    current = asdict(recommender.options)
    first = {name: current[name] for name in SPACES[backend]}
    tuned_recency = {"recency", "recency_half_life"} if len(recency) > 1 else set()
    if tuned_recency:
        kind = current["recency"] if current["recency"] in recency else recency[0]
        first.update(recency_trial(kind, current["recency_half_life"]))
    report = run_study(objective, config, first=first)
    keep = set(SPACES[backend]) | ({"iterations"} if iterative else set()) | tuned_recency
    best = {name: value for name, value in report.best_params.items() if name in keep}
    return replace(report, best_params=best)


class StudyTuned(ABC):
    """The one ``tune`` of the implicit backends (the :class:`~mlcore.interfaces.Tunable`
    handshake): search with :func:`tune_recommender`, keep the best options, and end
    fitted on ``train`` with them."""

    options: Any

    @abstractmethod
    def fit(self, dataset: Dataset) -> Any:
        """Train on every interaction of ``dataset`` with the current options."""

    def tune(
        self, train: Dataset, validation: Dataset, *, trials: int, timeout: float, seed: int
    ) -> TuningReport:
        """Search options on ``train`` by NDCG@10 on ``validation``; end fitted on ``train``."""
        report = tune_recommender(
            self, train, validation, trials=trials, timeout=timeout, seed=seed
        )
        self.options = replace(self.options, **report.best_params)
        self.fit(train)
        return report


def _collaborators(recommender: Any) -> dict[str, Any]:
    names = ("seed", "num_threads")
    return {name: getattr(recommender, name) for name in names if hasattr(recommender, name)}

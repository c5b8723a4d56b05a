"""The ``ease`` recommender: EASE's item-item weights, tuned on the temporal validation split.

Input: the (U, I) matrix ``X`` of interactions, 1 for each (``use_ratings``:
``rating + 1``, which measured worse, see docs/ease.md). The fitted
model is the dense (I, I) matrix ``B`` of :mod:`plugins.ease_recommender.closed_form`;
a user's score row is their interaction weights times the recency multipliers
(:class:`mlcore.training.recency.Recency`) times ``B``. Recency weights the query
only, not ``XᵀX``: on ml-latest-small's validation split, weighting both lost
0.5–10% NDCG@10 against the query alone at every λ and half-life tried (docs/ease.md).
The model is
served as kind ``"item_item"`` (dense, memory-mapped) or, with ``top_k > 0``, as kind
``"neighbours"`` keeping each item's ``top_k`` largest weights by magnitude.
Tuning searches λ, the recency kind and its half-life with
:func:`mlcore.training.tuning.run_study` (one factorisation per trial).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.interfaces import FoldedUsers, FoldInRequest, TuningReport
from mlcore.training.closed_form import check_item_limit
from mlcore.training.closed_form_recommender import ClosedFormRecommender
from mlcore.training.evaluation import evaluate, serving_scores
from mlcore.training.fold_in import query_rows_only
from mlcore.training.recency import Recency, RecencyKind, recency_trial, suggest_recency
from mlcore.training.splits import sample_users
from mlcore.training.tuning import run_study
from plugins.ease_recommender.closed_form import ease_weights
from plugins.ease_recommender.options import EaseOptions

log = logging.getLogger(__name__)

#: Tried right after the current options, before the search samples: (λ factor,
#: recency kind, half-life). Half weight 40 interactions or 90 days back.
STARTING_POINTS: tuple[tuple[float, RecencyKind, float], ...] = (
    (1.0, "position", 40.0),
    (1.0, "time", 90.0),
    (4.0, "position", 40.0),
    (4.0, "off", 40.0),
)


class EaseRecommender(ClosedFormRecommender[EaseOptions]):
    """EASE behind :class:`~mlcore.interfaces.Recommender`, ``Tunable`` and ``Budgeted``.

    Args: see :class:`~mlcore.training.closed_form_recommender.ClosedFormRecommender`.
    """

    backend = "ease"

    def _check_size(self, dataset: Dataset) -> None:
        check_item_limit(self.backend, dataset, self.options.max_items)

    def query_rows(self, dataset: Dataset) -> sp.csr_matrix:
        """(U, I) rows each user is scored with: ``X`` times recency multipliers."""
        return self.recency.weighted(dataset, self.input_matrix(dataset))

    def input_matrix(self, dataset: Dataset) -> sp.csr_matrix:
        """(U, I) float32 ``X``: 1 per interaction, or ``rating + 1`` with ``use_ratings``."""
        matrix = dataset.weights if self.options.use_ratings else dataset.interactions
        return sp.csr_matrix(matrix, dtype=np.float32)

    @property
    def recency(self) -> Recency:
        return Recency(self.options.recency, self.options.recency_half_life)

    def fit(self, dataset: Dataset) -> Self:
        """Train on every interaction of ``dataset`` with the current options."""
        self._check_size(dataset)
        active = int(np.count_nonzero(np.bincount(dataset.item_index, minlength=dataset.n_items)))
        self.check_solve_fits(active)
        x = self.input_matrix(dataset)
        self.weights_ = ease_weights(x, self.options.regularization, self.num_threads)
        self.user_items_ = self.query_rows(dataset)
        return self

    def fold_in_params(self) -> dict[str, Any]:
        options = self.options
        return {
            "use_ratings": options.use_ratings,
            "recency": options.recency,
            "recency_half_life": options.recency_half_life,
        }

    def fold_in(self, request: FoldInRequest) -> FoldedUsers:
        """New users' query rows (the weights ``B`` stay as published)."""
        params = request.params
        options = replace(
            self.options,
            use_ratings=bool(params["use_ratings"]),
            recency=params["recency"],
            recency_half_life=float(params["recency_half_life"]),
        )
        folder = EaseRecommender(options, seed=self.seed, num_threads=self.num_threads)
        return query_rows_only(request.users, folder.query_rows(request.users))

    def tune(
        self, train: Dataset, validation: Dataset, *, trials: int, timeout: float, seed: int
    ) -> TuningReport:
        """Search λ and recency on ``train`` by NDCG@10 on ``validation``; end fitted on
        ``train`` with the best (the :class:`~mlcore.interfaces.Tunable` handshake)."""
        self._check_size(train)
        sample = sample_users(validation, self.options.tune_max_users, seed)
        objective = _EaseObjective(self, train, sample)
        config = self.study_config(train.tenant, trials=trials, timeout=timeout, seed=seed)
        first = [_params_of(self.options)]
        for factor, kind, half_life in STARTING_POINTS:
            start = replace(
                self.options,
                regularization=self.options.regularization * factor,
                recency=kind,
                recency_half_life=half_life,
            )
            if kind in self.options.tune_recency and start != self.options:
                first.append(_params_of(start))
        report = run_study(objective, config, first=first, stop=objective.out_of_budget)
        best = _options_of(report.best_params)
        self.options = replace(self.options, **best)
        if objective.best is not None and objective.best[0] == self.options:
            self.weights_, self.user_items_ = objective.best[1], objective.best[2]
        else:
            self.fit(train)
        return replace(report, best_params=best)


class _EaseObjective:
    """One factorisation per trial, scored once (an EpochwiseObjective with one checkpoint)."""

    def __init__(self, owner: EaseRecommender, train: Dataset, validation: Dataset) -> None:
        self.owner = owner
        self.train = train
        self.validation = validation
        self.best_score = -math.inf
        self.best: tuple[Any, np.ndarray, sp.csr_matrix] | None = None
        self.trial_seconds = 0.0
        self._last: tuple[float, np.ndarray] | None = None

    def suggest(self, trial: Any) -> dict[str, Any]:
        o = self.owner.options
        bounds = {"position": o.tune_half_life_positions, "time": o.tune_half_life_days}
        return {
            "regularization": trial.suggest_float(
                "regularization", *o.tune_regularization, log=True
            ),
            **suggest_recency(trial, o.tune_recency, bounds),
        }

    def checkpoints(self, params: Mapping[str, Any]) -> Iterator[tuple[int, float]]:
        started = self.owner.clock()
        options = replace(self.owner.options, **_options_of(params))
        candidate = EaseRecommender(options, num_threads=self.owner.num_threads)
        candidate.weights_ = self._weights(options.regularization)
        candidate.user_items_ = x = candidate.query_rows(self.train)
        scores = serving_scores(candidate.export())
        score = evaluate(scores, self.train, self.validation, k=10, with_auc=False).ndcg
        self.trial_seconds = max(self.trial_seconds, self.owner.clock() - started)
        if score > self.best_score:
            self.best_score = score
            self.best = (options, candidate.weights_, x)
        yield 1, score

    def _weights(self, regularization: float) -> np.ndarray:
        """EASE weights of ``train`` for λ (the last one is kept: recency trials reuse it)."""
        if self._last is None or self._last[0] != regularization:
            x = self.owner.input_matrix(self.train)
            self._last = (regularization, ease_weights(x, regularization, self.owner.num_threads))
        return self._last[1]

    def out_of_budget(self) -> bool:
        """Whether another trial and the final fit no longer fit the budget."""
        return self.owner._remaining() < 2.5 * self.trial_seconds


def _options_of(params: Mapping[str, Any]) -> dict[str, Any]:
    """Option values from a trial's parameters."""
    names = ("regularization", "recency", "recency_half_life")
    return {name: params[name] for name in names if name in params}


def _params_of(options: EaseOptions) -> dict[str, Any]:
    """The search parameters of ``options`` (to try them first)."""
    return {
        "regularization": options.regularization,
        **recency_trial(options.recency, options.recency_half_life),
    }

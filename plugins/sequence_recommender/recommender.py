"""The ``sequence`` recommender: what users take next after what they took last.

A linear item-to-next-items model in closed form (SLIT, :mod:`.closed_form`) learnt
from every user's time-ordered history (:mod:`.sequences`): each split point of a
sequence asks the model to predict the next ``horizon`` items from the ``history``
items before it, recent ones weighing more. A user is scored by their own newest
``history`` items times ``B``. Learning paths, course series and "watched next"
patterns are what it captures; the other backends see a user's history as a set.

Served as kind ``"item_item"`` (dense, memory-mapped) or, with ``top_k > 0``, as kind
``"neighbours"``. Tuning searches λ with :func:`mlcore.training.tuning.run_study`
(one inverse per trial; the sequences and the Gram matrix are built once).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, Self

import numpy as np

from mlcore.dataset import Dataset
from mlcore.errors import NotFittedError
from mlcore.interfaces import FoldedUsers, FoldInRequest, TuningReport
from mlcore.serving.item_item import item_item_arrays
from mlcore.training.closed_form import check_item_limit
from mlcore.training.closed_form_recommender import ClosedFormRecommender
from mlcore.training.evaluation import evaluate, serving_scores
from mlcore.training.fold_in import query_rows_only
from mlcore.training.splits import sample_users
from mlcore.training.tuning import run_study
from plugins.sequence_recommender.closed_form import TransitionSystem
from plugins.sequence_recommender.options import SequenceOptions
from plugins.sequence_recommender.sequences import Sequences, Window

#: λ factors tried first, after the current options (the search then samples).
STARTING_FACTORS = (1 / 3, 3.0)


class SequenceRecommender(ClosedFormRecommender[SequenceOptions]):
    """The transition model behind ``Recommender``, ``Tunable`` and ``Budgeted``.

    Args: see :class:`~mlcore.training.closed_form_recommender.ClosedFormRecommender`.
    """

    backend = "sequence"

    @property
    def history(self) -> Window:
        return Window(self.options.history, self.options.history_half_life)

    @property
    def horizon(self) -> Window:
        return Window(self.options.horizon, self.options.horizon_half_life)

    def system(
        self, dataset: Dataset, sequences: Sequences | None = None
    ) -> tuple[TransitionSystem, Sequences]:
        """The λ-independent part of a fit of ``dataset`` (``sequences``: its histories,
        when already built).

        Raises:
            ConfigError: Above ``max_items``.
            BudgetError: The solve is predicted not to fit the time budget (checked
                before the rows and the Gram matrix are built).
        """
        check_item_limit(self.backend, dataset, self.options.max_items)
        sequences = sequences or Sequences.of(dataset)
        self.check_budget(sequences)
        sources = sequences.sources(self.history)
        return TransitionSystem.of(sources, sequences.targets(self.horizon)), sequences

    def check_budget(self, sequences: Sequences) -> None:
        """Refuse a solve that is predicted not to fit what the time budget leaves.

        Raises:
            BudgetError: Naming the predicted and the remaining CPU seconds.
        """
        self.check_solve_fits(int(sequences.source_items().size), sequences.shape[1])

    def fit(self, dataset: Dataset) -> Self:
        """Train on every interaction of ``dataset`` with the current options."""
        system, sequences = self.system(dataset)
        self.weights_ = system.solve(self.options.regularization, self.num_threads)
        self.user_items_ = sequences.queries(self.history)
        return self

    def fold_in_params(self) -> dict[str, Any]:
        return {
            "history": self.options.history,
            "history_half_life": self.options.history_half_life,
        }

    def fold_in(self, request: FoldInRequest) -> FoldedUsers:
        """New users' query rows, their newest items as in a fit (``B`` stays as published)."""
        history = Window(int(request.params["history"]), float(request.params["history_half_life"]))
        return query_rows_only(request.users, Sequences.of(request.users).queries(history))

    def tune(
        self, train: Dataset, validation: Dataset, *, trials: int, timeout: float, seed: int
    ) -> TuningReport:
        """Search λ on ``train`` by NDCG@10 on ``validation``; end fitted on ``train`` with
        the best (the :class:`~mlcore.interfaces.Tunable` handshake)."""
        check_item_limit(self.backend, train, self.options.max_items)
        sequences = Sequences.of(train)
        self.check_budget(sequences)  # refuse before the first trial, not inside it
        sample = sample_users(validation, self.options.tune_max_users, seed)
        objective = _LambdaObjective(self, train, sample, sequences)
        config = self.study_config(train.tenant, trials=trials, timeout=timeout, seed=seed)
        low, high = self.options.tune_regularization
        start = self.options.regularization
        first = [start, *(min(max(start * f, low), high) for f in STARTING_FACTORS)]
        report = run_study(
            objective,
            config,
            first=[{"regularization": value} for value in dict.fromkeys(first)],
            stop=objective.out_of_budget,
        )
        regularization = float(report.best_params["regularization"])
        self.options = replace(self.options, regularization=regularization)
        if objective.best_weights is None:  # run_study raises before: no trial scored
            raise NotFittedError("sequence tuning produced no model")
        self.weights_ = objective.best_weights
        return replace(report, best_params={"regularization": regularization})


class _LambdaObjective:
    """One solve per trial (λ only), scored once: an EpochwiseObjective with one checkpoint.

    The first trial also builds the sequences and the Gram matrix (so its seconds, which
    the trainer reserves for the final fit, include them); later trials reuse them.
    """

    def __init__(
        self,
        owner: SequenceRecommender,
        train: Dataset,
        validation: Dataset,
        sequences: Sequences,
    ) -> None:
        self.owner = owner
        self.train = train
        self.validation = validation
        self.sequences = sequences
        self.best_score = -math.inf
        self.best_weights: np.ndarray | None = None
        self.trial_seconds = 0.0
        self._system: TransitionSystem | None = None

    def solve(self, regularization: float) -> np.ndarray:
        if self._system is None:
            self._system, _ = self.owner.system(self.train, self.sequences)
            self.owner.user_items_ = self.sequences.queries(self.owner.history)
        return self._system.solve(regularization, self.owner.num_threads)

    def suggest(self, trial: Any) -> dict[str, Any]:
        bounds = self.owner.options.tune_regularization
        return {"regularization": trial.suggest_float("regularization", *bounds, log=True)}

    def checkpoints(self, params: Mapping[str, Any]) -> Iterator[tuple[int, float]]:
        started = self.owner.clock()
        weights = self.solve(float(params["regularization"]))
        scores = serving_scores(item_item_arrays(weights, self.owner.user_items_))
        score = evaluate(scores, self.train, self.validation, k=10, with_auc=False).ndcg
        self.trial_seconds = max(self.trial_seconds, self.owner.clock() - started)
        if score > self.best_score:
            self.best_score, self.best_weights = score, weights
        yield 1, score

    def out_of_budget(self) -> bool:
        """Whether another trial and the final fit no longer fit the budget."""
        return self.owner._remaining() < 2.5 * self.trial_seconds

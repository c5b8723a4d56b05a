"""LightFM training pieces and the tuning objective (NDCG@10, pruned by epoch).

``lightfm`` is imported inside functions only: importing this module starts no
threads, so it is safe in a pre-fork web server's master process.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.interfaces import ServingArrays
from mlcore.training.evaluation import evaluate
from mlcore.training.recency import Recency, recency_trial, suggest_recency
from mlcore.training.splits import sample_users
from plugins.lightfm_recommender.budget import TuningPace
from plugins.lightfm_recommender.features import FeatureMatrices

#: Hyperparameters passed to ``lightfm.LightFM`` (plus ``epochs`` for training).
MODEL_KEYS = (
    "no_components",
    "loss",
    "learning_rate",
    "learning_schedule",
    "item_alpha",
    "user_alpha",
    "max_sampled",
)


@dataclass(frozen=True, eq=False)
class TrainingData:
    """What ``LightFM.fit_partial`` needs for one dataset: COO matrices and features."""

    interactions: sp.coo_matrix
    weights: sp.coo_matrix
    features: FeatureMatrices

    @classmethod
    def of(
        cls, dataset: Dataset, features: FeatureMatrices, params: Mapping[str, Any] | None = None
    ) -> TrainingData:
        """``dataset`` as LightFM input; sample weights with the recency of ``params``."""
        recency = recency_of(params or {})
        return cls(dataset.interactions.tocoo(), recency.weighted(dataset).tocoo(), features)


def recency_of(params: Mapping[str, Any]) -> Recency:
    """The recency weighting of a parameter set (``off`` when it has none)."""
    return Recency(params.get("recency", "off"), float(params.get("recency_half_life", 40.0)))


def new_model(params: Mapping[str, Any], seed: int) -> Any:
    """An untrained ``LightFM`` with the model keys of ``params``."""
    from lightfm import LightFM  # noqa: PLC0415 - never at import time (pre-fork safety)

    return LightFM(**{key: params[key] for key in MODEL_KEYS}, random_state=seed)


def train_epochs(model: Any, data: TrainingData, epochs: int, num_threads: int) -> Any:
    """Continue training ``model`` for ``epochs`` epochs (weights = rating + 1).

    LightFM has no sample weights for ``warp-kos``; that loss uses the interactions only.
    """
    weights = None if model.loss == "warp-kos" else data.weights
    return model.fit_partial(
        data.interactions,
        user_features=data.features.users,
        item_features=data.features.items,
        sample_weight=weights,
        epochs=epochs,
        num_threads=num_threads,
    )


def serving_arrays(model: Any, features: FeatureMatrices) -> ServingArrays:
    """float32, C-contiguous representations of every user and item (feature sums included)."""
    user_bias, user_factors = model.get_user_representations(features.users)
    item_bias, item_factors = model.get_item_representations(features.items)
    return ServingArrays(
        kind="factors",
        user_factors=_contiguous(user_factors),
        user_bias=_contiguous(user_bias),
        item_factors=_contiguous(item_factors),
        item_bias=_contiguous(item_bias),
    )


def _contiguous(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


@dataclass(frozen=True)
class SearchSpace:
    """Bounds of the search (inclusive; log scale except ``epochs``).

    Epochs are not sampled: every trial trains up to ``epochs[1]`` epochs and keeps
    its best epoch (early stopping); ``epochs[0]`` epochs run before pruning may stop it.
    """

    components: tuple[int, int]
    epochs: tuple[int, int]
    learning_rate: tuple[float, float]
    alpha: tuple[float, float]
    max_sampled: tuple[int, int]
    losses: tuple[str, ...]
    fixed: Mapping[str, Any]
    recency: tuple[str, ...] = ()
    half_life: tuple[float, float] = (5.0, 500.0)

    def suggest(self, trial: Any) -> dict[str, Any]:
        params = dict(self.fixed)
        params["no_components"] = trial.suggest_int("no_components", *self.components, log=True)
        params["epochs"] = self.epochs[1]
        params["learning_rate"] = trial.suggest_float(
            "learning_rate", *self.learning_rate, log=True
        )
        params["loss"] = trial.suggest_categorical("loss", list(self.losses))
        params["item_alpha"] = trial.suggest_float("item_alpha", *self.alpha, log=True)
        params["user_alpha"] = trial.suggest_float("user_alpha", *self.alpha, log=True)
        params["max_sampled"] = trial.suggest_int("max_sampled", *self.max_sampled, log=True)
        if self.recency:  # only when asked for: it changes what the sampler draws
            params.update(suggest_recency(trial, self.recency, self.half_life))
        return params

    def clip(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` moved inside the bounds (to enqueue the defaults as the first trial)."""
        low_alpha, high_alpha = self.alpha
        clipped: dict[str, Any] = {}
        if self.recency:
            kind = params.get("recency", "off")
            half_life = float(np.clip(params.get("recency_half_life", 40.0), *self.half_life))
            clipped = recency_trial(kind if kind in self.recency else self.recency[0], half_life)
        return clipped | {
            "no_components": int(np.clip(params["no_components"], *self.components)),
            "learning_rate": float(np.clip(params["learning_rate"], *self.learning_rate)),
            "loss": params["loss"] if params["loss"] in self.losses else self.losses[0],
            "item_alpha": float(np.clip(params["item_alpha"], low_alpha, high_alpha)),
            "user_alpha": float(np.clip(params["user_alpha"], low_alpha, high_alpha)),
            "max_sampled": int(np.clip(params["max_sampled"], *self.max_sampled)),
        }


class LightFMObjective:
    """Trains one configuration epoch by epoch and scores NDCG@10 on validation users.

    Keeps the serving arrays and a copy of the model of the best checkpoint seen over
    all trials, so that fitting the best configuration on the same training data needs
    no retraining, and the final model can continue from it (``final_fit="warm"``).

    Args:
        space: The search space.
        train: Training interactions (also excluded from the ranking).
        validation: Validation interactions of the sampled users only.
        data: ``train`` as LightFM input.
        seed: LightFM's random state of every trial.
        num_threads: LightFM training threads.
        pace: Stops trials (and the search) once the time budget allows no more
            epochs; None: no budget.
        clock: Monotonic seconds, to time epochs (injectable for tests).
    """

    def __init__(
        self,
        space: SearchSpace,
        train: Dataset,
        validation: Dataset,
        data: TrainingData,
        *,
        seed: int,
        num_threads: int,
        pace: TuningPace | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.space = space
        self.train = train
        self.validation = validation
        self.data = data
        self.seed = seed
        self.num_threads = num_threads
        self.pace = pace
        self.clock = clock
        self.users = np.unique(validation.user_index)
        self.position = np.full(train.n_users, -1, dtype=np.int64)
        self.position[self.users] = np.arange(self.users.size)
        self.best_score = -np.inf
        self.best_serving: ServingArrays | None = None
        self.best_model: Any = None
        self.best_params: dict[str, Any] = {}

    def suggest(self, trial: Any) -> dict[str, Any]:
        return self.space.suggest(trial)

    def checkpoints(self, params: Mapping[str, Any]) -> Iterator[tuple[int, float]]:
        model = new_model(params, self.seed)
        data = self.data
        if recency_of(params).kind != "off":
            data = TrainingData.of(self.train, self.data.features, params)
        user_features = self.data.features.users[self.users]
        trained_seconds = 0.0
        last_seconds: float | None = None
        for epoch in range(1, int(params["epochs"]) + 1):
            if self.pace is not None and not self.pace.allows(epoch, last_seconds):
                return
            started = self.clock()
            try:
                train_epochs(model, data, 1, self.num_threads)
            except ValueError:  # LightFM: "Not all estimated parameters are finite"
                score = None
            else:
                trained = self.clock()
                last_seconds = trained - started
                trained_seconds += last_seconds
                score = self._score(model, user_features)
                if self.pace is not None:
                    self.pace.record(last_seconds, self.clock() - trained)
            if score is None:  # diverged (e.g. too high a learning rate): worst score, stop
                yield epoch, 0.0
                return
            if score > self.best_score:
                self.best_score = score
                self.best_serving = serving_arrays(model, self.data.features)
                self.best_model = copy.deepcopy(model)
                self.best_params = {**params, "epochs": epoch}
                if self.pace is not None:
                    self.pace.new_best(epoch, trained_seconds / epoch)
            yield epoch, score

    def _score(self, model: Any, user_features: sp.csr_matrix) -> float | None:
        user_bias, user_factors = model.get_user_representations(user_features)
        item_bias, item_factors = model.get_item_representations(self.data.features.items)
        if not (np.isfinite(user_factors).all() and np.isfinite(item_factors).all()):
            return None
        position = self.position

        def score(rows: np.ndarray) -> np.ndarray:
            local = position[rows]
            with np.errstate(over="ignore", invalid="ignore"):  # huge factors: a bad trial
                result = user_factors[local] @ item_factors.T
                result += item_bias[None, :]
                result += user_bias[local, None]
            return np.asarray(result, dtype=np.float32)

        return evaluate(score, self.train, self.validation, k=10, with_auc=False).ndcg


def validation_sample(validation: Dataset, max_users: int, seed: int) -> Dataset:
    """``validation`` restricted to at most ``max_users`` seeded-random users."""
    return sample_users(validation, max_users, seed)

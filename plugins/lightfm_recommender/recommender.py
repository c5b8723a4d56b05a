"""Recommender plugin ``lightfm``: LightFM in ``mf``, ``partial`` or ``hybrid`` mode.

Features per mode are built by :mod:`plugins.lightfm_recommender.features` (contract §8.4);
tuning (Optuna, NDCG@10 on the temporal validation split, pruning by epoch) by
:mod:`mlcore.training.tuning` with the objective of :mod:`plugins.lightfm_recommender.tuning`. Sample
weights are ``rating + 1``. ``lightfm`` is imported only inside methods, so this
module is safe to import in a pre-fork server. See ``docs/lightfm.md``.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self

import numpy as np

from mlcore.config import Settings
from mlcore.dataset import Dataset
from mlcore.errors import ConfigError, NotFittedError
from mlcore.interfaces import FoldedUsers, FoldInRequest, ServingArrays, TuningReport
from mlcore.training.budget import cpu_seconds
from mlcore.training.fold_in import fold_in_arrays
from mlcore.training.recency import Recency
from mlcore.training.trial_search import TrialDispatch
from mlcore.training.tuning import StudyConfig, run_study
from plugins.lightfm_recommender.budget import FinalFitPlan, TimeBudget, TuningPace, plan_final_fit
from plugins.lightfm_recommender.features import MODES, FeatureMatrices, build_features
from plugins.lightfm_recommender.fold_in import (
    feature_arrays,
    fold_in_users,
    new_item_vectors,
)
from plugins.lightfm_recommender.options import LightFMOptions
from plugins.lightfm_recommender.tuning import (
    LightFMObjective,
    TrainingData,
    new_model,
    serving_arrays,
    train_epochs,
    validation_sample,
)
from plugins.lightfm_recommender.unit_search import tune_by_units

log = logging.getLogger(__name__)


class LightFMRecommender:
    """LightFM behind :class:`~mlcore.interfaces.Recommender` and ``Tunable``.

    Args:
        options: The plugin's options.
        settings: Fills the options left None (mode, threads, seed) and gives
            ``ML_MODELS_DIR``; without settings, studies are kept in memory unless
            ``study_dir`` is set.
        clock: The time budget's clock, process CPU seconds (injectable for tests).
    """

    def __init__(
        self,
        options: LightFMOptions | None = None,
        settings: Settings | None = None,
        *,
        clock: Callable[[], float] = cpu_seconds,
    ):
        self.options = options or LightFMOptions()
        self.settings = settings
        defaults = settings or Settings()
        self.mode: str = self.options.mode or defaults.algorithm
        self.num_threads = self.options.num_threads or defaults.num_threads
        self.seed = defaults.seed if self.options.seed is None else self.options.seed
        self.models_dir: Path | None = settings.models_dir if settings else None
        self.params = self.options.model_params()
        self._validate()
        self.clock = clock
        self._budget = TimeBudget(None, clock)
        self._pace: TuningPace | None = None
        #: What a refresh needs to fold users into the last ``fit`` (see :mod:`.fold_in`).
        self.fold_in_: dict[str, np.ndarray] | None = None
        self._checkpoint: tuple[tuple[int, int], Any] | None = None
        self._features: tuple[Dataset, FeatureMatrices] | None = None
        self._dispatch: TrialDispatch | None = None

    def set_time_budget(self, seconds: float) -> None:
        """Fit ``tune`` and the next ``fit`` on every interaction into ``seconds`` from now.

        Tuning stops while the refit of its best checkpoint is still predicted to
        fit; the final fit then refits, or continues the tuned checkpoint
        (``warm``), or serves it as it is, whichever fits (``describe`` says which).
        """
        self._budget = TimeBudget(seconds, self.clock)

    @property
    def time_budget(self) -> TimeBudget:
        """The budget of ``tune`` and the next ``fit`` (unlimited unless set)."""
        return self._budget

    def features(self, dataset: Dataset) -> FeatureMatrices:
        """The feature matrices of ``dataset`` in this recommender's mode.

        Features depend on the users and items only, so datasets sharing their
        entity tables (a split and its whole) share one build.
        """
        cached = self._features
        if cached is not None and _same_entities(cached[0], dataset):
            return cached[1]
        features = build_features(
            dataset,
            self.mode,
            normalize=self.options.normalize_features,
            models_dir=self.models_dir,
            text_limits=self.options.text_limits(),
        )
        self._features = (dataset, features)
        return features

    def tune(
        self, train: Dataset, validation: Dataset, *, trials: int, timeout: float, seed: int
    ) -> TuningReport:
        """Search on ``train`` judged by NDCG@10 on ``validation``; end fitted on ``train``
        with the best options (the :class:`~mlcore.interfaces.Tunable` handshake).

        With a time budget, ``train`` plus ``validation`` is taken to be what the
        final fit trains on (the trainer's temporal split), to predict its cost.
        With a trial dispatch (:meth:`use_trial_dispatch`) each trial is a unit of
        work (:mod:`plugins.lightfm_recommender.unit_search`).
        """
        if self._dispatch is not None:
            return tune_by_units(self, self._dispatch, train, validation, trials, timeout, seed)
        started = self.clock()
        features = self.features(train)
        space = self.options.search_space()
        total = train.n_interactions + validation.n_interactions
        self._pace = TuningPace(
            self._budget,
            scale=total / max(train.n_interactions, 1),
            fixed_seconds=self.clock() - started,
        )
        objective = LightFMObjective(
            space,
            train,
            validation_sample(validation, self.options.tune_max_users, seed),
            TrainingData.of(train, features),
            seed=seed,
            num_threads=self.num_threads,
            pace=self._pace,
            clock=self.clock,
        )
        config = self.study_config(train.tenant, trials, timeout, seed)
        pace = self._pace
        report = run_study(
            objective, config, first=space.clip(self.params), stop=lambda: pace.exhausted
        )
        if pace.exhausted:
            log.info(
                "tenant %s: tuning stopped after %d trials to keep %.0f s for the final fit",
                train.tenant,
                len(report.trials),
                pace.best_epochs * pace.final_epoch_seconds(),
            )
        self.params = {**self.params, **objective.best_params}
        self.tuning_score_ = report.best_score
        if objective.best_serving is not None and seed == self.seed:
            # The Tunable handshake: end fitted on ``train`` with the best options. The
            # search trained exactly that model, epoch by epoch; keep it.
            self.features_ = features
            self.dataset_shape_ = train.shape
            self.serving_ = objective.best_serving
            self.fold_in_ = None
            self._checkpoint = (train.shape, objective.best_model)
        else:
            self.fit(train)
        return report

    def use_trial_dispatch(self, dispatch: TrialDispatch) -> None:
        """Run the trials of the next ``tune`` as units of work through ``dispatch``."""
        self._dispatch = dispatch

    def trial_objective(
        self, train: Dataset, validation: Dataset, *, seed: int
    ) -> LightFMObjective:
        """The objective ``tune`` searches with, for one trial run as a unit of work
        (no time budget: the trainer gives the trial its CPU seconds)."""
        return LightFMObjective(
            self.options.search_space(),
            train,
            validation_sample(validation, self.options.tune_max_users, seed),
            TrainingData.of(train, self.features(train)),
            seed=seed,
            num_threads=self.num_threads,
        )

    def study_config(self, tenant: str, trials: int, timeout: float, seed: int) -> StudyConfig:
        """The Optuna study of a search of ``tenant`` (a fresh name each time)."""
        return StudyConfig(
            trials=trials,
            timeout=timeout,
            seed=seed,
            storage=self._storage_url(tenant),
            study_name=f"{tenant}-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9}",
            patience=self.options.tune_patience,
            pruner=self.options.tune_pruner,
            min_resource=self.options.tune_epochs[0],
        )

    def adopt(self, report: TuningReport, train: Dataset, pace: TuningPace) -> None:
        """End a search run elsewhere as the Tunable handshake asks: fitted on ``train``
        with the best options, that model kept as the checkpoint a warm fit continues."""
        self.params = {**self.params, **report.best_params}
        self.tuning_score_ = report.best_score
        self._pace = pace
        self.fit(train)
        self._checkpoint = (train.shape, copy.deepcopy(self.model_))

    def fit(self, dataset: Dataset) -> Self:
        """Train on every interaction of ``dataset`` with the current (tuned) options."""
        self.features_ = self.features(dataset)
        self.dataset_shape_ = dataset.shape
        plan = self._plan(dataset)
        if plan.mode != "refit":
            log.info("tenant %s: final fit %s (%s)", dataset.tenant, plan.mode, plan.reason)
        checkpoint = self._checkpoint
        if plan.mode == "refit" or checkpoint is None:
            model = new_model(self.params, self.seed)
        else:
            model = copy.deepcopy(checkpoint[1])
        data = TrainingData.of(dataset, self.features_, self.params)
        self.final_fit_ = plan
        self.epochs_trained_ = self._train_within_budget(model, data, plan)
        self.model_ = model
        self.serving_ = serving_arrays(model, self.features_)
        self.fold_in_ = self._fold_in_state(model, dataset)
        return self

    def _fold_in_state(self, model: Any, dataset: Dataset) -> dict[str, np.ndarray]:
        """What a refresh needs to fold users (and items) into this model."""
        params = {key: self.params[key] for key in ("loss", "learning_rate", "learning_schedule")}
        params.update(
            user_alpha=self.params["user_alpha"],
            max_sampled=self.params["max_sampled"],
            recency=self.params.get("recency", "off"),
            recency_half_life=self.params.get("recency_half_life", 40.0),
            fold_in_epochs=self.options.fold_in_epochs,
            mode=self.mode,
            normalize_features=self.options.normalize_features,
        )
        arrays = fold_in_arrays("lightfm", params)
        if self.mode != "mf":
            arrays.update(feature_arrays(model, "user", dataset.n_users, dataset.user_feature_names))
            arrays.update(feature_arrays(model, "item", dataset.n_items, dataset.item_feature_names))
        return arrays

    def fold_in(self, request: FoldInRequest) -> FoldedUsers:
        """New user vectors by LightFM's own update, items frozen (see :mod:`.fold_in`)."""
        return fold_in_users(request)

    def new_items(
        self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any], items: Dataset
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """New items from their ``partial`` features (``partial``/``hybrid``), else None."""
        return new_item_vectors(arrays, params, items)

    def _plan(self, dataset: Dataset) -> FinalFitPlan:
        checkpoint = self._checkpoint
        pace = self._pace
        return plan_final_fit(
            preferred=self.options.final_fit,
            tuned_epochs=int(self.params["epochs"]),
            seconds_per_epoch=pace.final_epoch_seconds() if pace is not None else 0.0,
            remaining=self._budget.remaining(),
            warm_fraction=self.options.warm_fraction,
            has_checkpoint=checkpoint is not None and checkpoint[0] == dataset.shape,
        )

    def _train_within_budget(self, model: Any, data: TrainingData, plan: FinalFitPlan) -> int:
        """Train ``plan.epochs`` epochs, stopping before one that would overrun the budget
        (a model from scratch always gets one). Returns the epochs trained."""
        estimate = plan.predicted_seconds / plan.epochs if plan.epochs else 0.0
        done = 0
        for _ in range(plan.epochs):
            if (done or plan.mode != "refit") and self._budget.remaining() < estimate:
                log.warning(
                    "final fit stopped after %d of %d epochs: the time budget is spent",
                    done,
                    plan.epochs,
                )
                break
            started = self.clock()
            train_epochs(model, data, 1, self.num_threads)
            estimate = self.clock() - started
            done += 1
        return done

    def export(self) -> ServingArrays:
        if not hasattr(self, "serving_"):
            raise NotFittedError("lightfm recommender used before fit()")
        if self.fold_in_ is None:
            return self.serving_
        return dataclasses.replace(self.serving_, extra={**self.serving_.extra, **self.fold_in_})

    def describe(self) -> Mapping[str, Any]:
        description: dict[str, Any] = {
            "backend": "lightfm",
            "algorithm": self.mode,
            "hyperparameters": dict(self.params),
            "num_threads": self.num_threads,
            "seed": self.seed,
            "normalize_features": self.options.normalize_features,
            "tuned": hasattr(self, "tuning_score_"),
            "final_fit": self.options.final_fit,
        }
        if self._budget.limited:
            description["time_budget_seconds"] = self._budget.seconds
        if hasattr(self, "final_fit_"):
            description["final_fit_plan"] = self.final_fit_.as_dict()
            description["epochs_trained"] = self.epochs_trained_
        if hasattr(self, "features_"):
            description["features"] = dict(self.features_.counts)
            description["user_features"] = int(self.features_.users.shape[1])
            description["item_features"] = int(self.features_.items.shape[1])
            if self.features_.stop_words_source:
                description["stop_words"] = self.features_.stop_words_source
        return description

    def _storage_url(self, tenant: str) -> str | None:
        if self.options.study_storage == "memory":
            return None
        if self.options.study_dir:
            folder = Path(self.options.study_dir)
        elif self.models_dir is not None:
            folder = self.models_dir / "tuning"
        else:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", tenant) or "tenant"
        return f"sqlite:///{(folder / f'{name}.sqlite3').resolve()}"

    def _validate(self) -> None:
        o = self.options
        problems = [
            (self.mode in MODES, f"mode must be one of {', '.join(MODES)}, not {self.mode!r}"),
            (o.no_components >= 1 and o.epochs >= 1, "no_components and epochs must be >= 1"),
            (self.num_threads >= 1, "num_threads must be >= 1"),
            (bool(o.tune_losses), "tune_losses must not be empty"),
            (0 < o.warm_fraction <= 1, "warm_fraction must be in (0, 1]"),
            (
                min(o.tune_max_users, o.tune_patience) >= 1,
                "tune_* counts must be >= 1",
            ),
        ]
        bounds = (o.tune_components, o.tune_epochs, o.tune_learning_rate, o.tune_alpha)
        for low, high in (*bounds, o.tune_max_sampled):
            problems.append(
                (0 < low <= high, f"tuning bounds ({low}, {high}) must be 0 < low <= high")
            )
        for ok, message in problems:
            if not ok:
                raise ConfigError(f"lightfm option: {message}")
        try:
            Recency(o.recency, o.recency_half_life)
        except ValueError as exc:
            raise ConfigError(f"lightfm option: {exc}") from None


def _same_entities(a: Dataset, b: Dataset) -> bool:
    """Whether ``a`` and ``b`` share their user and item tables (features are equal)."""
    return a is b or (
        a.shape == b.shape
        and a.user_features is b.user_features
        and a.item_features is b.item_features
        and a.user_texts is b.user_texts
        and a.item_documents is b.item_documents
    )

"""The quality step's untuned library defaults and the service's own configurations.

Library defaults (what a developer gets without tuning, fitted on the binary
interaction matrix): implicit ALS with 32 and 64 factors and 15 iterations,
implicit BPR with its defaults, EASE with λ = 200 (:class:`EaseDefault`, plain
numpy). LightFM out of the box is :class:`benchmarks.baselines.LightFMOutOfTheBox`.

The service (:class:`ServiceConfiguration`): :class:`~mlcore.training.fitting.TenantFitter`
with the settings of a default install (``ML_RECOMMENDER=lightfm``, ``ML_BLEND=auto``,
``ML_TRAINING_BUDGET``, ``ML_TUNING_TRIALS``) or ``ML_RECOMMENDER=auto``; ``fit`` runs
the trainer's whole procedure (its own temporal validation split of the data it is
given, candidates, blend weights, final fit) and ``export`` serves the published
arrays, so the benchmark scores exactly what ``/user-items`` would serve.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from mlcore.config import Settings, settings_with
from mlcore.configured import configured_plugins
from mlcore.dataset import Dataset
from mlcore.errors import NotFittedError
from mlcore.interfaces import ServingArrays
from mlcore.serving.kind import BASE_ROWS
from mlcore.serving.neighbours import USER_ITEMS, csr_arrays
from mlcore.training.fitting import TenantFitter


class ImplicitDefault:
    """implicit's ALS or BPR with the library's defaults, except ``factors``, untuned."""

    def __init__(self, model: str, *, factors: int, seed: int = 42, num_threads: int = 1) -> None:
        self.model = model
        self.factors = factors
        self.seed = seed
        self.num_threads = num_threads

    def fit(self, dataset: Dataset) -> Self:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            self._model = self._new()
            self._model.fit(sp.csr_matrix(dataset.interactions), show_progress=False)
        return self

    def _new(self) -> Any:
        if self.model == "als":
            from implicit.cpu.als import AlternatingLeastSquares

            return AlternatingLeastSquares(
                factors=self.factors,
                iterations=15,
                random_state=self.seed,
                num_threads=self.num_threads,
            )
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=self.factors, random_state=self.seed, num_threads=self.num_threads
        )

    def export(self) -> ServingArrays:
        if not hasattr(self, "_model"):
            raise NotFittedError("used before fit()")
        users = np.ascontiguousarray(self._model.user_factors, dtype=np.float32)
        items = np.ascontiguousarray(self._model.item_factors, dtype=np.float32)
        return ServingArrays(
            "factors",
            users,
            np.zeros(len(users), np.float32),
            items,
            np.zeros(len(items), np.float32),
        )

    def describe(self) -> Mapping[str, Any]:
        return {"backend": f"implicit-{self.model}", "factors": self.factors, "untuned": True}


class EaseDefault:
    """EASE with λ = 200 on the binary interaction matrix (Steck 2019's closed form, numpy)."""

    def __init__(self, regularization: float = 200.0) -> None:
        self.regularization = regularization

    def fit(self, dataset: Dataset) -> Self:
        x = dataset.interactions.toarray().astype(np.float64)
        gram = x.T @ x + self.regularization * np.eye(x.shape[1])
        p = np.linalg.inv(gram)
        self.weights_ = (-p / np.diag(p)[None, :]).astype(np.float32)
        np.fill_diagonal(self.weights_, 0.0)
        self.rows_ = sp.csr_matrix(dataset.interactions, dtype=np.float32)
        return self

    def export(self) -> ServingArrays:
        if not hasattr(self, "weights_"):
            raise NotFittedError("used before fit()")
        n_users, n_items = self.rows_.shape
        extra = {"item_item_weights": self.weights_, **csr_arrays(self.rows_, USER_ITEMS)}
        return ServingArrays.without_factors("item_item", n_users, n_items, extra)

    def describe(self) -> Mapping[str, Any]:
        return {"backend": "ease-default", "regularization": self.regularization}


class ServiceConfiguration:
    """The trainer with a configuration of the service, as a recommender for the benchmark.

    Args:
        settings: The service's settings (default install plus benchmark threads/seed).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def fit(self, dataset: Dataset) -> Self:
        plugins = configured_plugins(self.settings)
        self.artifact_ = (
            TenantFitter(self.settings, plugins.recommender).fit_tenant(dataset).artifact
        )
        return self

    def export(self) -> ServingArrays:
        if not hasattr(self, "artifact_"):
            raise NotFittedError("used before fit()")
        arrays = self.artifact_.arrays
        extra = {name: array for name, array in arrays.items() if name not in BASE_ROWS}
        return ServingArrays(
            str(self.artifact_.manifest["kind"]),
            arrays["user_factors"],
            arrays["user_bias"],
            arrays["item_factors"],
            arrays["item_bias"],
            extra=extra,
        )

    def describe(self) -> Mapping[str, Any]:
        manifest = self.artifact_.manifest if hasattr(self, "artifact_") else {}
        return {
            "backend": manifest.get("backend"),
            "selection": manifest.get("selection"),
            "settings": {
                "recommender": self.settings.recommender,
                "blend": self.settings.blend,
                "training_budget": self.settings.training_budget,
                "tuning_trials": self.settings.tuning_trials,
                "num_threads": self.settings.num_threads,
            },
        }


def service_settings(recommender: str, *, threads: int, seed: int) -> Settings:
    """A default install's settings with ``recommender``, benchmark threads and seed
    (tuning studies kept in a temporary folder, not in ``data/models``)."""
    folder = Path(tempfile.gettempdir()) / "mlservice-benchmarks" / "models"
    return settings_with(
        Settings(), recommender=recommender, num_threads=threads, seed=seed, models_dir=folder
    )

"""implicit's matrix factorisations, ``implicit-als`` and ``implicit-bpr``, as recommenders.

Both export ``"factors"`` serving arrays like LightFM. implicit is imported only
inside ``fit`` (through :func:`plugins.implicit_recommender.support.import_implicit`), every fit
runs with BLAS pinned to one thread, and nothing of implicit is pickled or served.
They are announced by :mod:`plugins.implicit_recommender`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.errors import NotFittedError
from mlcore.interfaces import FoldedUsers, FoldInRequest, ServingArrays
from mlcore.training.fold_in import fold_in_arrays
from mlcore.training.recency import Recency, RecencyKind
from plugins.implicit_recommender.fold_in import als_user_factors, bpr_user_factors
from plugins.implicit_recommender.support import import_implicit, one_blas_thread, options_json
from plugins.implicit_recommender.tuning import StudyTuned


@dataclass(frozen=True)
class ImplicitALSOptions:
    """Options of ``implicit-als`` (implicit-feedback ALS, Hu, Koren and Volinsky 2008).

    The defaults were the best of a small grid on ml-latest-small (both protocols)
    and on the demo data; the benchmarks in ``benchmarks/README.md`` are the record.

    Attributes:
        factors: Latent dimensions.
        regularization: L2 penalty.
        alpha: Confidence scale: confidence = ``alpha × (rating + 1)``.
        iterations: ALS sweeps.
        use_cg: Conjugate-gradient solver (faster) instead of Cholesky.
        num_threads: Training threads; 0 means ``ML_NUM_THREADS``. ALS is
            deterministic for any number of threads.
        seed: Initialisation seed; None means ``ML_SEED``.
        recency: Confidences times ``0.5 ** (age / recency_half_life)``: ``off``,
            ``position`` or ``time`` (:mod:`mlcore.training.recency`).
        recency_half_life: Positions or days at which an interaction weighs half.
        tune_recency: Recency kinds tuned (default ``["off"]``: the search as before).
    """

    factors: int = 64
    regularization: float = 10.0
    alpha: float = 1.0
    iterations: int = 15
    use_cg: bool = True
    num_threads: int = 0
    seed: int | None = None
    recency: RecencyKind = "off"
    recency_half_life: float = 40.0
    tune_recency: tuple[RecencyKind, ...] = ("off",)


@dataclass(frozen=True)
class ImplicitBPROptions:
    """Options of ``implicit-bpr`` (Bayesian personalised ranking, Rendle et al. 2009).

    The learning rate default (0.01) beat 0.05 on ml-latest-small and the demo data.

    Attributes:
        factors: Latent dimensions (implicit adds one more for the item bias).
        learning_rate: SGD step.
        regularization: L2 penalty.
        iterations: Epochs.
        verify_negative_samples: Re-draw sampled negatives the user has seen.
        num_threads: Training threads; 0 means ``ML_NUM_THREADS``. Only one thread
            gives the same model for the same seed (SGD threads race).
        seed: Initialisation and sampling seed; None means ``ML_SEED``.
    """

    factors: int = 64
    learning_rate: float = 0.01
    regularization: float = 0.01
    iterations: int = 100
    verify_negative_samples: bool = True
    num_threads: int = 0
    seed: int | None = None


class _FactorRecommender(StudyTuned):
    """Shared fit/export of implicit's matrix-factorisation models."""

    backend = ""

    def __init__(self, options: Any, *, seed: int = 42, num_threads: int = 1) -> None:
        self.options = options
        self.seed = seed
        self.num_threads = num_threads

    def fit(self, dataset: Dataset) -> Self:
        with one_blas_thread():
            model = self._new_model(self.options.iterations)
            model.fit(self._weights(dataset), show_progress=False)
        self._keep(model)
        return self

    def _weights(self, dataset: Dataset) -> sp.csr_matrix:
        """``dataset.weights`` times the recency multipliers of the options (if any)."""
        options = self.options
        kind: RecencyKind = getattr(options, "recency", "off")  # BPR has none
        return Recency(kind, getattr(options, "recency_half_life", 40.0)).weighted(dataset)

    def fit_in_steps(self, dataset: Dataset, step: int, total: int) -> Iterator[int]:
        """Fit ``total`` iterations ``step`` at a time; after each, ``export()`` is current.

        Yields:
            Iterations done so far (for tuning checkpoints).
        """
        with one_blas_thread():
            model = self._new_model(step)
        weights = self._weights(dataset)
        for done in range(step, total + 1, step):
            with one_blas_thread():
                model.fit(weights, show_progress=False)  # continues from the current factors
            self._keep(model)
            yield done

    def _keep(self, model: Any) -> None:
        user, item = np.asarray(model.user_factors), np.asarray(model.item_factors)
        self.user_factors_, self.user_bias_, self.item_factors_, self.item_bias_ = self._split(
            user, item
        )

    def export(self) -> ServingArrays:
        if not hasattr(self, "user_factors_"):
            raise NotFittedError(f"{self.backend} recommender used before fit()")
        return ServingArrays(
            kind="factors",
            user_factors=self.user_factors_.copy(),
            user_bias=self.user_bias_.copy(),
            item_factors=self.item_factors_.copy(),
            item_bias=self.item_bias_.copy(),
            extra=fold_in_arrays(self.backend, self._fold_in_params()),
        )

    def _fold_in_params(self) -> dict[str, Any]:
        """What :meth:`fold_in` needs besides the item arrays (stored with the model)."""
        return {}

    def fold_in(self, request: FoldInRequest) -> FoldedUsers:
        """New user vectors against the published item factors (see :mod:`.fold_in`)."""
        n = request.users.n_users
        return FoldedUsers(self._user_vectors(request), np.zeros(n, dtype=np.float32))

    @abstractmethod
    def _user_vectors(self, request: FoldInRequest) -> np.ndarray:
        """(n, d) float32 vectors of the request's users, items frozen."""

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": self.backend,
            "algorithm": self.backend,
            "options": options_json(self.options),
            "seed": self.seed,
            "num_threads": self.num_threads,
        }

    @abstractmethod
    def _new_model(self, iterations: int) -> Any:
        """A new, unfitted implicit model (built inside the one-BLAS-thread guard)."""

    def _split(
        self, user: np.ndarray, item: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (
            _float32(user),
            np.zeros(user.shape[0], dtype=np.float32),
            _float32(item),
            np.zeros(item.shape[0], dtype=np.float32),
        )


class ImplicitALSRecommender(_FactorRecommender):
    """implicit's CPU ALS with ``dataset.weights`` as confidences (scaled by ``alpha``)."""

    backend = "implicit-als"

    def _fold_in_params(self) -> dict[str, Any]:
        options: ImplicitALSOptions = self.options
        return {
            "regularization": options.regularization,
            "alpha": options.alpha,
            "recency": options.recency,
            "recency_half_life": options.recency_half_life,
        }

    def _user_vectors(self, request: FoldInRequest) -> np.ndarray:
        params = request.params
        recency = Recency(params["recency"], float(params["recency_half_life"]))
        confidences = recency.weighted(request.users) * float(params["alpha"])
        item_factors = np.asarray(request.arrays["item_factors"])
        return als_user_factors(item_factors, confidences, float(params["regularization"]))

    def _new_model(self, iterations: int) -> Any:
        als = import_implicit("implicit.cpu.als", self.backend)
        options: ImplicitALSOptions = self.options
        return als.AlternatingLeastSquares(
            factors=options.factors,
            regularization=options.regularization,
            alpha=options.alpha,
            iterations=iterations,
            use_cg=options.use_cg,
            dtype=np.float32,
            num_threads=self.num_threads,
            random_state=self.seed,
        )


class ImplicitBPRRecommender(_FactorRecommender):
    """implicit's CPU BPR; every interaction is a positive (weights are ignored by BPR)."""

    backend = "implicit-bpr"
    #: SGD epochs of a fold-in (one user's few positives converge long before the
    #: full model's ``iterations``).
    fold_in_epochs = 60

    def _fold_in_params(self) -> dict[str, Any]:
        options: ImplicitBPROptions = self.options
        return {
            "learning_rate": options.learning_rate,
            "regularization": options.regularization,
            "epochs": self.fold_in_epochs,
        }

    def _user_vectors(self, request: FoldInRequest) -> np.ndarray:
        params, arrays = request.params, request.arrays
        item_factors = np.asarray(arrays["item_factors"])
        known = request.known
        start = np.zeros((known.shape[0], item_factors.shape[1]), dtype=np.float32)
        start[known >= 0] = np.asarray(arrays["user_factors"])[known[known >= 0]]
        return bpr_user_factors(
            item_factors,
            np.asarray(arrays["item_bias"]),
            request.users.interactions,
            start=start,
            learning_rate=float(params["learning_rate"]),
            regularization=float(params["regularization"]),
            epochs=int(params["epochs"]),
            seed=request.seed,
        )

    def _new_model(self, iterations: int) -> Any:
        bpr = import_implicit("implicit.cpu.bpr", self.backend)
        options: ImplicitBPROptions = self.options
        return bpr.BayesianPersonalizedRanking(
            factors=options.factors,
            learning_rate=options.learning_rate,
            regularization=options.regularization,
            iterations=iterations,
            verify_negative_samples=options.verify_negative_samples,
            dtype=np.float32,
            num_threads=self.num_threads,
            random_state=self.seed,
        )

    def _split(
        self, user: np.ndarray, item: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # implicit stores the item bias as the last item column, against a user column of 1s.
        return (
            _float32(user[:, :-1]),
            np.zeros(user.shape[0], dtype=np.float32),
            _float32(item[:, :-1]),
            _float32(item[:, -1]),
        )


def _float32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)

"""Protocols that plugins satisfy. Hooks announce implementations; these say how they behave."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

import numpy as np

from mlcore.dataset import Dataset

if TYPE_CHECKING:
    from mlcore.config import Settings


@dataclass(frozen=True, eq=False)
class ModelArtifact:
    """What a model store keeps for one tenant version: named arrays plus JSON.

    No pickle: every array is a plain numeric or fixed-width unicode numpy array,
    and ``manifest`` is JSON-serialisable. See :mod:`mlcore.serving.artifact` for the
    names and meanings of the arrays.
    """

    manifest: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ServingArrays:
    """What a fitted recommender exports for serving, backend-independent.

    ``kind == "factors"``: score(u, i) = user_factors[u] . item_factors[i]
    + user_bias[u] + item_bias[i]; similar items by cosine of ``item_factors``.
    ``kind == "neighbours"``: score(u, i) = sum_j user_items[u, j] * similarity[j, i],
    both CSR matrices in ``extra`` (see :mod:`mlcore.serving.neighbours`); factors have width 0.
    Every kind is a class in the table of :mod:`mlcore.serving.kinds`, with its own
    array names in ``extra``.

    Attributes:
        kind: ``"factors"`` or ``"neighbours"``.
        user_factors: (U, d) float32, every user of the dataset, feature sums included.
        user_bias: (U,) float32.
        item_factors: (I, d) float32.
        item_bias: (I,) float32.
        extra: More named arrays for other kinds.
    """

    kind: str
    user_factors: np.ndarray
    user_bias: np.ndarray
    item_factors: np.ndarray
    item_bias: np.ndarray
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def without_factors(
        cls, kind: str, n_users: int, n_items: int, extra: Mapping[str, np.ndarray]
    ) -> ServingArrays:
        """Arrays of a kind that scores without factors (``neighbours``, ``item_item``,
        ``blend``): width-0 factors, zero biases, and the kind's own ``extra`` arrays."""
        return cls(
            kind=kind,
            user_factors=np.zeros((n_users, 0), dtype=np.float32),
            user_bias=np.zeros(n_users, dtype=np.float32),
            item_factors=np.zeros((n_items, 0), dtype=np.float32),
            item_bias=np.zeros(n_items, dtype=np.float32),
            extra=extra,
        )

    def named_arrays(self) -> dict[str, np.ndarray]:
        """Every array by its artifact name: the four factor arrays and ``extra``."""
        return {
            "user_factors": self.user_factors,
            "user_bias": self.user_bias,
            "item_factors": self.item_factors,
            "item_bias": self.item_bias,
            **self.extra,
        }


@dataclass(frozen=True)
class TuningReport:
    """The result of a hyperparameter search, recorded in the model manifest.

    Attributes:
        best_params: The chosen options (JSON-able).
        best_score: Validation metric of the best trial.
        metric: Name of the metric, e.g. ``"ndcg@10"``.
        trials: One JSON-able dict per trial (params, score, seconds, state).
        epochs: The original's EPOCHS column: epochs of each improvement of the best.
        n_components: The original's N_EMBEDDINGS column, same length.
        scores: The original's SCORE column, same length.
    """

    best_params: Mapping[str, Any]
    best_score: float
    metric: str
    trials: tuple[Mapping[str, Any], ...] = ()
    epochs: tuple[int, ...] = ()
    n_components: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()


@runtime_checkable
class Recommender(Protocol):
    """A recommender backend. No work in ``__init__``; ``fit`` returns ``self``."""

    def fit(self, dataset: Dataset) -> Self:
        """Train on every interaction of ``dataset`` (sample weights = ``dataset.weights``)."""
        ...

    def export(self) -> ServingArrays:
        """Serving arrays for every user and item of the fitted dataset.

        Raises:
            NotFittedError: Before ``fit``.
        """
        ...

    def describe(self) -> Mapping[str, Any]:
        """JSON-able description for the manifest: backend, mode, options, sizes."""
        ...


@runtime_checkable
class Tunable(Protocol):
    """A recommender that can search its own hyperparameters.

    The handshake with the trainer (and ``mlservice tune``):

    1. ``tune(train, validation, ...)`` searches options on ``train``, judged on
       ``validation``.
    2. When it returns, the recommender is **fitted on** ``train`` **with the best
       options**, exactly as if ``fit(train)`` had been called with them: ``export()``
       serves that model, and the trainer validates it without fitting again. (A
       recommender that kept the best model of its search returns it; one that did
       not fits ``train`` once more.)
    3. The next ``fit(dataset)`` trains on ``dataset`` (the whole tenant: ``train``
       plus ``validation``) with the best options. It may reuse what tuning learned
       about ``train`` (e.g. continue a checkpoint), since ``dataset`` contains it.
    """

    def tune(
        self, train: Dataset, validation: Dataset, *, trials: int, timeout: float, seed: int
    ) -> TuningReport:
        """Search options on ``train`` judged on ``validation``; end fitted on ``train``."""
        ...


@runtime_checkable
class Budgeted(Protocol):
    """A recommender that fits its tuning and its next ``fit`` into a time budget."""

    def set_time_budget(self, seconds: float) -> None:
        """Finish ``tune`` and the ``fit`` on every interaction within ``seconds`` from now.

        The recommender plans with what it measures as it trains; it may trade
        tuning trials or final-fit epochs for time, and reports how in ``describe``.
        """
        ...


@runtime_checkable
class DataSource(Protocol):
    """Delivers Totara export files by name (``tenants.csv``, ``user_data_0.csv``, ...)."""

    def read_file(self, name: str) -> bytes:
        """The raw bytes of one export file.

        ``tenants.csv`` answered "no multitenancy" (HTTP 204) is returned as
        ``b"tenants\\n0\\n"``. A missing per-tenant file is an error.

        Raises:
            DataSourceError: The file cannot be had; the message says why.
        """
        ...

    def describe(self) -> str:
        """Where the files come from, for logs (never a secret)."""
        ...


@runtime_checkable
class ModelStore(Protocol):
    """Keeps published models per tenant, versioned, with atomic publishing."""

    def publish(self, tenant: str, artifact: ModelArtifact) -> str:
        """Write a new version and make it current atomically; return its version id."""
        ...

    def load(self, tenant: str, version: str | None = None) -> ModelArtifact:
        """Load the current (or a given) version; arrays may be memory-mapped read-only.

        Raises:
            ModelNotFoundError: No such tenant or version.
        """
        ...

    def tenants(self) -> list[str]:
        """Tenants that have a current version."""
        ...

    def versions(self, tenant: str) -> list[str]:
        """Kept versions of a tenant, oldest first."""
        ...

    def current_version(self, tenant: str) -> str | None:
        """The current version id, or None. Cheap: serving calls it often."""
        ...

    def rollback(self, tenant: str, version: str) -> None:
        """Make an older kept version current again."""
        ...


@runtime_checkable
class ChangeTracking(Protocol):
    """A model store that can tell cheaply whether anything was published.

    Web workers ask it before listing tenants (see ``service/model_holder.py``).
    """

    def change_token(self) -> object:
        """A value that changes whenever a version is published or rolled back, or
        None when nothing was ever published. One ``stat`` or one small read."""
        ...


@runtime_checkable
class TrialTunable(Protocol):
    """A :class:`Tunable` whose search can run each trial as a unit of work elsewhere.

    The search (Optuna, ask/tell) stays with the caller of ``tune``; a trial is
    ``(parameters, data handle) -> scores per epoch``, run by the configured
    :class:`Executor` (see ``docs/scale-out.md``, "Trials as units of work"). The
    trainer hands the recommender a dispatch with :meth:`use_trial_dispatch`; the
    unit of work on the worker rebuilds the same plugin with the same options and
    asks it for :meth:`trial_objective` over the same split.
    """

    def use_trial_dispatch(self, dispatch: Any) -> None:
        """Run the trials of the next ``tune`` through ``dispatch``
        (a :class:`mlcore.training.trial_search.TrialDispatch`)."""
        ...

    def trial_objective(self, train: Dataset, validation: Dataset, *, seed: int) -> Any:
        """An epoch-wise objective (:class:`mlcore.training.tuning.EpochwiseObjective`)
        over ``train`` judged on ``validation``, as ``tune`` would build it."""
        ...


@dataclass(frozen=True, eq=False)
class FoldInRequest:
    """What a backend needs to compute new user rows against its frozen item side.

    Attributes:
        arrays: The backend's published arrays (one blend member's, under their own
            names), with the item axis already in ``users.item_ids`` order; includes
            the fold-in arrays the backend exported (see :mod:`mlcore.training.fold_in`).
        params: The JSON parameters the backend stored for fold-in.
        users: The users to fold in, with every one of their interactions (over
            the model's items) and their features; any other users are absent.
        known: (len(users),) int64, each user's row in the published user arrays,
            -1 for a user the model has never seen.
        seed: Seed of any sampling.
    """

    arrays: Mapping[str, np.ndarray]
    params: Mapping[str, Any]
    users: Dataset
    known: np.ndarray
    seed: int = 42


@dataclass(frozen=True, eq=False)
class FoldedUsers:
    """New rows for the users of a :class:`FoldInRequest`, in its order.

    Attributes:
        user_factors: (n, d) float32 (width 0 for kinds without factors).
        user_bias: (n,) float32.
        user_items: (n, I) float32 CSR query rows, for kinds that score through
            them (``neighbours``, ``item_item``), else None.
    """

    user_factors: np.ndarray
    user_bias: np.ndarray
    user_items: Any = None


@runtime_checkable
class FoldsIn(Protocol):
    """A recommender whose published model takes new or changed users without a retrain.

    The refresh cycle (:mod:`mlcore.training.refresh`) calls it on an unfitted
    instance with a published model's arrays: the item side stays frozen, only the
    given users' rows are recomputed (LightFM: its WARP update of the user vectors;
    ALS: the exact least-squares user solve; item-item models: the user's new row).
    """

    def fold_in(self, request: FoldInRequest) -> FoldedUsers:
        """New rows for ``request.users`` against the frozen items of ``request.arrays``."""
        ...


@runtime_checkable
class Executor(Protocol):
    """Runs the trainer's units of work: a tenant's training, a tuning trial.

    Units are module-level functions with small, picklable arguments and results:
    bulk data goes in by handle (the unit reads the tenant's export itself through
    the configured data source) and models come out through the model store.
    Futures are :class:`concurrent.futures.Future` objects.
    """

    def slots(self) -> int:
        """How many units may run at once."""
        ...

    def in_process(self) -> bool:
        """True when units run one after another in the calling process (nothing is
        pickled; the trainer then trains exactly as without an executor)."""
        ...

    def unit_settings(self, settings: Settings) -> Settings:
        """The settings a unit of work gets: thread budget per unit, no secrets."""
        ...

    def submit(self, unit: Callable[..., Any], *arguments: Any) -> Future[Any]:
        """Start ``unit(*arguments)``; a unit whose worker is lost is run again."""
        ...

    def wait(self, pending: Collection[Future[Any]]) -> set[Future[Any]]:
        """Block until at least one of ``pending`` is done; return the done ones.

        Called from inside a unit (a tenant waiting for its trials), it frees that
        unit's slot while waiting, so the trials can run."""
        ...

    def close(self) -> None:
        """Stop the workers this executor started; cancel what has not run."""
        ...

    def describe(self) -> str:
        """Where units run, for logs (never a secret)."""
        ...


@runtime_checkable
class NewItemsFromFeatures(Protocol):
    """A :class:`FoldsIn` backend that can also place items it was not trained on."""

    def new_items(
        self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any], items: Dataset
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(factors, bias) of every item of ``items`` from its features alone, or None
        when this model has no feature-based representation of items."""
        ...


@runtime_checkable
class ChangeChecked(Protocol):
    """A data source that can tell cheaply whether export files changed."""

    def fingerprint(self, names: tuple[str, ...]) -> str:
        """A string that changes whenever one of the files ``names`` changes (e.g. their
        sizes and modification times); much cheaper than reading them.

        Raises:
            DataSourceError: A file cannot be looked at.
        """
        ...

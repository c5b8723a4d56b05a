"""Fit one tenant: check minimums, split, tune, validate, gate, final fit, package.

:meth:`TenantFitter.fit_tenant` turns a loaded :class:`Dataset` into a
:class:`FittedTenant` (the artifact to publish and what happened) and touches no
store: the trainer publishes it, the legacy batch mode writes CSV files from it.

The popularity baseline gates every trained model: a model that does not beat it
on the temporal validation split is not promoted, and the tenant serves popularity
instead, with the reason in the manifest and log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mlcore.config import Settings
from mlcore.dataset import Dataset
from mlcore.errors import MLCoreError
from mlcore.interfaces import (
    Budgeted,
    ModelArtifact,
    Recommender,
    TrialTunable,
    Tunable,
    TuningReport,
)
from mlcore.serving.artifact import SUCCESS, build_artifact, skipped_artifact
from mlcore.training.baseline import BASELINE, PopularityRecommender
from mlcore.training.budget import TenantBudget, cpu_seconds
from mlcore.training.outcome import TenantOutcome
from mlcore.training.selection import AUTO, BLEND, DEFAULT_PRIMARY, CandidateSelector
from mlcore.training.splits import Split, temporal_split
from mlcore.training.validation import Validation, validate

if TYPE_CHECKING:
    from mlcore.training.trial_search import TrialDispatch

log = logging.getLogger(__name__)

MIN_USERS = 10
MIN_ITEMS = 10
TOO_FEW_ENTITIES = (
    "The number of users or items is too small to run the recommendation engine. Skipping tenant {}"
)
TOO_FEW_INTERACTIONS = (
    "The number of interactions is too small to run the recommendation engine. Skipping tenant {}"
)

#: Builds a new, unfitted recommender by plugin name.
RecommenderFactory = Callable[[str], Recommender]


@dataclass(frozen=True, eq=False)
class FittedTenant:
    """A tenant's model, ready to publish, and what happened (``outcome.version`` is None)."""

    artifact: ModelArtifact
    outcome: TenantOutcome


class TenantFitter:
    """Fits tenants with the configured recommender.

    Args:
        settings: Recommender name, mode, seed, tuning and time budgets.
        make_recommender: Builds a recommender by plugin name.
        clock: The budget's clock, process CPU seconds (injectable for tests); the
            time budget counts from :meth:`fit_tenant`'s ``started``.
    """

    def __init__(
        self,
        settings: Settings,
        make_recommender: RecommenderFactory,
        clock: Callable[[], float] = cpu_seconds,
    ) -> None:
        self.settings = settings
        self.make_recommender = make_recommender
        self.clock = clock

    @cached_property
    def algorithm(self) -> str:
        """The name recorded with every model and ``train_summary.log`` row: the
        ``algorithm`` the configured recommender describes (LightFM: its mode, from
        ``ML_RECOMMENDATION_ALGORITHM``), else its plugin name."""
        name = self.settings.recommender
        name = DEFAULT_PRIMARY if name == AUTO else name
        try:
            described = self.make_recommender(name).describe().get("algorithm")
        except MLCoreError:
            return name  # training reports the error itself
        return str(described) if described else name

    def fit_tenant(
        self,
        dataset: Dataset,
        started: float | None = None,
        dispatch: TrialDispatch | None = None,
    ) -> FittedTenant:
        """Fit one loaded tenant; errors propagate to the caller.

        Args:
            dataset: The whole tenant.
            started: The budget clock's reading when work on the tenant began
                (loading included); now when omitted.
            dispatch: Where the trials of a :class:`~mlcore.interfaces.TrialTunable`
                recommender run (None: in this process, as ``tune`` runs them).
        """
        started = self.clock() if started is None else started
        skip = _skip_reason(dataset)
        if skip is not None:
            artifact = skipped_artifact(dataset.tenant, skip, algorithm=self.algorithm)
            return FittedTenant(artifact, TenantOutcome(dataset.tenant, skip, self.algorithm))
        split = temporal_split(dataset)
        make = self._maker(dispatch)
        if self._selects():
            return self._fit_selected(dataset, split, started, make)
        chosen = self.settings.recommender
        candidate = make(chosen)
        tuning = self._fit_on_train(candidate, split, started)
        validation = validate(candidate, split, tuning_best=tuning.best_score if tuning else None)
        promoted, reason = self._gate(dataset.tenant, chosen, validation)
        if promoted != chosen:
            candidate = PopularityRecommender()
        self._give_budget(candidate, started)
        fit_started = self.clock()
        candidate.fit(dataset)
        description = dict(candidate.describe())
        details = {
            "seed": self.settings.seed,
            "validation": validation.as_manifest(promoted, reason),
            "tuning": _tuning_manifest(tuning),
            "fit_seconds": self.clock() - fit_started,
            "recommender": description,
            "requested_recommender": chosen,
        }
        artifact = build_artifact(
            dataset,
            candidate.export(),
            backend=str(description.get("backend", promoted)),
            algorithm=self.algorithm,
            details=details,
        )
        outcome = TenantOutcome(
            dataset.tenant,
            SUCCESS,
            self.algorithm,
            tuning=tuning,
            validation=validation,
            promoted=promoted,
        )
        return FittedTenant(artifact, outcome)

    def _selects(self) -> bool:
        """Whether candidates are trained and selected (``ML_BLEND`` or ``ML_RECOMMENDER=auto``)
        rather than ``ML_RECOMMENDER`` alone, exactly as before (``ML_BLEND=off``)."""
        name = self.settings.recommender
        return name == AUTO or (self.settings.blend != "off" and name != BASELINE)

    def _maker(self, dispatch: TrialDispatch | None) -> RecommenderFactory:
        """``make_recommender``, handing ``dispatch`` to the recommenders that take it."""
        if dispatch is None:
            return self.make_recommender

        def make(name: str) -> Recommender:
            recommender = self.make_recommender(name)
            if isinstance(recommender, TrialTunable):
                recommender.use_trial_dispatch(dispatch.for_recommender(name))
            return recommender

        return make

    def _fit_selected(
        self, dataset: Dataset, split: Split, started: float, make: RecommenderFactory
    ) -> FittedTenant:
        """Train the candidates on ``split``, choose what serves, fit it on ``dataset``."""
        settings = self.settings
        budget = TenantBudget(
            settings.training_budget, settings.training_wall_cap, started=started, clock=self.clock
        )
        selector = CandidateSelector(settings, make, budget)
        selection = selector.select(split)
        promoted, reason = self._gate(dataset.tenant, selection.name, selection.validation)
        fit_started = self.clock()
        if promoted == BASELINE:
            serving = PopularityRecommender().fit(dataset).export()
            described: dict[str, Any] = {"backend": BASELINE}
        else:
            selection, serving = selector.final_fit(selection, dataset)
            promoted = selection.name
            described = {m.name: dict(m.recommender.describe()) for m in selection.members}
        primary = next((m for m in selection.members if m.name == selection.primary), None)
        tuning = primary.tuning if primary is not None else None
        details = {
            "seed": settings.seed,
            "validation": selection.validation.as_manifest(promoted, reason),
            "tuning": _tuning_manifest(tuning),
            "fit_seconds": self.clock() - fit_started,
            "recommender": described if promoted != BLEND else {"members": described},
            "requested_recommender": settings.recommender,
            "selection": selection.as_manifest(),
        }
        artifact = build_artifact(
            dataset, serving, backend=promoted, algorithm=self.algorithm, details=details
        )
        outcome = TenantOutcome(
            dataset.tenant,
            SUCCESS,
            self.algorithm,
            tuning=tuning,
            validation=selection.validation,
            promoted=promoted,
            candidates=selection.records,
        )
        return FittedTenant(artifact, outcome)

    def _fit_on_train(
        self, candidate: Recommender, split: Split, started: float
    ) -> TuningReport | None:
        """Leave ``candidate`` fitted on ``split.train``: by tuning (the :class:`Tunable`
        handshake) when it can be tuned, else by ``fit``. Returns the tuning report."""
        settings = self.settings
        self._give_budget(candidate, started)
        if (
            isinstance(candidate, Tunable)
            and settings.tuning_trials > 0
            and split.test.n_interactions > 0
        ):
            return candidate.tune(
                split.train,
                split.test,
                trials=settings.tuning_trials,
                timeout=settings.tuning_timeout,
                seed=settings.seed,
            )
        # Untuned, this fit and the final fit share what is left of the budget in
        # proportion to their interactions.
        n_train = split.train.n_interactions
        n_total = n_train + split.test.n_interactions
        self._give_budget(candidate, started, n_train / max(n_train + n_total, 1))
        candidate.fit(split.train)
        return None

    def _gate(self, tenant: str, chosen: str, validation: Validation) -> tuple[str, str | None]:
        """The promoted backend and, when popularity replaces the candidate, why."""
        if chosen == BASELINE or validation.beats_baseline():
            return chosen, None
        reason = (
            f"{chosen} NDCG@10 {validation.model.ndcg:.4f} does not beat popularity "
            f"{validation.baseline.ndcg:.4f} on the temporal validation split; serving popularity"
        )
        log.warning("tenant %s: %s", tenant, reason)
        return BASELINE, reason

    def _give_budget(self, candidate: Recommender, started: float, share: float = 1.0) -> None:
        """Give a budgeted recommender ``share`` of what is left of ``ML_TRAINING_BUDGET``
        (counted from ``started``, the start of the tenant) for its next steps."""
        budget = self.settings.training_budget
        if budget > 0 and isinstance(candidate, Budgeted):
            candidate.set_time_budget(max(budget - (self.clock() - started), 0.0) * share)


def _skip_reason(dataset: Dataset) -> str | None:
    if dataset.n_users < MIN_USERS or dataset.n_items < MIN_ITEMS:
        return TOO_FEW_ENTITIES.format(dataset.tenant)
    if dataset.n_interactions == 0:
        return TOO_FEW_INTERACTIONS.format(dataset.tenant)
    return None


def _tuning_manifest(tuning: TuningReport | None) -> dict[str, Any] | None:
    if tuning is None:
        return None
    return {
        "metric": tuning.metric,
        "best_score": tuning.best_score,
        "best_params": dict(tuning.best_params),
        "trials": [dict(t) for t in tuning.trials],
        "epochs": list(tuning.epochs),
        "n_components": list(tuning.n_components),
        "scores": list(tuning.scores),
    }

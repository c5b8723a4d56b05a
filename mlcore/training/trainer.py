"""Per-tenant training: load, check minimums, split, tune, gate, fit, publish, log.

One failed tenant never stops the others and never replaces its served model
(contract §13.11). The popularity baseline gates every trained model: a model
that does not beat it on the temporal validation split is not promoted, and the
tenant serves popularity instead, with the reason in the manifest and log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcore.config import Settings
from mlcore.dataset import Dataset
from mlcore.errors import MLCoreError
from mlcore.interfaces import (
    Budgeted,
    DataSource,
    ModelStore,
    Recommender,
    Tunable,
    TuningReport,
)
from mlcore.serving.artifact import SUCCESS, build_artifact, skipped_artifact
from mlcore.totara.dataset_builder import load_tenant_dataset
from mlcore.totara.export_files import parse_tenants
from mlcore.training.evaluation import Metrics, evaluate, serving_scores
from mlcore.training.splits import temporal_split
from mlcore.training.train_log import FETCH_FAILED, LogRow, append_rows, run_timestamp

log = logging.getLogger(__name__)

MIN_USERS = 10
MIN_ITEMS = 10
TOO_FEW_ENTITIES = (
    "The number of users or items is too small to run the recommendation engine. Skipping tenant {}"
)
TOO_FEW_INTERACTIONS = (
    "The number of interactions is too small to run the recommendation engine. Skipping tenant {}"
)
BASELINE = "popularity"

#: Builds a new, unfitted recommender by plugin name.
RecommenderFactory = Callable[[str], Recommender]


@dataclass(frozen=True)
class TenantOutcome:
    """What happened to one tenant in a run."""

    tenant: str
    message: str
    algorithm: str
    version: str | None = None
    failed: bool = False
    tuning: TuningReport | None = None
    validation: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def log_row(self, timestamp: str) -> LogRow:
        tuning = self.tuning
        return LogRow(
            timestamp,
            self.algorithm,
            self.tenant,
            self.message,
            tuning.epochs if tuning else (),
            tuning.n_components if tuning else (),
            tuning.scores if tuning else (),
        )


class Trainer:
    """Trains every tenant of a data source into a model store.

    Args:
        settings: Process settings (recommender name, seed, tuning budget, log dir).
        source: Where the export files come from.
        store: Where versions are published.
        make_recommender: Builds a recommender by plugin name.
        clock: Seconds since the epoch (injectable for tests).
    """

    def __init__(
        self,
        settings: Settings,
        source: DataSource,
        store: ModelStore,
        make_recommender: RecommenderFactory,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.source = source
        self.store = store
        self.make_recommender = make_recommender
        self.clock = clock

    def run(self, progress: Callable[[TenantOutcome], None] | None = None) -> list[TenantOutcome]:
        """Train all tenants listed by ``tenants.csv``; append ``train_summary.log`` rows."""
        started = self.clock()
        stamp = run_timestamp(started)
        algorithm = self._algorithm_name()
        try:
            tenants = parse_tenants(self.source.read_file("tenants.csv"))
        except MLCoreError as exc:
            log.error("cannot list tenants from %s: %s", self.source.describe(), exc)
            append_rows(
                self.settings.train_log_path, [LogRow(stamp, algorithm, "all", FETCH_FAILED)]
            )
            return [TenantOutcome("all", FETCH_FAILED, algorithm, failed=True)]
        outcomes = []
        for tenant in tenants:
            outcome = self.train_tenant(tenant)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
        append_rows(self.settings.train_log_path, [o.log_row(stamp) for o in outcomes])
        return outcomes

    def train_tenant(self, tenant: str) -> TenantOutcome:
        """Train and publish one tenant; on failure keep its previous version."""
        started = self.clock()
        algorithm = self._algorithm_name()
        try:
            dataset = load_tenant_dataset(self.source, tenant)
            outcome = self._train_dataset(dataset, algorithm, started)
        except Exception as exc:  # noqa: BLE001 - isolate tenants (contract §13.11)
            log.exception("tenant %s failed; its previous model keeps serving", tenant)
            message = f"Training failed, the previous model keeps serving: {exc}"
            return TenantOutcome(
                tenant, message, algorithm, failed=True, seconds=self.clock() - started
            )
        log.info("tenant %s: %s (version %s)", tenant, outcome.message, outcome.version)
        return TenantOutcome(**{**outcome.__dict__, "seconds": self.clock() - started})

    def train_dataset(self, dataset: Dataset) -> TenantOutcome:
        """Train and publish an already loaded tenant; errors propagate to the caller.

        The same steps as :meth:`train_tenant` (minimums, split, tune, gate, fit,
        publish) without its isolation, for callers that decide themselves what a
        failure means (the legacy batch mode stops the run).
        """
        return self._train_dataset(dataset, self._algorithm_name(), self.clock())

    def _train_dataset(self, dataset: Dataset, algorithm: str, started: float) -> TenantOutcome:
        tenant = dataset.tenant
        skip = _skip_reason(dataset)
        if skip is not None:
            version = self.store.publish(
                tenant, skipped_artifact(tenant, skip, algorithm=algorithm)
            )
            return TenantOutcome(tenant, skip, algorithm, version=version)
        split = temporal_split(dataset)
        chosen = self.settings.recommender
        candidate = self.make_recommender(chosen)
        self._give_budget(candidate, started)
        tuning = self._tune(candidate, split.train, split.test)
        if tuning is None:
            # Untuned, the gate's fit on the training part and the final fit share what
            # is left of the budget in proportion to their interactions.
            n_train = split.train.n_interactions
            self._give_budget(candidate, started, n_train / (n_train + dataset.n_interactions))
        validation = self._validate(candidate, tuning, split.train, split.test)
        if chosen != BASELINE and validation["model"]["ndcg"] <= validation[BASELINE]["ndcg"]:
            reason = (
                f"{chosen} NDCG@10 {validation['model']['ndcg']:.4f} does not beat popularity "
                f"{validation[BASELINE]['ndcg']:.4f} on the temporal validation split; serving popularity"
            )
            log.warning("tenant %s: %s", tenant, reason)
            validation["promoted"] = BASELINE
            validation["reason"] = reason
            candidate = self.make_recommender(BASELINE)
        else:
            validation["promoted"] = chosen
        self._give_budget(candidate, started)
        fit_started = self.clock()
        candidate.fit(dataset)
        details = {
            "seed": self.settings.seed,
            "validation": validation,
            "tuning": _tuning_manifest(tuning),
            "fit_seconds": self.clock() - fit_started,
            "recommender": dict(candidate.describe()),
            "requested_recommender": chosen,
        }
        backend = str(candidate.describe().get("backend", validation["promoted"]))
        artifact = build_artifact(
            dataset, candidate.export(), backend=backend, algorithm=algorithm, details=details
        )
        version = self.store.publish(tenant, artifact)
        return TenantOutcome(
            tenant, SUCCESS, algorithm, version=version, tuning=tuning, validation=validation
        )

    def _give_budget(self, candidate: Recommender, started: float, share: float = 1.0) -> None:
        """Give a budgeted recommender ``share`` of what is left of ``ML_TRAINING_BUDGET``
        (counted from ``started``, the start of the tenant) for its next steps."""
        budget = self.settings.training_budget
        if budget > 0 and isinstance(candidate, Budgeted):
            candidate.set_time_budget(max(budget - (self.clock() - started), 0.0) * share)

    def _tune(self, candidate: Recommender, train: Dataset, test: Dataset) -> TuningReport | None:
        settings = self.settings
        if (
            not isinstance(candidate, Tunable)
            or settings.tuning_trials <= 0
            or test.n_interactions == 0
        ):
            return None
        return candidate.tune(
            train,
            test,
            trials=settings.tuning_trials,
            timeout=settings.tuning_timeout,
            seed=settings.seed,
        )

    def _validate(
        self, candidate: Recommender, tuning: TuningReport | None, train: Dataset, test: Dataset
    ) -> dict[str, Any]:
        """Validation metrics of the candidate (fitted on train) and of popularity."""
        baseline = self.make_recommender(BASELINE).fit(train)
        result: dict[str, Any] = {"protocol": "temporal per-user, last 20%", "k": 10}
        result[BASELINE] = _metrics(baseline, train, test).as_dict()
        candidate.fit(train)
        result["model"] = _metrics(candidate, train, test).as_dict()
        if tuning is not None:
            result["tuning_best"] = tuning.best_score
        return result

    def _algorithm_name(self) -> str:
        if self.settings.recommender == "lightfm":
            return self.settings.algorithm
        return self.settings.recommender


def _metrics(recommender: Recommender, train: Dataset, test: Dataset) -> Metrics:
    return evaluate(serving_scores(recommender.export()), train, test, k=10, with_auc=False)


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

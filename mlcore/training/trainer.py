"""Train every tenant of a data source into a model store.

:meth:`Trainer.train_tenant` is load + :meth:`TenantFitter.fit_tenant` + publish,
with tenant isolation: one failed tenant never stops the others and never
replaces its served model (contract §13.11). :meth:`Trainer.run` trains all
tenants listed by ``tenants.csv`` and appends their ``train_summary.log`` rows; the
models are published first, so a log that cannot be written (a full disk) costs the
log rows only: the run ends normally and :attr:`Trainer.log_failure` says why.

With an :class:`~mlcore.interfaces.Executor` that runs units elsewhere (``ML_EXECUTOR``,
``ML_TRAINING_PROCESSES``), :meth:`Trainer.run` hands each tenant to it as a unit of
work (:mod:`mlcore.training.units`) and :meth:`Trainer.train_tenant` runs the trials
of its search through it (:mod:`mlcore.training.trial_search`); without one, or with
the default ``local`` executor of one process, everything runs here, as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from mlcore.config import Settings
from mlcore.errors import MLCoreError
from mlcore.interfaces import DataSource, Executor, ModelStore
from mlcore.totara.dataset_builder import load_tenant_dataset
from mlcore.totara.export_files import TenantList, tenant_list
from mlcore.training.fitting import RecommenderFactory, TenantFitter
from mlcore.training.outcome import TenantOutcome
from mlcore.training.train_log import FETCH_FAILED, LogRow, append_rows, run_timestamp
from mlcore.training.trial_search import TrialDispatch
from mlcore.training.trial_unit import DataHandle
from mlcore.training.units import (
    TenantTask,
    UnitResult,
    load_fingerprinted,
    train_tenant_unit,
    without_secrets,
)

log = logging.getLogger(__name__)

#: Prefix of the message of a tenant whose training failed or was cut short.
FAILED = "Training failed, the previous model keeps serving: "


class RunCutShort(BaseException):  # noqa: N818 - an interruption, like KeyboardInterrupt
    """Raised inside a run to stop it (its deadline passed, or the service stops).

    A ``BaseException`` so that no tenant's error handling swallows it. :meth:`Trainer.run`
    gives every tenant it had not finished a failed outcome whose message is this
    exception's text, writes the log rows and re-raises with :attr:`outcomes` set.
    """

    outcomes: list[TenantOutcome]

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.outcomes = []


class Trainer:
    """Trains every tenant of a data source into a model store.

    Args:
        settings: Process settings (recommender name, seed, tuning budget, log dir).
        source: Where the export files come from.
        store: Where versions are published.
        make_recommender: Builds a recommender by plugin name.
        clock: Seconds since the epoch (injectable for tests).
        executor: Runs tenants (from :meth:`run`) and trials (from :meth:`train_tenant`)
            as units of work, unless it runs them in this process; None: here.
    """

    def __init__(
        self,
        settings: Settings,
        source: DataSource,
        store: ModelStore,
        make_recommender: RecommenderFactory,
        clock: Callable[[], float] = time.time,
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.source = source
        self.store = store
        self.fitter = TenantFitter(settings, make_recommender)
        self.clock = clock
        self.executor = executor if executor is not None and not executor.in_process() else None
        #: Why the last run could not write ``train_summary.log`` (None: it could).
        self.log_failure: str | None = None

    def run(
        self,
        progress: Callable[[TenantOutcome], None] | None = None,
        only: str | None = None,
    ) -> list[TenantOutcome]:
        """Train all tenants listed by ``tenants.csv``; append ``train_summary.log`` rows.

        A line of ``tenants.csv`` naming no usable tenant gets a failed outcome with its
        reason and the others train; a list that cannot be fetched or read at all gives
        one ``all`` outcome: the contract's message, then the specific reason.

        Args:
            progress: Called with each tenant's outcome as it finishes.
            only: Train this tenant alone (it must be listed by ``tenants.csv``).
        """
        stamp = run_timestamp(self.clock())
        try:
            listing = tenant_list(self.source.read_file("tenants.csv"))
        except MLCoreError as exc:
            log.error("cannot list tenants from %s: %s", self.source.describe(), exc)
            outcomes = [self._failed("all", f"{FETCH_FAILED}: {exc}")]
        else:
            outcomes = self._train_listed(listing, stamp, progress, only)
        self._write_log([o.log_row(stamp) for o in outcomes])
        return outcomes

    def _train_listed(
        self,
        listing: TenantList,
        stamp: str,
        progress: Callable[[TenantOutcome], None] | None,
        only: str | None,
    ) -> list[TenantOutcome]:
        """The listed tenants' outcomes (or ``only``'s), then one per skipped line."""
        if only is not None:
            if only not in listing.tenants:
                message = f"Training failed: tenant {only} is not listed by tenants.csv"
                return [self._failed(only, message)]
            return self._train_all(TenantList((only,)), stamp, progress)
        outcomes = self._train_all(listing, stamp, progress)
        for skipped in listing.skipped:
            log.error("tenants.csv: skipping a tenant: %s", skipped.error)
            outcomes.append(self._failed(skipped.tenant, f"Training skipped: {skipped.error}"))
        return outcomes

    def _train_all(
        self,
        listing: TenantList,
        stamp: str,
        progress: Callable[[TenantOutcome], None] | None,
    ) -> list[TenantOutcome]:
        """Train the listed tenants in order; on :class:`RunCutShort` log and re-raise."""
        outcomes: list[TenantOutcome] = []
        try:
            if self.executor is not None:
                self._train_as_units(listing.tenants, outcomes, progress)
            else:
                for tenant in listing.tenants:
                    outcomes.append(self.train_tenant(tenant))
                    if progress is not None:
                        progress(outcomes[-1])
        except RunCutShort as cut:
            done = {o.tenant for o in outcomes}
            unfinished = [t for t in listing.tenants if t not in done]
            log.error("%s: tenant(s) %s keep their previous models", cut, ", ".join(unfinished))
            cut.outcomes = outcomes + [self._failed(t, f"{FAILED}{cut}") for t in unfinished]
            self._write_log([o.log_row(stamp) for o in cut.outcomes])
            raise
        return outcomes

    def _train_as_units(
        self,
        tenants: tuple[str, ...],
        outcomes: list[TenantOutcome],
        progress: Callable[[TenantOutcome], None] | None,
    ) -> None:
        """Every tenant as a unit of work on the executor; ``outcomes`` in listing order.

        A unit that cannot finish (its workers lost too often, the cluster gone) fails
        its tenant only; a cut-short run cancels the units that have not finished.
        """
        executor = self._executor()
        settings = executor.unit_settings(without_secrets(self.settings))
        log.info("training %d tenant(s) as units of work on %s", len(tenants), executor.describe())
        pending: dict[Future[Any], str] = {
            executor.submit(train_tenant_unit, TenantTask(settings, tenant)): tenant
            for tenant in tenants
        }
        finished: dict[str, TenantOutcome] = {}
        try:
            while pending:
                for future in executor.wait(list(pending)):
                    tenant = pending.pop(future)
                    finished[tenant] = self._unit_outcome(tenant, future)
                    if progress is not None:
                        progress(finished[tenant])
        finally:
            for future in pending:
                future.cancel()
            outcomes.extend(finished[t] for t in tenants if t in finished)

    def _unit_outcome(self, tenant: str, future: Future[Any]) -> TenantOutcome:
        try:
            result: UnitResult = future.result()
        except Exception as exc:  # noqa: BLE001 - isolate tenants (contract §13.11)
            log.error("tenant %s: its unit of work was lost: %r", tenant, exc)
            return self._failed(tenant, f"{FAILED}its unit of work could not finish: {exc!r}")
        log.info("tenant %s: %s (on %s)", tenant, result.outcome.message, result.where)
        return result.outcome

    def _executor(self) -> Executor:
        if self.executor is None:
            raise MLCoreError("no executor of units of work")
        return self.executor

    def _failed(self, tenant: str, message: str) -> TenantOutcome:
        return TenantOutcome(tenant, message, self.fitter.algorithm, failed=True)

    def _write_log(self, rows: list[LogRow]) -> None:
        """Append ``rows`` to ``train_summary.log``; a failure is logged, never raised."""
        path = self.settings.train_log_path
        try:
            append_rows(path, rows)
        except OSError as exc:
            self.log_failure = f"cannot write {path}: {exc}"
            log.error("%s; the models of this run were published", self.log_failure)
        else:
            self.log_failure = None

    def train_tenant(self, tenant: str) -> TenantOutcome:
        """Load, fit and publish one tenant; on failure keep its previous version."""
        started = self.clock()
        budget_started = self.fitter.clock()  # the budget counts loading too
        try:
            dataset, dispatch = self._load(tenant)
            fitted = self.fitter.fit_tenant(dataset, budget_started, dispatch)
            version = self.store.publish(tenant, fitted.artifact)
        except Exception as exc:  # noqa: BLE001 - isolate tenants (contract §13.11)
            log.exception("tenant %s failed; its previous model keeps serving: %s", tenant, exc)
            message = f"{FAILED}{exc}"
            return TenantOutcome(
                tenant,
                message,
                self.fitter.algorithm,
                failed=True,
                seconds=self.clock() - started,
            )
        outcome = fitted.outcome.published(version, self.clock() - started)
        log.info("tenant %s: %s (version %s)", tenant, outcome.message, version)
        return outcome

    def _load(self, tenant: str) -> tuple[Any, TrialDispatch | None]:
        """The tenant's dataset, and where its trials run (None: here)."""
        if self.executor is None:
            return load_tenant_dataset(self.source, tenant), None
        dataset, fingerprint = load_fingerprinted(self.source, tenant)
        settings = self.executor.unit_settings(without_secrets(self.settings))
        return dataset, TrialDispatch(self.executor, DataHandle(settings, tenant, fingerprint))

"""The units of work of a training run, as an :class:`~mlcore.interfaces.Executor` runs them.

A tenant's training (:func:`train_tenant_unit`: load + fit + publish) takes a
:class:`TenantTask`, a few hundred bytes: the settings (never a secret: the unit
takes those from its own environment) and the tenant id. The unit reads the
tenant's export through the configured data source itself, publishes through the
configured model store (atomically: a unit killed before the pointer moves leaves
the previous version current) and returns a :class:`UnitResult`, a small outcome
record. The trial unit is :func:`mlcore.training.trial_search.run_trial`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import threading
from dataclasses import dataclass

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.dataset import Dataset
from mlcore.interfaces import DataSource
from mlcore.totara.dataset_builder import load_tenant_dataset
from mlcore.training.budget import tenant_ledger
from mlcore.training.outcome import TenantOutcome


@dataclass(frozen=True)
class TenantTask:
    """What a tenant's unit of work gets.

    Attributes:
        settings: The run's settings without secrets (see :func:`without_secrets`),
            with the executor's thread budget per unit.
        tenant: The tenant to train.
    """

    settings: Settings
    tenant: str


@dataclass(frozen=True)
class UnitResult:
    """What a tenant's unit of work returns: its outcome and where it ran."""

    outcome: TenantOutcome
    where: str


def without_secrets(settings: Settings) -> Settings:
    """``settings`` with every secret emptied: what is shipped to a unit of work."""
    return dataclasses.replace(settings, totara_key="", admin_key="")


def with_local_secrets(settings: Settings) -> Settings:
    """``settings`` with the secrets of this process's environment (``ML_TOTARA_KEY``...)."""
    return dataclasses.replace(
        settings,
        totara_key=os.environ.get("ML_TOTARA_KEY", ""),
        admin_key=os.environ.get("ML_ADMIN_KEY", ""),
    )


def where() -> str:
    """This process, for logs: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class FingerprintingSource:
    """A data source that hashes every file it reads (the data handle's fingerprint)."""

    def __init__(self, source: DataSource) -> None:
        self.source = source
        self._digest = hashlib.sha256()
        self._lock = threading.Lock()

    def read_file(self, name: str) -> bytes:
        data = self.source.read_file(name)
        with self._lock:
            self._digest.update(name.encode() + b"\0" + data)
        return data

    def describe(self) -> str:
        return self.source.describe()

    def fingerprint(self) -> str:
        """sha256 of the names and bytes read so far."""
        return self._digest.hexdigest()


def load_fingerprinted(source: DataSource, tenant: str) -> tuple[Dataset, str]:
    """Load a tenant's dataset and the fingerprint of the export files it came from."""
    reading = FingerprintingSource(source)
    dataset = load_tenant_dataset(reading, tenant)
    return dataset, reading.fingerprint()


def train_tenant_unit(task: TenantTask) -> UnitResult:
    """A tenant's training as a unit of work: load, fit, publish; never raises for a
    failing tenant (its outcome says why, and its previous model keeps serving).

    Its trials run through the executor the settings name, seen from inside the unit
    (``dask``: the same cluster; ``local``: one after another in this process).
    """
    from mlcore.training.trainer import Trainer  # noqa: PLC0415 - the trainer imports this

    settings = with_local_secrets(task.settings)
    parts = configured_plugins(settings)
    executor = parts.executor()
    try:
        with tenant_ledger():
            trainer = Trainer(
                settings,
                parts.data_source(),
                parts.model_store(),
                parts.recommender,
                executor=executor,
            )
            outcome = trainer.train_tenant(task.tenant)
    finally:
        executor.close()
    return UnitResult(outcome, where())

"""Legacy batch mode: the run of Totara 13/14's recommender script (contract §11).

One run, in a data folder Totara exported into:

1. If ``ml_started`` exists, a run is in progress or done: do nothing (§11.3).
2. Write ``ml_started``; train every tenant of ``tenants.csv`` (header-only means
   tenant ``0``) and write its ``i2i_<t>.csv`` and ``i2u_<t>.csv`` atomically.
3. Write ``ml_completed`` last, also when tenants were skipped as too small.

On failure ``ml_completed`` is never written, files written so far stay complete,
``ml_started`` is kept so that Totara's import refuses the half-done folder (and
keeps its current recommendations), and ``ml_failed`` records the error. A run that
finds ``ml_failed`` next to ``ml_started`` is a retry and starts afresh.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcore.config import Algorithm, Settings, settings_with
from mlcore.configured import ConfiguredPlugins
from mlcore.dataset import Dataset
from mlcore.errors import MLCoreError, quoted
from mlcore.interfaces import DataSource, ModelArtifact
from mlcore.legacy.outputs import OutputOptions, TenantFiles, write_atomic, write_tenant_files
from mlcore.totara.dataset_builder import load_tenant_dataset
from mlcore.totara.export_files import parse_tenants
from mlcore.training.fitting import TenantFitter

log = logging.getLogger(__name__)

STARTED = "ml_started"
COMPLETED = "ml_completed"
FAILED = "ml_failed"
_SAFE_TENANT = re.compile(r"[A-Za-z0-9_-]+")

#: Trains one tenant and returns its artifact (a manifest-only one when skipped).
TenantTrainer = Callable[[Dataset], ModelArtifact]


class LegacyBatchError(MLCoreError):
    """A legacy run failed; ``ml_completed`` was not written."""


@dataclass(frozen=True)
class LegacyRun:
    """The result of :meth:`LegacyBatch.run`.

    Attributes:
        already_started: True when ``ml_started`` was found and nothing was done.
        tenants: What was written per tenant, in ``tenants.csv`` order.
    """

    already_started: bool
    tenants: tuple[TenantFiles, ...] = ()


class LegacyBatch:
    """Runs the legacy batch over one data folder.

    Args:
        source: Reads the export files of the data folder.
        train: Trains one tenant's dataset into an artifact.
        clock: Unix time for the flag files.
        progress: Called after each tenant's files are written.
    """

    def __init__(
        self,
        source: DataSource,
        train: TenantTrainer,
        *,
        clock: Callable[[], float] = time.time,
        progress: Callable[[TenantFiles], None] | None = None,
    ) -> None:
        self.source = source
        self.train = train
        self.clock = clock
        self.progress = progress

    def run(self, folder: Path, options: OutputOptions) -> LegacyRun:
        """Process every tenant into ``folder``, with the flag files of §11.3.

        Raises:
            LegacyBatchError: Any failure, with the reason; ``ml_failed`` holds it too.
        """
        if already_started(folder):
            return LegacyRun(already_started=True)
        (folder / FAILED).unlink(missing_ok=True)
        self._flag(folder / STARTED)
        try:
            written = tuple(self._tenant(folder, t, options) for t in self._tenants())
        except BaseException as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._flag(folder / FAILED, f" {reason}")
            if isinstance(exc, Exception):
                raise LegacyBatchError(f"legacy run in {folder} failed: {reason}") from exc
            raise
        self._flag(folder / COMPLETED)
        return LegacyRun(already_started=False, tenants=written)

    def _tenants(self) -> list[str]:
        tenants = parse_tenants(self.source.read_file("tenants.csv")) or ["0"]
        for tenant in tenants:
            if not _SAFE_TENANT.fullmatch(tenant):
                raise LegacyBatchError(f"tenants.csv lists an invalid tenant id {quoted(tenant)}")
        return tenants

    def _tenant(self, folder: Path, tenant: str, options: OutputOptions) -> TenantFiles:
        started = time.perf_counter()
        dataset = load_tenant_dataset(self.source, tenant)
        artifact = self.train(dataset)
        trained = time.perf_counter()
        files = write_tenant_files(folder, dataset, artifact, options)
        log.info(
            "tenant %s: %s; %d users, %d items; i2i %d rows, i2u %d rows; "
            "loading and training %.1f s, writing %.1f s",
            tenant,
            files.message,
            dataset.n_users,
            dataset.n_items,
            files.i2i_rows,
            files.i2u_rows,
            trained - started,
            time.perf_counter() - trained,
        )
        if self.progress is not None:
            self.progress(files)
        return files

    def _flag(self, path: Path, suffix: str = "") -> None:
        write_atomic(path, [f"{int(self.clock())}{suffix}".encode()])


def already_started(folder: Path) -> bool:
    """True when ``ml_started`` exists and no failed run left ``ml_failed`` (§11.3)."""
    return (folder / STARTED).exists() and not (folder / FAILED).exists()


def legacy_settings(
    settings: Settings, *, query: Algorithm, threads: int, option_names: frozenset[str]
) -> Settings:
    """Settings of a legacy run: Totara's ``--query`` and ``--threads`` win.

    Args:
        settings: From the environment (``ML_*``).
        query: The LightFM mode (``mf``, ``partial``, ``hybrid``).
        threads: Training threads.
        option_names: Option names of the configured recommender. Its ``mode`` and
            ``num_threads`` options, when it has them, follow the arguments too, and
            tuning studies stay in memory unless ``study_storage`` is configured
            (a cron job's working folder may not be writable).
    """
    options: dict[str, Any] = dict(settings.recommender_options)
    if "mode" in option_names:
        options["mode"] = query
    if "num_threads" in option_names:
        options["num_threads"] = threads
    if "study_storage" in option_names:
        options.setdefault("study_storage", "memory")
    return settings_with(
        settings, algorithm=query, num_threads=threads, recommender_options=options
    )


def option_names(plugins: ConfiguredPlugins) -> frozenset[str]:
    """Field names of the configured recommender's options dataclass."""
    record = plugins.registry.get("recommender", plugins.settings.recommender)
    return frozenset(f.name for f in dataclasses.fields(record.options_type))


def tenant_trainer(plugins: ConfiguredPlugins) -> TenantTrainer:
    """Fit like the service (temporal split, seeded tuning, popularity gate), no store."""
    fitter = TenantFitter(plugins.settings, plugins.recommender)

    def train(dataset: Dataset) -> ModelArtifact:
        return fitter.fit_tenant(dataset).artifact

    return train

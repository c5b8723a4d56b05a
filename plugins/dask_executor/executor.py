"""The ``dask`` executor: units of work as tasks of a ``distributed`` cluster.

Futures are ``concurrent.futures.Future`` objects mirroring the Dask futures (which
stay referenced until they finish, so a task is never released early). Units
submitted from inside a unit (a tenant's trials) get a higher priority than the
tenants waiting to start, and the submitting unit leaves its worker thread while it
waits (``secede``/``rejoin``), so its trials can run there: a cluster busy with
waiting tenants never deadlocks, and a tenant's trials go first.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from mlcore.config import Settings, settings_with
from mlcore.errors import ConfigError

log = logging.getLogger(__name__)

#: Priority of units submitted from inside a unit (trials) over top-level ones (tenants).
INNER_PRIORITY = 10


@dataclass(frozen=True)
class DaskOptions:
    """Options of the ``dask`` executor (``ML_EXECUTOR_OPTIONS``).

    Attributes:
        address: The scheduler, e.g. ``tcp://scheduler:8786``.
        scheduler_file: A scheduler file written by ``dask scheduler --scheduler-file``
            (used when ``address`` is empty).
        n_workers: Workers of the ``LocalCluster`` started when neither is given
            (0: one per core).
        threads_per_unit: ``ML_NUM_THREADS`` of each unit; start workers with as
            many threads (``dask worker --nthreads 1`` for the default).
        timeout: Seconds to wait for the scheduler when connecting.
    """

    address: str = ""
    scheduler_file: str = ""
    n_workers: int = 0
    threads_per_unit: int = 1
    timeout: float = 30.0


class DaskExecutor:
    """Units of work as Dask tasks.

    Args:
        options: Where the cluster is.
        settings: The run's settings.
    """

    def __init__(self, options: DaskOptions, settings: Settings) -> None:
        if options.threads_per_unit < 1 or options.n_workers < 0:
            raise ConfigError("dask executor: threads_per_unit must be >= 1, n_workers >= 0")
        self.options = options
        self.settings = settings
        self._client: Any = None
        self._cluster: Any = None
        self._owned = False
        self._inner = False
        self._slots: int | None = None

    def slots(self) -> int:
        """Worker threads of the cluster (asked once)."""
        if self._slots is None:
            client = self._connect()
            self._slots = max(sum(client.nthreads().values()), 1)
        return self._slots

    def in_process(self) -> bool:
        return False

    def unit_settings(self, settings: Settings) -> Settings:
        return settings_with(
            settings, training_processes=1, num_threads=self.options.threads_per_unit
        )

    def submit(self, unit: Callable[..., Any], *arguments: Any) -> Future[Any]:
        client = self._connect()
        priority = INNER_PRIORITY if self._inner else 0
        return _mirrored(client.submit(unit, *arguments, pure=False, priority=priority))

    def wait(self, pending: Collection[Future[Any]]) -> set[Future[Any]]:
        if not self._inner:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            return set(done)
        from distributed import rejoin, secede  # noqa: PLC0415 - optional dependency

        secede()  # free this worker thread for the trials while waiting
        try:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
        finally:
            rejoin()
        return set(done)

    def close(self) -> None:
        """Close the client and the LocalCluster this executor started (not a worker's)."""
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if self._owned and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def describe(self) -> str:
        if self._inner:
            return "the Dask cluster of this worker"
        if self.options.address:
            return f"the Dask scheduler at {self.options.address}"
        if self.options.scheduler_file:
            return f"the Dask scheduler of {self.options.scheduler_file}"
        return "a Dask LocalCluster of this machine"

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            import distributed  # noqa: PLC0415 - optional dependency
        except ImportError:
            raise ConfigError(
                "ML_EXECUTOR=dask needs the distributed package: pip install 'mlservice[dask]'"
            ) from None
        try:
            distributed.get_worker()
        except ValueError:  # not inside a task: connect to (or start) the cluster
            self._client = self._new_client(distributed)
            self._owned = True
        else:
            self._client = distributed.get_client()
            self._inner = True
        return self._client

    def _new_client(self, distributed: Any) -> Any:
        options = self.options
        if options.address:
            return distributed.Client(options.address, timeout=options.timeout)
        if options.scheduler_file:
            return distributed.Client(
                scheduler_file=options.scheduler_file, timeout=options.timeout
            )
        workers = options.n_workers or os.cpu_count() or 1
        log.info("starting a Dask LocalCluster of %d worker process(es)", workers)
        self._cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=options.threads_per_unit,
            processes=True,
            dashboard_address=None,
        )
        return distributed.Client(self._cluster)


def _mirrored(task: Any) -> Future[Any]:
    """A ``concurrent.futures.Future`` settled by the Dask future ``task``."""
    mirror: Future[Any] = Future()

    def settle(finished: Any) -> None:
        if mirror.done():
            return
        try:
            mirror.set_result(finished.result())
        except BaseException as exc:  # noqa: BLE001 - the mirror carries it
            if not mirror.done():
                mirror.set_exception(exc)

    def cancel(settled: Future[Any]) -> None:
        if settled.cancelled():
            task.cancel()

    mirror.add_done_callback(cancel)  # also keeps the Dask future referenced until then
    task.add_done_callback(settle)
    return mirror

"""Executor plugin ``dask``: the trainer's units of work on a Dask cluster (``mlservice[dask]``).

``ML_EXECUTOR_OPTIONS`` names the cluster (``address`` or ``scheduler_file``); without
either, a ``LocalCluster`` of this machine's cores is started for the run. Tenants and
the trials of their searches are Dask tasks; a task whose worker is lost is run again
on another worker (the scheduler's ``distributed.scheduler.allowed-failures``, 3 by
default). ``distributed`` is imported only when the executor is first used. See
``docs/scale-out.md``.
"""

from __future__ import annotations

from mlcore.config import Settings
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import ExecutorRecord
from plugins.dask_executor.executor import DaskExecutor, DaskOptions


def _make(*, options: DaskOptions, settings: Settings | None = None) -> DaskExecutor:
    return DaskExecutor(options, settings or Settings())


@hookimpl
def mlcore_executors() -> list[ExecutorRecord]:
    return [
        ExecutorRecord(
            name="dask",
            factory=_make,
            options_type=DaskOptions,
            description="A Dask cluster (address or scheduler_file; else a LocalCluster): "
            "tenants and tuning trials as tasks",
        )
    ]

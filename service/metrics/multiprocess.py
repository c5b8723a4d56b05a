"""prometheus_client's multiprocess mode for gunicorn workers and training runs.

Every process that records a metric writes its own memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR``; a scrape merges them (counters and histograms of
exited processes are kept, gauges of dead processes are dropped once marked with
:func:`mark_dead`). The folder must be set before any worker imports
``prometheus_client`` and emptied when the service starts, or an earlier run's
counts would be added again.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare(folder: Path, environ: MutableMapping[str, str]) -> Path:
    """Create ``folder``, delete its metric files, and name it in ``environ``.

    Raises:
        OSError: The folder cannot be created or emptied.
    """
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    environ[ENVIRONMENT_VARIABLE] = str(folder)
    return folder


def enabled() -> bool:
    """Whether this process writes its metrics to a shared folder."""
    return bool(os.environ.get(ENVIRONMENT_VARIABLE))


def mark_dead(pid: int) -> None:
    """Drop the live gauges of an exited process (gunicorn ``child_exit``, finished runs)."""
    if not enabled():
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)

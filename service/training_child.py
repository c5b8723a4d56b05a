"""Child runs: starting a training or refresh child, and saying how a training run ended.

The scheduler (:mod:`service.trainer_process`) never trains itself: every run is
``python -m service.trainer_run`` in a fresh process (LightFM/implicit threads never
exist in the serving processes); refreshes (:mod:`service.refresh_scheduler`) run as
``python -m service.refresh_run`` the same way. This module starts those children and
turns a training run's exit status into the log line an operator reads.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlcore.config import Settings
from service.parent_watch import PARENT_VARIABLE
from service.trainer_run import LOG_NOT_WRITTEN, RUN_CUT_SHORT, child_environment

#: The scheduler's logger (under ``python -m`` its module is ``__main__``).
log = logging.getLogger("service.trainer_process")

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


class RunHandle(Protocol):
    """A running training child (``subprocess.Popen`` satisfies it)."""

    pid: int

    def poll(self) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass(frozen=True)
class FinishedRun:
    """One training run as the scheduler saw it.

    Attributes:
        started: Scheduler clock at launch.
        seconds: How long it ran.
        exit_code: The child's exit status (negative: killed by that signal).
        tenant: The tenant of a requested single-tenant run.
    """

    started: float
    seconds: float
    exit_code: int
    tenant: str | None = None


def launch_child(
    settings: Settings, environ: Mapping[str, str] | None, module: str, *args: str
) -> subprocess.Popen[bytes]:
    """Start ``python -m module *args`` (the training or refresh child) with the settings
    as ``ML_*`` variables (never on the command line); it exits with this process."""
    env = child_environment(settings, environ, REPOSITORY_ROOT)
    env[PARENT_VARIABLE] = str(os.getpid())
    command = [sys.executable, "-m", module, *args]
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)


def launch_training_child(
    settings: Settings, environ: Mapping[str, str] | None, tenant: str | None = None
) -> RunHandle:
    """Start ``python -m service.trainer_run [--tenant T]``."""
    tenant_args = ("--tenant", tenant) if tenant else ()
    return launch_child(settings, environ, "service.trainer_run", *tenant_args)


def log_finished_run(run: FinishedRun, settings: Settings, *, stopping: bool) -> None:
    """Say how a run ended; ``stopping``: the scheduler is shutting down (not an error)."""
    code, seconds = run.exit_code, run.seconds
    if code == 0:
        log.info("training run finished in %.1f s", seconds)
    elif code == 1:
        log.warning(
            "training run finished in %.1f s with failed tenants (see train_summary.log); "
            "their previous models keep serving",
            seconds,
        )
    elif code == RUN_CUT_SHORT:
        log.log(
            logging.INFO if stopping else logging.ERROR,
            "training run cut short after %.1f s (%s); the tenants it had not finished "
            "keep their previous models (see train_summary.log)",
            seconds,
            "shutdown"
            if stopping
            else f"deadline {settings.run_deadline_seconds:g} s, ML_TRAINING_RUN_DEADLINE",
        )
    elif code == LOG_NOT_WRITTEN:
        log.error(
            "training run finished in %.1f s and published its models, but could not "
            "write train_summary.log (see its error above; is ML_LOGS_DIR's disk full?)",
            seconds,
        )
    else:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        log.log(
            logging.INFO if stopping else logging.ERROR,
            "training run %s after %.1f s; previous models keep serving%s",
            how,
            seconds,
            " (shutdown)" if stopping else "; the next run happens on schedule",
        )

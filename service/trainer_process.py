"""Scheduled training in a separate process, for ``mlservice serve``.

API (used by ``service/commands/serve_command.py``)::

    trainer = TrainerProcess(settings)
    trainer.start()   # returns at once; False (and nothing scheduled) when FLASK_ENV=Testing
    ...               # gunicorn serves; each run publishes per tenant through the store
    trainer.stop()    # no new runs; a running training gets SIGTERM, SIGKILL after a grace

Standalone (a trainer without web workers, e.g. its own container or unit):
``python -m service.trainer_process`` runs :meth:`TrainerProcess.run_until_signal`,
which stops cleanly on SIGTERM or SIGINT.

:meth:`TrainerProcess.start` starts one scheduler *thread* in the calling process.
The thread never trains: every run is a fresh child process,
``python -m service.trainer_process``, which builds the configured data source,
model store and recommender and runs :class:`mlcore.training.trainer.Trainer` once. So
LightFM/implicit threads never exist in the serving processes (they hang
pre-forked gunicorn workers), a crashed or killed run only costs that run, and
the previous models keep serving because the trainer publishes per tenant
through the store. Settings reach the child as ``ML_*`` environment variables
(never on the command line).

Schedule (contract §8.8): every ``ML_RECOMMENDATION_RETRAIN_FREQ`` minutes; the
first run at once when the store has no model for any tenant, otherwise after
one interval. One run at a time: a run still going when the next is due delays
it until the run ends. A failed run that leaves a tenant without a model is
retried after ``ML_TRAINING_RETRY_MINUTES``, doubling, never later than the
schedule. A run has a deadline (``ML_TRAINING_RUN_DEADLINE``, default one interval):
the child cuts itself short then; one still running ``grace_seconds`` later is
terminated, then killed, and the scheduler writes its ``all`` row. With a
:class:`~service.trainer_control.TrainerControl` the scheduler publishes its state and
starts a run when ``POST /retrain`` asks for one. Runs log (never the key) to stderr
and to ``<ML_LOGS_DIR>/trainer.log``; rows go to ``train_summary.log``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping

from mlcore.config import Settings, load_settings
from mlcore.configured import configured_plugins
from mlcore.errors import MLCoreError
from service.logging_setup import configure_root, make_formatter
from service.parent_watch import exit_with_parent
from service.refresh_scheduler import RefreshScheduler
from service.trainer_control import LastRun, TrainerControl, TrainerState
from service.trainer_run import LOG_FORMAT, TRAINER_LOG, append_run_row
from service.training_child import (
    FinishedRun,
    RunHandle,
    launch_training_child,
    log_finished_run,
)
from service.training_status import tenant_left_without_model

#: A fixed name: under ``python -m`` this module is ``__main__``.
log = logging.getLogger("service.trainer_process")


class TrainerProcess:
    """Schedules training runs, each in its own child process.

    Args:
        settings: The service settings (the child gets them as ``ML_*`` variables).
        launch: Starts one training run; called with a tenant id for a requested
            single-tenant run (default: ``python -m service.trainer_run``).
        has_models: Whether the store holds a model for any tenant (default: asks
            the configured store).
        needs_retry: Whether a tenant is left without a model by a failed training
            (default: ``train_summary.log`` and the store).
        control: Where the state is published and run requests are read (none by
            default; ``mlservice serve`` passes one).
        clock: Monotonic seconds.
        grace_seconds: How long :meth:`stop` lets a terminated run exit before SIGKILL.
        poll_seconds: How often the scheduler looks at the clock and the child.
        environ: Base environment of the child (default ``os.environ``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        launch: Callable[..., RunHandle] | None = None,
        has_models: Callable[[], bool] | None = None,
        needs_retry: Callable[[], bool] | None = None,
        control: TrainerControl | None = None,
        clock: Callable[[], float] = time.monotonic,
        grace_seconds: float = 10.0,
        poll_seconds: float = 1.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.launch = launch or self._launch_child
        self.has_models = has_models or self._store_has_models
        self.needs_retry = needs_retry or self._tenant_without_model
        self.control = control
        self._failures = 0
        self.clock = clock
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds
        self.environ = environ
        self.finished: list[FinishedRun] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._file_log: logging.Handler | None = None
        #: Whether a training run is active (no refresh starts then).
        self.training_active = False
        self.refreshes = RefreshScheduler(
            settings, busy=lambda: self.training_active, environ=environ
        )

    @property
    def interval(self) -> float:
        """Seconds between runs (``ML_RECOMMENDATION_RETRAIN_FREQ`` minutes)."""
        return self.settings.retrain_freq_minutes * 60.0

    def start(self) -> bool:
        """Start the scheduler thread; False in testing mode (no scheduled training)."""
        if self.settings.testing:
            log.info("scheduled training is disabled in testing mode (FLASK_ENV=Testing)")
            return False
        if self._thread is not None:
            return True
        self._stop.clear()
        self._attach_file_log()
        self._thread = threading.Thread(target=self._loop, name="trainer-scheduler", daemon=True)
        self._thread.start()
        self.refreshes.start()
        return True

    def stop(self, timeout: float | None = None) -> None:
        """Stop scheduling, terminate a running training, and wait for the thread."""
        self._stop.set()
        self.refreshes.stop()
        if self._thread is not None:
            limit = self.grace_seconds + self.poll_seconds + 5 if timeout is None else timeout
            self._thread.join(limit)
            self._thread = None
            log.info("trainer stopped")
        if self._file_log is not None:
            log.removeHandler(self._file_log)
            self._file_log.close()
            self._file_log = None

    def run_until_signal(self) -> None:
        """Start, block until SIGTERM or SIGINT, then :meth:`stop` (main thread only)."""
        received: list[int] = []
        # The handler only appends: taking the event's lock inside a signal handler
        # could deadlock with the main thread.
        previous = {
            signum: signal.signal(signum, lambda signum, _: received.append(signum))
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            if self.start():
                while not received and self.is_alive():
                    time.sleep(0.2)
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def is_alive(self) -> bool:
        """Whether the scheduler thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        try:
            first_now = not self.has_models()
        except Exception:  # noqa: BLE001 - a broken store must not stop the scheduler
            log.exception("cannot ask the model store for models; training at once")
            first_now = True
        next_due = self.clock() + (0.0 if first_now else self.interval)
        log.info(
            "trainer scheduled every %g minutes; first run %s",
            self.settings.retrain_freq_minutes,
            "now (no model yet)" if first_now else f"in {self.interval:g} s",
        )
        self._publish(next_due, None)
        active: tuple[RunHandle, float, str | None] | None = None
        while not self._stop.is_set():
            try:
                if active is not None and active[0].poll() is not None:
                    finished, active = active, None
                    run = self._record(*finished)
                    next_due = self._after(run, next_due)
                    self._publish(next_due, None, run)
                elif active is not None and self._overdue(active[1]):
                    run = self._stop_overdue(*active)
                    active = None
                    next_due = self._after(run, next_due)
                    self._publish(next_due, None, run)
                if active is None:
                    active, next_due = self._maybe_launch(next_due)
            except Exception:  # noqa: BLE001 - the schedule must survive anything
                log.exception("trainer scheduler error; scheduling continues")
            remaining = self.poll_seconds if active else max(0.0, next_due - self.clock())
            self._stop.wait(min(self.poll_seconds, remaining))
        if active is not None:
            self._terminate(*active)
        if self.control is not None:
            self.control.clear()

    def _maybe_launch(
        self, next_due: float
    ) -> tuple[tuple[RunHandle, float, str | None] | None, float]:
        """Start a requested or due run; return it (or None) and the next due time."""
        request = self.control.pending() if self.control is not None else None
        if request is None and self.clock() < next_due:
            return None, next_due
        tenant = request.get("tenant") if request else None
        tenant = str(tenant) if tenant not in (None, "") else None
        if request is None:
            next_due = self.clock() + self.interval
        else:
            log.info("training run requested%s", f" for tenant {tenant}" if tenant else "")
        active = self._launch_run(tenant)
        self._publish(next_due, active)
        if request is not None and self.control is not None:
            self.control.drop_request()
        return active, next_due

    def _after(self, run: FinishedRun, next_due: float) -> float:
        """The next due time after ``run``: a retry with backoff when it left a tenant bare."""
        if run.exit_code == 0 or self._stop.is_set():
            self._failures = 0
            return next_due
        try:
            bare = self.needs_retry()
        except Exception:  # noqa: BLE001 - no retry is better than no scheduler
            log.exception("cannot tell whether a tenant lacks a model; no early retry")
            bare = False
        if not bare:
            self._failures = 0
            return next_due
        delay = min(self.settings.training_retry_minutes * 60.0 * 2**self._failures, self.interval)
        self._failures += 1
        log.warning(
            "a tenant has no model after a failed training; retrying in %g s (attempt %d)",
            delay,
            self._failures,
        )
        return min(next_due, self.clock() + delay)

    def _publish(
        self,
        next_due: float,
        active: tuple[RunHandle, float, str | None] | None,
        last: FinishedRun | None = None,
    ) -> None:
        """Write the state file (when there is a control) and the running gauge."""
        from service.metrics import recorders

        recorders.training_running(active is not None)
        if self.control is None:
            return
        now, wall = self.clock(), time.time()
        previous = self.control.state()
        last_run = previous.last_run if previous is not None else None
        if last is not None:
            outcome = recorders.run_outcome(last.exit_code, self._stop.is_set())
            last_run = LastRun(wall, last.seconds, last.exit_code, outcome, last.tenant)
        try:
            self.control.write_state(
                TrainerState(
                    pid=os.getpid(),
                    running=active is not None,
                    run_started_at=wall - (now - active[1]) if active else None,
                    run_tenant=active[2] if active else None,
                    next_run_at=wall + max(0.0, next_due - now),
                    retrying=self._failures > 0,
                    last_run=last_run,
                    updated_at=wall,
                )
            )
        except OSError as exc:
            log.warning("cannot write the trainer state in %s: %s", self.control.folder, exc)

    def _launch_run(self, tenant: str | None = None) -> tuple[RunHandle, float, str | None] | None:
        started = self.clock()
        try:
            handle = self.launch() if tenant is None else self.launch(tenant)
        except Exception:  # noqa: BLE001 - the next run happens on schedule
            log.exception("cannot start a training run; the next one happens on schedule")
            return None
        log.info("training run started (pid %s)", handle.pid)
        self.training_active = True
        return handle, started, tenant

    def _record(self, handle: RunHandle, started: float, tenant: str | None = None) -> FinishedRun:
        from service.metrics import recorders
        from service.metrics.multiprocess import mark_dead

        code = handle.wait()
        self.training_active = False
        run = FinishedRun(started, self.clock() - started, code, tenant)
        self.finished.append(run)
        recorders.training_run(recorders.run_outcome(code, self._stop.is_set()), run.seconds)
        mark_dead(handle.pid)
        log_finished_run(run, self.settings, stopping=self._stop.is_set())
        return run

    def _overdue(self, started: float) -> bool:
        """Whether a run is past its deadline by more than the grace the child gets."""
        deadline = self.settings.run_deadline_seconds
        return self.clock() - started > deadline + self.grace_seconds

    def _stop_overdue(
        self, handle: RunHandle, started: float, tenant: str | None = None
    ) -> FinishedRun:
        """Terminate (then kill) a run past its deadline; write its row if it could not."""
        deadline = self.settings.run_deadline_seconds
        log.error(
            "training run (pid %s) is past its deadline of %g s (ML_TRAINING_RUN_DEADLINE) "
            "and did not stop; terminating it",
            handle.pid,
            deadline,
        )
        self._terminate(handle, started, tenant)
        run = self.finished[-1]
        if run.exit_code < 0:  # killed: the child wrote no rows
            append_run_row(
                self.settings,
                "Training failed, the previous models keep serving: the training run was "
                f"killed after {run.seconds:.1f} s, over its deadline of {deadline:g} s "
                "(ML_TRAINING_RUN_DEADLINE)",
            )
        return run

    def _terminate(self, handle: RunHandle, started: float, tenant: str | None = None) -> None:
        if handle.poll() is None:
            log.info("stopping the running training (pid %s)", handle.pid)
            handle.terminate()
            try:
                handle.wait(timeout=self.grace_seconds)
            except subprocess.TimeoutExpired:
                log.warning("training pid %s ignored SIGTERM; killing it", handle.pid)
                handle.kill()
        self._record(handle, started, tenant)

    def _attach_file_log(self) -> None:
        """Scheduler messages also go to ``<ML_LOGS_DIR>/trainer.log``."""
        try:
            self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.settings.logs_dir / TRAINER_LOG, encoding="utf-8")
        except OSError as exc:
            log.warning("cannot write %s: %s", self.settings.logs_dir / TRAINER_LOG, exc)
            return
        handler.setFormatter(make_formatter(self.settings.log_format, text=LOG_FORMAT))
        log.addHandler(handler)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        self._file_log = handler

    def _launch_child(self, tenant: str | None = None) -> RunHandle:
        return launch_training_child(self.settings, self.environ, tenant)

    def _store_has_models(self) -> bool:
        return bool(configured_plugins(self.settings).model_store().tenants())

    def _tenant_without_model(self) -> bool:
        return tenant_left_without_model(
            self.settings.train_log_path, configured_plugins(self.settings).model_store()
        )


def main() -> int:
    """``python -m service.trainer_process``: the scheduler alone, until a signal."""
    try:
        settings = load_settings()
    except MLCoreError as exc:
        print(f"trainer: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_root(settings.log_format)
    exit_with_parent()
    TrainerProcess(settings, control=TrainerControl(settings.logs_dir)).run_until_signal()
    return 0


if __name__ == "__main__":
    sys.exit(main())

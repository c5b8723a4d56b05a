"""The refresh cycle's schedule: one refresh child every ``ML_REFRESH_INTERVAL`` seconds.

:class:`RefreshScheduler` is a thread beside the training scheduler of
:class:`service.trainer_process.TrainerProcess` (which starts and stops it). Like a
training run, every refresh is a fresh child process (``python -m
service.refresh_run``: LightFM and implicit never run in the serving processes);
it is never started while a training run is active (``busy``), the next one is
due one interval after the previous ended (so a source is never asked more often
than the interval), and one running past its deadline (five intervals, at least
ten minutes) is terminated: the current models keep serving.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable, Mapping

from mlcore.config import Settings
from service.training_child import launch_child

log = logging.getLogger("service.trainer_process")


class RefreshScheduler:
    """Starts refresh children on the interval.

    Args:
        settings: The service settings (the child gets them as ``ML_*`` variables).
        busy: Whether a training run is active (no refresh starts then).
        launch: Starts one refresh child (default ``python -m service.refresh_run``).
        clock: Monotonic seconds.
        poll_seconds: How often the thread looks at the clock and the child.
        environ: Base environment of the child (default ``os.environ``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        busy: Callable[[], bool],
        launch: Callable[[], subprocess.Popen[bytes]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        poll_seconds: float = 1.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.busy = busy
        self.launch = launch or self._launch_child
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.environ = environ
        self.exit_codes: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        return self.settings.refresh_interval

    @property
    def deadline(self) -> float:
        """Seconds a refresh child may run before it is terminated."""
        return max(5 * self.interval, 600.0)

    def start(self) -> bool:
        """Start the thread; False when refreshes are off (``ML_REFRESH_INTERVAL=0``)."""
        if self.interval <= 0:
            log.info("refreshes are off (ML_REFRESH_INTERVAL=0)")
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="refresh-scheduler", daemon=True)
        self._thread.start()
        log.info("refresh cycle every %g s", self.interval)
        return True

    def stop(self, timeout: float = 15.0) -> None:
        """Stop scheduling; a running refresh is terminated (its tenant keeps its model)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        next_due = self.clock() + self.interval
        active: tuple[subprocess.Popen[bytes], float] | None = None
        while not self._stop.is_set():
            try:
                if active is not None and active[0].poll() is not None:
                    self._finished(active[0])
                    active, next_due = None, self.clock() + self.interval
                elif active is not None and self.clock() - active[1] > self.deadline:
                    log.error("refresh (pid %s) is past its deadline; stopping it", active[0].pid)
                    self._end(active[0])
                    active, next_due = None, self.clock() + self.interval
                if active is None and self.clock() >= next_due and not self.busy():
                    active = (self.launch(), self.clock())
            except Exception:  # noqa: BLE001 - the schedule must survive anything
                log.exception("refresh scheduler error; scheduling continues")
                next_due = self.clock() + self.interval
            self._stop.wait(self.poll_seconds)
        if active is not None:
            self._end(active[0])

    def _finished(self, handle: subprocess.Popen[bytes]) -> None:
        code = handle.wait()
        self.exit_codes.append(code)
        if code not in (0, 1):
            log.error("refresh child exited with status %s; current models keep serving", code)

    def _end(self, handle: subprocess.Popen[bytes]) -> None:
        handle.terminate()
        try:
            handle.wait(timeout=10)
        except subprocess.TimeoutExpired:
            handle.kill()
            handle.wait()
        self.exit_codes.append(handle.returncode)

    def _launch_child(self) -> subprocess.Popen[bytes]:
        return launch_child(self.settings, self.environ, "service.refresh_run")

"""How web workers and the trainer scheduler talk: two small files in ``ML_LOGS_DIR``.

* ``trainer-state.json``: written (atomically) by the scheduler whenever something
  changes: its pid, whether a run is going, the next scheduled run, the last run's
  outcome. The dashboard shows it; ``POST /retrain`` reads it.
* ``retrain-request.json``: created by ``POST /retrain`` with ``O_EXCL``, so of
  concurrent requests in several workers exactly one wins; the scheduler starts the
  run, writes ``running`` into its state, and only then deletes the request.

So "one at a time" holds across processes: a request is refused while a run is
going or another request waits.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

STATE_FILE = "trainer-state.json"
REQUEST_FILE = "retrain-request.json"


class RequestResult(StrEnum):
    """What ``POST /retrain`` got."""

    ACCEPTED = "accepted"
    RUNNING = "running"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class LastRun:
    """A finished run as the scheduler saw it (Unix times)."""

    finished_at: float
    seconds: float
    exit_code: int
    outcome: str
    tenant: str | None = None


@dataclass(frozen=True)
class TrainerState:
    """The scheduler's state file.

    Attributes:
        pid: The scheduler's process id.
        running: A training run is in progress.
        run_started_at: Unix time the current run started.
        run_tenant: The tenant of a requested single-tenant run.
        next_run_at: Unix time of the next scheduled run, None when not scheduled.
        retrying: The next run is a retry after a failed training (backoff).
        last_run: The last finished run.
        updated_at: Unix time of this state.
    """

    pid: int
    running: bool = False
    run_started_at: float | None = None
    run_tenant: str | None = None
    next_run_at: float | None = None
    retrying: bool = False
    last_run: LastRun | None = None
    updated_at: float = field(default_factory=time.time)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainerState:
        last = data.get("last_run")
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["last_run"] = LastRun(**last) if isinstance(last, dict) else None
        return cls(**fields)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class TrainerControl:
    """Reads and writes the two files in ``folder``.

    Args:
        folder: ``ML_LOGS_DIR``.
        clock: Unix time.
        pid_alive: Whether a process exists (tests inject).
    """

    def __init__(
        self,
        folder: Path,
        clock: Callable[[], float] = time.time,
        pid_alive: Callable[[int], bool] = _pid_alive,
    ) -> None:
        self.folder = Path(folder)
        self.clock = clock
        self.pid_alive = pid_alive

    def state(self) -> TrainerState | None:
        """The scheduler's state, None when no scheduler runs (no file, or its pid died)."""
        try:
            state = TrainerState.from_json(json.loads((self.folder / STATE_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return state if self.pid_alive(state.pid) else None

    def pending(self) -> dict[str, Any] | None:
        """The waiting request, if any."""
        try:
            return dict(json.loads((self.folder / REQUEST_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def request_run(self, tenant: str | None) -> RequestResult:
        """Ask the scheduler for a run now (of one tenant, or all)."""
        state = self.state()
        if state is None:
            return RequestResult.UNAVAILABLE
        if state.running:
            return RequestResult.RUNNING
        body = json.dumps({"tenant": tenant, "requested_at": self.clock()}).encode()
        try:
            descriptor = os.open(self.folder / REQUEST_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return RequestResult.RUNNING
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body)
        return RequestResult.ACCEPTED

    def drop_request(self) -> None:
        """Scheduler side: the request was served (call after writing ``running``)."""
        (self.folder / REQUEST_FILE).unlink(missing_ok=True)

    def write_state(self, state: TrainerState) -> None:
        """Replace the state file atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{STATE_FILE}.{os.getpid()}"
        temporary.write_text(json.dumps(asdict(state)))
        os.replace(temporary, self.folder / STATE_FILE)

    def clear(self) -> None:
        """Scheduler start and stop: no stale request, no state of a dead scheduler."""
        (self.folder / REQUEST_FILE).unlink(missing_ok=True)
        (self.folder / STATE_FILE).unlink(missing_ok=True)

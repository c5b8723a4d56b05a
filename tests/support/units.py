"""Units of work for executor tests: module-level, so a spawned process can import them."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any


def pid_and_threads(value: int) -> tuple[int, int, str]:
    """``(pid, value * 2, OMP_NUM_THREADS)`` of the process that ran the unit."""
    return os.getpid(), value * 2, os.environ.get("OMP_NUM_THREADS", "")


def die_once(marker: str) -> int:
    """SIGKILL this process the first time (``marker`` absent), then return the pid."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def die_always() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0  # pragma: no cover - never reached


def fail(message: str) -> None:
    raise ValueError(message)


class ThreadUnits:
    """An executor of units in threads of this process (as if they ran elsewhere)."""

    def __init__(self, slots: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._slots = slots
        self.pool = ThreadPoolExecutor(slots)
        self.submitted = 0

    def slots(self) -> int:
        return self._slots

    def in_process(self) -> bool:
        return False

    def unit_settings(self, settings: Any) -> Any:
        return settings

    def submit(self, unit: Callable[..., Any], *arguments: Any) -> Future[Any]:
        self.submitted += 1
        return self.pool.submit(unit, *arguments)

    def wait(self, pending: Collection[Future[Any]]) -> set[Future[Any]]:
        return set(wait(pending, return_when=FIRST_COMPLETED)[0])

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)

    def describe(self) -> str:
        return f"{self._slots} test threads"

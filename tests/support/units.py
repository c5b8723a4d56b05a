"""Units of work for executor tests: module-level, so a spawned process can import them."""

from __future__ import annotations

import os
import signal
from pathlib import Path


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

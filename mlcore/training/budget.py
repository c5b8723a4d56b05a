"""One tenant's training budget, counted in process CPU seconds (``ML_TRAINING_BUDGET``).

CPU seconds do not grow when other processes share the machine, so with one
thread, the same seed and the same data, every decision the budget takes (how many
trials, which candidates fit, how many final-fit epochs) comes out the same on an
idle and on a busy machine. The wall clock stays only as a safety cap
(``ML_TRAINING_WALL_CAP``): once it is passed, no further candidate starts, and
the log says so.

A tenant trained as a unit of work whose trials run elsewhere (``ML_EXECUTOR``)
counts in a :class:`CpuLedger`: its own process CPU seconds, without those of the
time it waited for its trials (other units may run in its process meanwhile),
plus the CPU seconds each trial reports. Without a ledger (the default, one
process) the clock is the process CPU time, exactly as before.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class CpuLedger:
    """CPU seconds spent for the tenant this thread trains, wherever they were spent."""

    def __init__(self) -> None:
        self.remote = 0.0
        self.excluded = 0.0

    def read(self) -> float:
        """Process CPU seconds, minus those of waits, plus those reported by trials."""
        return time.process_time() - self.excluded + self.remote


_current = threading.local()


def cpu_seconds() -> float:
    """The clock of every training budget: CPU seconds of this process, all threads
    (or of this thread's :class:`CpuLedger`, when a unit of work opened one)."""
    ledger: CpuLedger | None = getattr(_current, "ledger", None)
    return time.process_time() if ledger is None else ledger.read()


@contextmanager
def tenant_ledger() -> Iterator[CpuLedger]:
    """Count :func:`cpu_seconds` in a new ledger in this thread until the block ends."""
    previous = getattr(_current, "ledger", None)
    _current.ledger = ledger = CpuLedger()
    try:
        yield ledger
    finally:
        _current.ledger = previous


def charge_remote(seconds: float) -> None:
    """Add CPU seconds that a unit of work spent elsewhere for this thread's tenant
    (ignored without a ledger: then nothing runs elsewhere)."""
    ledger: CpuLedger | None = getattr(_current, "ledger", None)
    if ledger is not None:
        ledger.remote += max(seconds, 0.0)


@contextmanager
def not_counted() -> Iterator[None]:
    """Leave the process CPU seconds of this block out of this thread's ledger (a wait,
    during which other units may run in this process)."""
    ledger: CpuLedger | None = getattr(_current, "ledger", None)
    started = time.process_time()
    try:
        yield
    finally:
        if ledger is not None:
            ledger.excluded += time.process_time() - started


class TenantBudget:
    """CPU seconds left for one tenant, and the wall-clock safety cap.

    Args:
        seconds: CPU seconds for the tenant (0: unlimited).
        wall_cap: Wall seconds after which no new candidate starts (0: none).
        started: CPU reading when the tenant started (loading included).
        clock: CPU seconds (injectable for tests).
        wall_clock: Monotonic wall seconds (injectable for tests).
    """

    def __init__(
        self,
        seconds: float,
        wall_cap: float = 0.0,
        *,
        started: float | None = None,
        clock: Callable[[], float] = cpu_seconds,
        wall_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.wall_cap = wall_cap
        self.clock = clock
        self.wall_clock = wall_clock
        self.started = clock() if started is None else started
        self.wall_started = wall_clock()

    @property
    def limited(self) -> bool:
        return self.seconds > 0

    def spent(self) -> float:
        """CPU seconds used since the tenant started."""
        return self.clock() - self.started

    def remaining(self) -> float:
        """CPU seconds left (``inf`` without a budget; never negative)."""
        if not self.limited:
            return math.inf
        return max(self.seconds - self.spent(), 0.0)

    def wall_cap_passed(self, tenant: str, what: str) -> bool:
        """Whether the wall-clock cap is passed; logs it, naming ``what`` is skipped."""
        if self.wall_cap <= 0:
            return False
        elapsed = self.wall_clock() - self.wall_started
        if elapsed < self.wall_cap:
            return False
        log.warning(
            "tenant %s: %s skipped: the wall-clock safety cap ML_TRAINING_WALL_CAP=%.0f s "
            "is passed (%.0f s; the machine is busy or the budget too large)",
            tenant,
            what,
            self.wall_cap,
            elapsed,
        )
        return True

"""One tenant's training budget, counted in process CPU seconds (``ML_TRAINING_BUDGET``).

CPU seconds do not grow when other processes share the machine, so with one
thread, the same seed and the same data, every decision the budget takes (how many
trials, which candidates fit, how many final-fit epochs) comes out the same on an
idle and on a busy machine. The wall clock stays only as a safety cap
(``ML_TRAINING_WALL_CAP``): once it is passed, no further candidate starts, and
the log says so.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: The clock of every training budget: CPU seconds of this process, all threads.
cpu_seconds: Callable[[], float] = time.process_time


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

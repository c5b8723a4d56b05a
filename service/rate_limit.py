"""A small rate limit for log lines that an attacker or a broken client could flood."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimit:
    """At most ``burst`` events per ``period`` seconds pass; the rest are counted.

    Args:
        burst: Events allowed per period.
        period: Seconds of one period.
        clock: Monotonic seconds.
    """

    def __init__(
        self, burst: int = 10, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.period = period
        self.clock = clock
        self._lock = threading.Lock()
        self._window_start = -float("inf")
        self._passed = 0
        self._suppressed = 0

    def allow(self) -> tuple[bool, int]:
        """Whether this event passes, and how many were suppressed since the last one passed."""
        with self._lock:
            now = self.clock()
            if now - self._window_start >= self.period:
                self._window_start, self._passed = now, 0
            if self._passed >= self.burst:
                self._suppressed += 1
                return False, 0
            self._passed += 1
            suppressed, self._suppressed = self._suppressed, 0
            return True, suppressed

"""Serving through an S3 outage: answer reads from what this host last knew.

When a read (tenant list, current pointer, change token) fails with an S3 or network
error, :class:`LastKnown` logs one warning and answers from the local cache instead, and
for the next ``pause`` seconds does not ask S3 again, so a worker's periodic check does
not stall a request on every interval. With nothing known locally the error is raised.
A missing object (``ModelNotFoundError``) is an answer, not an outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from mlcore.errors import ModelNotFoundError, ModelStoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds without asking S3 again after a failed read.
PAUSE_SECONDS = 30.0


class LastKnown:
    """Falls back to local knowledge when S3 cannot be read.

    Args:
        pause: Seconds to answer from local knowledge after a failure.
        clock: Monotonic seconds.
    """

    def __init__(
        self, pause: float = PAUSE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pause = pause
        self._clock = clock
        self._paused_until = float("-inf")

    def read(self, what: str, call: Callable[[], T], known: Callable[[], T | None]) -> T:
        """``call()``; on an S3 failure (or while paused) ``known()`` if it is not None.

        Raises:
            ModelStoreError: S3 failed and nothing is known locally.
        """
        if self._clock() < self._paused_until:
            fallback = known()
            if fallback is not None:
                return fallback
        try:
            return call()
        except ModelNotFoundError:
            raise
        except ModelStoreError as exc:
            fallback = known()
            if fallback is None:
                raise
            self._paused_until = self._clock() + self._pause
            log.warning(
                "cannot %s: %s; using what this host last knew for the next %.0f s",
                *(what, exc, self._pause),
            )
            return fallback

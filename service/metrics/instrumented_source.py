"""A data source that counts and times every export file it delivers."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from mlcore.interfaces import DataSource
from service.metrics import recorders

_TENANT_SUFFIX = re.compile(r"_\d+(?=\.csv$)")


def file_kind(name: str) -> str:
    """``user_data_3.csv`` -> ``user_data.csv``: one label per kind of file, not per tenant."""
    return _TENANT_SUFFIX.sub("", name)


class InstrumentedSource:
    """Wraps a :class:`~mlcore.interfaces.DataSource`; ``mlservice_downloads_total`` per file.

    Args:
        source: The configured data source.
        clock: Monotonic seconds.
    """

    def __init__(self, source: DataSource, clock: Callable[[], float] = time.perf_counter) -> None:
        self._source = source
        self._clock = clock

    def read_file(self, name: str) -> bytes:
        started = self._clock()
        try:
            data = self._source.read_file(name)
        except Exception:
            recorders.download(file_kind(name), False, self._clock() - started)
            raise
        recorders.download(file_kind(name), True, self._clock() - started)
        return data

    def describe(self) -> str:
        return self._source.describe()

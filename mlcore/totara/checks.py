"""Shared checks of export tables: header names, row widths, integer columns."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from mlcore.dataset import MAX_ID_BYTES, Ids
from mlcore.errors import quoted
from mlcore.totara.csv_reader import Locator

_NATURAL = re.compile(r"\d{1,18}")


def check_header(header: Sequence[str], expected: Sequence[str], locator: Locator) -> None:
    """Raise unless ``header`` names exactly ``expected``, in order."""
    for column, (found, wanted) in enumerate(zip(header, expected, strict=False), start=1):
        if found != wanted:
            raise locator.error(0, column, f"header column is {quoted(found)}, expected {wanted!r}")
    if len(header) < len(expected):
        missing = ", ".join(expected[len(header) :])
        raise locator.error(0, len(header) + 1, f"header is missing column(s) {missing}")
    if len(header) > len(expected):
        extra = header[len(expected)]
        raise locator.error(0, len(expected) + 1, f"unexpected extra header column {quoted(extra)}")


def check_widths(body: Sequence[Sequence[str]], width: int, locator: Locator) -> None:
    """Raise at the first row of ``body`` (record 1 onwards) without ``width`` fields."""
    if all(len(row) == width for row in body):
        return
    index = next(i for i, row in enumerate(body) if len(row) != width)
    found = len(body[index])
    raise locator.error(
        index + 1, min(found, width) + 1, f"expected {width} columns, found {found}"
    )


def check_ids(ids: Ids, column: int, name: str, locator: Locator) -> None:
    """Raise at the first empty id or id longer than :data:`MAX_ID_BYTES` (record 1 on).

    Args:
        ids: One id per body row.
        column: 1-based column for errors.
        name: Column name for errors.
        locator: Locates the offending row.
    """
    lengths = ids.byte_lengths()
    bad = np.flatnonzero((lengths == 0) | (lengths > MAX_ID_BYTES))
    if bad.size == 0:
        return
    row = int(bad[0])
    if lengths[row] == 0:
        raise locator.error(row + 1, column, f"{name} is empty")
    raise locator.error(
        row + 1,
        column,
        f"{name} {quoted(ids[row])} is {lengths[row]} bytes long, more than the limit of "
        f"{MAX_ID_BYTES} bytes",
    )


def naturals(values: Sequence[str], column: int, name: str, locator: Locator) -> np.ndarray:
    """(N,) int64 of decimal non-negative integers; raise at the first bad value.

    Args:
        values: One string per body row (record 1 onwards).
        column: 1-based column for errors.
        name: Column name for errors.
        locator: Locates the offending row.
    """
    joined = "\n".join(values)
    if not _all_naturals(joined, len(values)):
        for index, value in enumerate(values):
            if _NATURAL.fullmatch(value) is None:
                kind = "is negative" if re.fullmatch(r"-\d+", value) else "is not an integer"
                raise locator.error(index + 1, column, f"{name} {quoted(value)} {kind}")
    if not values:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(joined, dtype=np.int64, sep="\n")


def _all_naturals(joined: str, count: int) -> bool:
    """Whether ``joined`` is ``count`` runs of 1-18 ASCII digits separated by ``\\n``."""
    if not joined.isascii():
        return False
    raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    newline = raw == ord("\n")
    if not np.all(newline | ((raw >= ord("0")) & (raw <= ord("9")))):
        return False
    bounds = np.concatenate(([-1], np.flatnonzero(newline), [raw.size]))
    lengths = np.diff(bounds) - 1
    return bool(lengths.size == count and lengths.min() >= 1 and lengths.max() <= 18)

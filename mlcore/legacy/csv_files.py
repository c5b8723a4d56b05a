"""CSV text of the legacy outputs, built as byte matrices (no Python loop per row).

Each field becomes a NUL-padded (N, W) uint8 matrix; the columns of a row are
concatenated with ``,`` and ``\\n`` and the padding is dropped in one boolean
selection, so a block of a million rows costs a few numpy passes. Ids never hold
NUL (the export parser rejects it), so NUL is free to mark padding.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

_COMMA, _NEWLINE, _DOT, _MINUS, _ZERO = (ord(c) for c in ",\n.-0")
#: Fixed-point path limit: |value| * 1e12 must fit in int64 with room to spare.
_FAST_LIMIT = 1e6
_DECIMALS = 12


def csv_field(value: str) -> str:
    """A CSV field quoted only when needed (delimiter, quote or line break), ``"`` doubled."""
    if any(char in value for char in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def field_matrix(values: Sequence[str]) -> np.ndarray:
    """(N, W) uint8: the UTF-8 bytes of each value as a CSV field, NUL-padded.

    Built once per id list (users or items), then indexed per row.
    """
    encoded = [csv_field(str(value)).encode("utf-8") for value in values]
    width = max((len(item) for item in encoded), default=1) or 1
    return np.array(encoded, dtype=f"S{width}").view(np.uint8).reshape(len(encoded), width)


def fixed12(values: np.ndarray) -> np.ndarray:
    """(N, W) uint8: each value as ``f"{value:.12f}"`` would write it, NUL-padded.

    float32 values below 1e6 in magnitude take an exact integer path: a float32
    times 1e12 is exact in float64 (24-bit mantissa times 5**12 * 2**12), so
    ``rint`` rounds the true binary value half-to-even, as Python's formatting does.
    Anything else takes Python's formatting.
    """
    if values.dtype != np.float32 or not np.all(np.abs(values) < _FAST_LIMIT):
        return field_matrix([f"{float(value):.{_DECIMALS}f}" for value in values.tolist()])
    exact = values.astype(np.float64)
    scaled = np.rint(np.abs(exact) * 10.0**_DECIMALS).astype(np.int64)
    whole, fraction = np.divmod(scaled, 10**_DECIMALS)
    whole_chars = _four_digit_groups(whole, 2)
    # Leading zeros of the whole part are padding, except the units digit.
    powers = 10 ** np.arange(whole_chars.shape[1] - 1, -1, -1, dtype=np.int64)
    whole_chars[(whole[:, None] < powers) & (powers > 1)] = 0
    columns = [
        np.where(np.signbit(exact), _MINUS, 0).astype(np.uint8)[:, None],
        whole_chars,
        np.full((values.shape[0], 1), _DOT, dtype=np.uint8),
        _four_digit_groups(fraction, 3),
    ]
    return np.concatenate(columns, axis=1)


def _four_digit_groups(numbers: np.ndarray, groups: int) -> np.ndarray:
    """(N, 4 * groups) uint8 ASCII digits of non-negative ints, zero-padded on the left.

    Looks up groups of four digits in a table: integer division is slow in numpy,
    so it runs once per group instead of once per digit.
    """
    table = _digit_table()
    words = np.empty((numbers.shape[0], groups), dtype=np.uint32)
    for group in range(groups):
        words[:, groups - 1 - group] = table[(numbers // 10 ** (4 * group)) % 10_000]
    return words.view(np.uint8).reshape(numbers.shape[0], 4 * groups)


@functools.cache
def _digit_table() -> np.ndarray:
    """(10000,) uint32 whose four bytes are the ASCII digits of 0000 .. 9999."""
    numbers = np.arange(10_000)[:, None] // np.array([1000, 100, 10, 1]) % 10
    return np.ascontiguousarray((numbers + _ZERO).astype(np.uint8)).view(np.uint32).ravel()


def csv_lines(first: np.ndarray, second: np.ndarray, rankings: np.ndarray) -> bytes:
    """Rows ``first,second,ranking\\n`` as UTF-8 bytes, rankings with 12 decimals.

    Args:
        first: (N, Wa) uint8 rows of a :func:`field_matrix`.
        second: (N, Wb) uint8 rows of a :func:`field_matrix`.
        rankings: (N,) float32 values.
    """
    count = rankings.shape[0]
    comma = np.full((count, 1), _COMMA, dtype=np.uint8)
    table = np.concatenate(
        [first, comma, second, comma, fixed12(rankings), np.full((count, 1), _NEWLINE, np.uint8)],
        axis=1,
    )
    return table[table != 0].tobytes()

"""A writer that behaves like PHP ``fputcsv`` with its defaults, for the parser tests.

PHP quotes a field only when it contains the delimiter, the enclosure, the escape
character, a space, ``\\t``, ``\\r`` or ``\\n``; inside the quotes it doubles ``"``
except directly after the escape character ``\\`` (a run of backslashes keeps the
"escaped" state), which is PHP's long-standing escape quirk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_NEEDS_QUOTES = (",", '"', "\\", " ", "\t", "\r", "\n")


def php_field(value: str) -> str:
    """One field as PHP ``fputcsv`` writes it."""
    if not any(char in value for char in _NEEDS_QUOTES):
        return value
    out = ['"']
    escaped = False
    for char in value:
        if char == "\\":
            escaped = True
        elif not escaped and char == '"':
            out.append('"')
        else:
            escaped = False
        out.append(char)
    out.append('"')
    return "".join(out)


def php_csv(rows: Iterable[Sequence[str]], eol: str = "\n") -> bytes:
    """The UTF-8 bytes of ``rows`` written with ``fputcsv`` (``eol`` after every row)."""
    return "".join(",".join(php_field(f) for f in row) + eol for row in rows).encode("utf-8")

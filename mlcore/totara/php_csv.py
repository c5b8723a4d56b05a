"""A writer of CSV lines exactly as PHP's ``fputcsv`` writes Totara's exports (contract §7.2)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_NEEDS_QUOTES = re.compile(r'[,"\\\n\r\t ]')
_UNESCAPED_QUOTE = re.compile(r'(?<!\\)"')


def php_csv_line(fields: Sequence[str]) -> str:
    """One line as PHP ``fputcsv`` writes it (``,``, ``"``, escape ``\\``, ``\\n``).

    A field is quoted when it holds a comma, quote, backslash, space, tab or line
    break; inside quotes ``"`` is doubled unless it follows a backslash (PHP's escape
    character leaves ``\\"`` unchanged).
    """
    cells = [
        '"' + _UNESCAPED_QUOTE.sub('""', value) + '"' if _NEEDS_QUOTES.search(value) else value
        for value in fields
    ]
    return ",".join(cells) + "\n"

"""Score strings and item ids as Totara receives them (contract §2.2, §2.4)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from mlcore.item_types import strip_prefix
from mlcore.serving.tenant_model import Recommendation

# The same few thousand ids come back again and again; the regex is the costly part.
_numeric_id = lru_cache(maxsize=1 << 16)(strip_prefix)


def format_score(value: float) -> str:
    """Fixed point, 4 decimals, a space or ``-`` as sign, no padding (``" .4f"``).

    ``0.81234`` -> ``" 0.8123"``, ``-0.15`` -> ``"-0.1500"``, ``-0.00001`` ->
    ``"-0.0000"`` (the sign survives rounding), ``12.5`` -> ``" 12.5000"``.
    """
    return format(float(value), " .4f")


def item_pairs(recommendations: Iterable[Recommendation]) -> list[list[str]]:
    """``[[<id without prefix>, <score string>], ...]`` in the given order."""
    return [[_numeric_id(r.item_id), format_score(r.score)] for r in recommendations]

"""Totara item types (components) and the item-id grammar (contract §2)."""

from __future__ import annotations

import re

#: The five components, in the column order of ``item_data`` (contract §2.1).
COMPONENTS: tuple[str, ...] = (
    "container_course",
    "container_workspace",
    "engage_article",
    "engage_microlearning",
    "totara_playlist",
)

COMPONENT_INDEX: dict[str, int] = {name: i for i, name in enumerate(COMPONENTS)}

#: Components that share one Totara table, so ``/similar-items`` may mix them (§9.2).
FAMILIES: dict[str, tuple[str, ...]] = {
    "engage_article": ("engage_article", "engage_microlearning"),
    "engage_microlearning": ("engage_article", "engage_microlearning"),
    "totara_playlist": ("totara_playlist",),
    "container_workspace": ("container_workspace",),
    "container_course": ("container_course",),
}

_ITEM_ID = re.compile(r"([a-z]+_[a-z]+)(\d+)", re.IGNORECASE)


def split_item_id(item_id: str) -> tuple[str, str] | None:
    """Split ``engage_article12`` into ``("engage_article", "12")`` as Totara does.

    Uses Totara's unanchored, case-insensitive pattern ``([a-z]+_[a-z]+)(\\d+)``.
    Returns None when the id does not match.
    """
    match = _ITEM_ID.search(item_id)
    if match is None:
        return None
    return match.group(1), match.group(2)


def strip_prefix(item_id: str) -> str:
    """Return the numeric part of an item id (``"engage_microlearning12"`` -> ``"12"``).

    Ids that do not follow the grammar are returned unchanged.
    """
    parts = split_item_id(item_id)
    return item_id if parts is None else parts[1]


def family_mask_components(component: str) -> tuple[int, ...]:
    """Component indices that may be returned as similar items of ``component``."""
    return tuple(COMPONENT_INDEX[name] for name in FAMILIES[component])

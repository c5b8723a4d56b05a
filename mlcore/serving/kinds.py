"""The table of serving kinds, by the ``kind`` name in exports and manifests.

A new kind is a :class:`~mlcore.serving.kind.ServingKind` subclass in its own module
and one entry here; serving, evaluation, artifact checks and the legacy outputs
all score through this table.
"""

from __future__ import annotations

from mlcore.serving.blend import BlendKind
from mlcore.serving.factors import FactorsKind
from mlcore.serving.item_item import ItemItemKind
from mlcore.serving.kind import ServingKind
from mlcore.serving.neighbours import NeighboursKind

SERVING_KINDS: dict[str, type[ServingKind]] = {
    kind.name: kind for kind in (FactorsKind, NeighboursKind, ItemItemKind, BlendKind)
}


def serving_kind(name: str) -> type[ServingKind]:
    """The kind class called ``name``.

    Raises:
        ValueError: An unknown kind, with the valid names.
    """
    try:
        return SERVING_KINDS[name]
    except KeyError:
        valid = ", ".join(sorted(SERVING_KINDS))
        raise ValueError(f"unknown serving kind {name!r} (valid kinds: {valid})") from None

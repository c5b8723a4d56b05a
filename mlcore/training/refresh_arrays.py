"""Re-index a published model's arrays to a refreshed dataset and splice in folded users.

A refresh keeps the item side of every backend frozen: item arrays are gathered
from the published model in the refreshed dataset's item order (items gone from the
export drop out; items a backend can place from features are appended by it),
users whose data did not change keep their rows, and folded-in users get the rows
their backend computed. The arrays on the user or item axis are known per serving
kind; every other array of a member (e.g. its ``fold_in_*`` arrays) passes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mlcore.interfaces import FoldedUsers, ServingArrays
from mlcore.serving import blend, item_item, neighbours

#: Arrays every artifact has beside its serving arrays (rebuilt when publishing).
SHARED = frozenset(
    {
        "user_id_bytes",
        "user_id_offsets",
        "item_id_bytes",
        "item_id_offsets",
        "user_ids",
        "item_ids",
        "type_offsets",
        "item_unit",
        "positives_indptr",
        "positives_indices",
        "item_popularity",
        "user_digest",
    }
)
_ITEM_VECTORS = ("item_factors", "item_bias")
_USER_VECTORS = ("user_factors", "user_bias")


@dataclass(frozen=True)
class Member:
    """One model of a published artifact: its serving kind and its own arrays."""

    kind: str
    arrays: Mapping[str, np.ndarray]


def members_of(
    kind: str, arrays: Mapping[str, np.ndarray]
) -> tuple[list[Member], list[float] | None]:
    """The models of an artifact (a blend's members, or the model itself) and the
    blend weights (None when it is not a blend)."""
    if kind != blend.KIND:
        return [Member(kind, {k: v for k, v in arrays.items() if k not in SHARED})], None
    kinds = np.asarray(arrays[blend.KINDS]).tolist()
    members = [
        Member(
            str(name), {k: v for k, v in blend.member_arrays(arrays, i).items() if k not in SHARED}
        )
        for i, name in enumerate(kinds)
    ]
    return members, [float(w) for w in np.asarray(arrays[blend.WEIGHTS])]


@dataclass(frozen=True)
class ItemMap:
    """Where each refreshed item comes from.

    Attributes:
        rows: (I,) int64 base row of each refreshed item, -1 for an item placed new.
        n_base: Items of the published model.
    """

    rows: np.ndarray
    n_base: int

    @property
    def unchanged(self) -> bool:
        return self.rows.shape[0] == self.n_base and bool(
            np.array_equal(self.rows, np.arange(self.n_base))
        )

    def new_column(self) -> np.ndarray:
        """(n_base,) int64 refreshed column of each base item, -1 when it dropped out."""
        columns = np.full(self.n_base, -1, dtype=np.int64)
        known = self.rows >= 0
        columns[self.rows[known]] = np.flatnonzero(known)
        return columns


def reindex_items(
    member: Member, items: ItemMap, placed: tuple[np.ndarray, np.ndarray] | None
) -> Member:
    """``member`` with its item axis in refreshed order; ``placed`` holds the (factors,
    bias) of the new items (rows -1), in their order."""
    if items.unchanged:
        return member
    arrays = dict(member.arrays)
    known = items.rows >= 0
    for name, new in zip(_ITEM_VECTORS, placed or (None, None), strict=True):
        base = np.asarray(arrays[name])
        out = np.zeros((items.rows.shape[0], *base.shape[1:]), dtype=np.float32)
        out[known] = base[items.rows[known]]
        if new is not None:
            out[~known] = new
        arrays[name] = out
    if not known.all() and (item_item.WEIGHTS in arrays or neighbours.SIMILARITY[0] in arrays):
        raise ValueError(f"serving kind {member.kind!r} cannot take new items")
    if item_item.WEIGHTS in arrays:
        arrays[item_item.WEIGHTS] = np.ascontiguousarray(
            np.asarray(arrays[item_item.WEIGHTS])[np.ix_(items.rows, items.rows)]
        )
    if neighbours.SIMILARITY[0] in arrays:
        similarity = neighbours.csr_from_arrays(arrays, neighbours.SIMILARITY, items.n_base)
        arrays.update(
            neighbours.csr_arrays(similarity[items.rows][:, items.rows], neighbours.SIMILARITY)
        )
    if neighbours.USER_ITEMS[0] in arrays:
        user_items = neighbours.csr_from_arrays(arrays, neighbours.USER_ITEMS, items.n_base)
        arrays.update(
            neighbours.csr_arrays(
                remap_columns(user_items, items.new_column(), items.rows.shape[0]),
                neighbours.USER_ITEMS,
            )
        )
    return Member(member.kind, arrays)


def remap_columns(matrix: sp.csr_matrix, columns: np.ndarray, n_columns: int) -> sp.csr_matrix:
    """``matrix`` with column c moved to ``columns[c]`` (dropped where -1)."""
    coo = sp.coo_matrix(matrix)
    target = columns[coo.col]
    keep = target >= 0
    result = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], target[keep])), shape=(matrix.shape[0], n_columns)
    )
    result.sort_indices()
    return result


def splice_users(
    member: Member, rows: np.ndarray, changed: np.ndarray, folded: FoldedUsers
) -> ServingArrays:
    """The member's serving arrays for the refreshed users.

    Args:
        member: Item axis already refreshed (:func:`reindex_items`).
        rows: (U,) base row of each refreshed user (-1: new).
        changed: (U,) bool, the users in ``folded`` (in that order).
        folded: The backend's rows for the changed users.
    """
    arrays = dict(member.arrays)
    kept = np.flatnonzero(~changed)
    order = np.concatenate([kept, np.flatnonzero(changed)])
    position = np.empty(rows.shape[0], dtype=np.int64)
    position[order] = np.arange(rows.shape[0])
    out: dict[str, np.ndarray] = {}
    for name, new in zip(_USER_VECTORS, (folded.user_factors, folded.user_bias), strict=True):
        base = np.asarray(arrays.pop(name))
        stacked = np.concatenate([base[rows[kept]], np.asarray(new, dtype=np.float32)])
        out[name] = np.ascontiguousarray(stacked[position], dtype=np.float32)
    if neighbours.USER_ITEMS[0] in arrays:
        n_items = np.asarray(arrays["item_bias"]).shape[0]
        base_rows = neighbours.csr_from_arrays(arrays, neighbours.USER_ITEMS, n_items)[rows[kept]]
        if folded.user_items is None:
            raise ValueError(f"serving kind {member.kind!r} needs folded user_items rows")
        stacked_items = sp.vstack([base_rows, sp.csr_matrix(folded.user_items)], format="csr")
        arrays.update(neighbours.csr_arrays(stacked_items[position], neighbours.USER_ITEMS))
    return ServingArrays(
        kind=member.kind,
        user_factors=out["user_factors"],
        user_bias=out["user_bias"],
        item_factors=np.asarray(arrays.pop("item_factors")),
        item_bias=np.asarray(arrays.pop("item_bias")),
        extra=arrays,
    )

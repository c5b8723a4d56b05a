"""The base of serving kinds: how one family of exported arrays turns into scores.

A serving kind is one small class over a tenant's arrays (usually memory-mapped
read-only). The same class scores one user for ``/user-items``, a batch of users
for evaluation and the legacy ``i2u`` files, and items against items for
``/similar-items`` and ``i2i``, so each score formula is written once. The table
of kinds is :mod:`mlcore.serving.kinds`; adding a kind is one new module there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

#: Arrays every kind has, with the axis their rows follow.
BASE_ROWS = {"user_factors": "users", "user_bias": "users", "item_factors": "items", "item_bias": "items"}


#: Elements checked at a time by :func:`all_finite` (bounds its temporary array).
_FINITE_BLOCK = 1 << 20


def all_finite(array: np.ndarray) -> bool:
    """Whether no element is NaN or infinite, in blocks (a 1 GB memory map needs no 1 GB mask)."""
    flat = np.asarray(array).reshape(-1)
    if flat.dtype.kind not in "fc":
        return True
    return all(
        bool(np.isfinite(flat[start : start + _FINITE_BLOCK]).all())
        for start in range(0, flat.shape[0], _FINITE_BLOCK)
    )


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """(I, d) float32 ``vectors`` scaled to unit length; zero rows stay zero."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class ServingKind(ABC):
    """Scores of one kind of serving arrays.

    Args:
        arrays: The named arrays of an artifact or of :meth:`ServingArrays.named_arrays`.
    """

    #: The ``kind`` string in :class:`~mlcore.interfaces.ServingArrays` and the manifest.
    name: ClassVar[str]

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.arrays = arrays

    @classmethod
    def check(cls, arrays: Mapping[str, np.ndarray], n_users: int, n_items: int) -> None:
        """Check that ``arrays`` hold a consistent model of ``n_users`` × ``n_items``.

        The base checks the factor arrays' rows and widths and that no score input is
        NaN or infinite; kinds with more arrays extend it.

        Raises:
            ValueError: Naming the missing, misshapen or non-finite array.
        """
        rows = {"users": n_users, "items": n_items}
        for name, axis in BASE_ROWS.items():
            if name not in arrays:
                raise ValueError(f"serving array {name} is missing")
            if arrays[name].shape[0] != rows[axis]:
                raise ValueError(
                    f"serving array {name} has {arrays[name].shape[0]} rows, expected {rows[axis]}"
                )
        if arrays["user_factors"].ndim != 2 or arrays["item_factors"].ndim != 2:
            raise ValueError("user_factors and item_factors must be 2-dimensional")
        if arrays["user_factors"].shape[1] != arrays["item_factors"].shape[1]:
            raise ValueError("user_factors and item_factors have different widths")
        for name in BASE_ROWS:
            if not all_finite(arrays[name]):
                raise ValueError(f"serving array {name} contains NaN or infinite values")

    @classmethod
    def derived_arrays(cls, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Arrays computed once when a model is published: ``item_unit`` for every kind."""
        return {"item_unit": unit_rows(arrays["item_factors"])}

    @abstractmethod
    def user_scores(self, user: int, items: slice) -> np.ndarray:
        """(len(items),) float32 scores of one user over an item slice (a new array)."""

    @abstractmethod
    def batch_scores(self, users: np.ndarray) -> np.ndarray:
        """(B, I) float32 scores of the user rows ``users`` over every item."""

    @abstractmethod
    def similarity_rows(self, items: np.ndarray, window: slice) -> np.ndarray:
        """(B, len(window)) float32 similarity of each of ``items`` to the items of ``window``.

        ``-inf`` where the model knows no relation (no neighbour, no direction).
        """

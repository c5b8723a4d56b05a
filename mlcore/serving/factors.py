"""Serving kind ``"factors"``: score = user · item + user bias + item bias.

LightFM, ALS, BPR and popularity (width-1 zero factors, scores in the item bias)
export this kind. Similar items are the cosine of the item vectors, stored unit
length at publishing as ``item_unit``.
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar

import numpy as np

from mlcore.serving.kind import ServingKind, unit_rows


class FactorsKind(ServingKind):
    """Dot product of user and item vectors plus both biases."""

    name: ClassVar[str] = "factors"

    def user_scores(self, user: int, items: slice) -> np.ndarray:
        arrays = self.arrays
        result = arrays["item_factors"][items] @ arrays["user_factors"][user]
        result += arrays["item_bias"][items]
        result += arrays["user_bias"][user]
        return np.asarray(result, dtype=np.float32)

    def batch_scores(self, users: np.ndarray) -> np.ndarray:
        arrays = self.arrays
        result = np.asarray(arrays["user_factors"])[users] @ np.asarray(arrays["item_factors"]).T
        result += np.asarray(arrays["item_bias"])[None, :]
        result += np.asarray(arrays["user_bias"])[users, None]
        return np.asarray(result, dtype=np.float32)

    @cached_property
    def _unit(self) -> np.ndarray:
        unit = self.arrays.get("item_unit")
        return np.asarray(unit) if unit is not None else unit_rows(self.arrays["item_factors"])

    @cached_property
    def _has_direction(self) -> np.ndarray:
        return np.any(self._unit != 0, axis=1)

    def similarity_rows(self, items: np.ndarray, window: slice) -> np.ndarray:
        unit = self._unit
        if items.shape[0] == 1:
            # One query (``/similar-items``): a matrix-vector product, as it always was.
            values = np.asarray(unit[window] @ unit[int(items[0])], dtype=np.float32)[None, :]
        else:
            values = np.asarray(unit[items] @ unit[window].T, dtype=np.float32)
        values[:, ~self._has_direction[window]] = -np.inf
        values[~self._has_direction[items], :] = -np.inf
        return values

"""Baselines measured beside our recommenders: LightFM out of the box (and the shared LightFM glue).

``LightFM out of the box`` is what a developer gets from the library's README:
``LightFM(loss="warp", no_components=30)`` fitted for 30 epochs on the binary
interaction matrix, no features, no sample weights, no tuning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.errors import NotFittedError
from mlcore.interfaces import ServingArrays


def lightfm_serving(
    model: Any, user_features: sp.csr_matrix | None, item_features: sp.csr_matrix | None
) -> ServingArrays:
    """Serving arrays of a fitted LightFM model (feature sums included)."""
    user_bias, user_factors = model.get_user_representations(user_features)
    item_bias, item_factors = model.get_item_representations(item_features)
    return ServingArrays(
        kind="factors",
        user_factors=np.ascontiguousarray(user_factors, dtype=np.float32),
        user_bias=np.ascontiguousarray(user_bias, dtype=np.float32),
        item_factors=np.ascontiguousarray(item_factors, dtype=np.float32),
        item_bias=np.ascontiguousarray(item_bias, dtype=np.float32),
    )


class LightFMOutOfTheBox:
    """LightFM with the library's defaults: WARP, 30 components, 30 epochs, no features.

    Args:
        seed: ``random_state`` of the model.
        num_threads: Training threads (deterministic only with 1).
        epochs: Training epochs (30 out of the box).
        no_components: Embedding size (30 out of the box).
    """

    name = "lightfm-out-of-the-box"

    def __init__(
        self, *, seed: int = 42, num_threads: int = 1, epochs: int = 30, no_components: int = 30
    ) -> None:
        self.seed = seed
        self.num_threads = num_threads
        self.epochs = epochs
        self.no_components = no_components
        self._model: Any = None

    def fit(self, dataset: Dataset) -> Self:
        from lightfm import LightFM

        self._model = LightFM(loss="warp", no_components=self.no_components, random_state=self.seed)
        self._model.fit(
            dataset.interactions.tocoo(), epochs=self.epochs, num_threads=self.num_threads
        )
        return self

    def export(self) -> ServingArrays:
        if self._model is None:
            raise NotFittedError(f"{self.name} used before fit()")
        return lightfm_serving(self._model, None, None)

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": self.name,
            "loss": "warp",
            "no_components": self.no_components,
            "epochs": self.epochs,
        }

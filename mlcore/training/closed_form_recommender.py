"""The shell the closed-form item-item recommenders (``ease``, ``sequence``) share.

Their options, seed and BLAS threads, the ``Budgeted`` deadline in CPU seconds and a
cost check before each solve (:func:`mlcore.training.closed_form.predicted_seconds`),
their serving arrays (kind ``item_item`` or ``neighbours``, with the fold-in arrays),
``describe``, and the settings of their λ searches (one solve and one score per trial).
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
import scipy.sparse as sp

from mlcore.errors import BudgetError, NotFittedError
from mlcore.interfaces import ServingArrays
from mlcore.serving.item_item import item_item_arrays
from mlcore.training.closed_form import predicted_seconds
from mlcore.training.fold_in import fold_in_arrays
from mlcore.training.tuning import StudyConfig


class ClosedFormOptions(Protocol):
    """What :class:`ClosedFormRecommender` reads of a plugin's options (a dataclass)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def max_items(self) -> int: ...

    @property
    def top_k(self) -> int: ...


OptionsT = TypeVar("OptionsT", bound=ClosedFormOptions)


class ClosedFormRecommender(ABC, Generic[OptionsT]):
    """What the closed-form item-item recommenders (``ease``, ``sequence``) share: their
    options, seed and BLAS threads, the ``Budgeted`` deadline in CPU seconds,
    ``describe``, and the study of their λ searches (one solve and one score per trial).

    Args:
        options: The plugin's options (a dataclass).
        seed: Seed of the search and of the validation sample.
        num_threads: BLAS threads of the solve.
        clock: CPU seconds of the process (the time budget; injectable for tests).
    """

    backend: ClassVar[str] = ""
    #: (I, I) float32 weights and (U, I) query rows, set by ``fit`` and ``tune``.
    weights_: np.ndarray
    user_items_: sp.csr_matrix

    def __init__(
        self,
        options: OptionsT,
        *,
        seed: int = 42,
        num_threads: int = 1,
        clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.options = options
        self.seed = seed
        self.num_threads = num_threads
        self.clock = clock
        self._deadline: float | None = None

    def set_time_budget(self, seconds: float) -> None:
        """Fit ``tune`` and the next ``fit`` into ``seconds`` CPU seconds from now."""
        self._deadline = self.clock() + max(seconds, 0.0)

    def _remaining(self) -> float:
        return math.inf if self._deadline is None else self._deadline - self.clock()

    def check_solve_fits(self, n_active: int, product_columns: int = 0) -> None:
        """Refuse a solve that is predicted (:func:`predicted_seconds`) not to fit what the
        time budget leaves, before any work.

        Raises:
            BudgetError: Naming the predicted and the remaining CPU seconds.
        """
        needed = predicted_seconds(n_active, self.num_threads, product_columns)
        if needed > self._remaining():
            raise BudgetError(
                f"{self.backend}: one fit of {n_active:,} items is predicted to take "
                f"{needed:.0f} CPU s, {max(self._remaining(), 0.0):.0f} s are left"
            )

    def export(self) -> ServingArrays:
        """The fitted ``weights_`` and ``user_items_`` as item-item serving arrays, with
        the fold-in arrays of :meth:`fold_in_params`."""
        if not hasattr(self, "weights_"):
            raise NotFittedError(f"{self.backend} recommender used before fit()")
        fold_in = fold_in_arrays(self.backend, self.fold_in_params())
        return item_item_arrays(self.weights_, self.user_items_, self.options.top_k, fold_in)

    @abstractmethod
    def fold_in_params(self) -> dict[str, Any]:
        """The options a fold-in needs to build a user's query row as a fit does."""

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": self.backend,
            "algorithm": self.backend,
            "options": json.loads(json.dumps(asdict(self.options))),  # tuples as lists
            "num_threads": self.num_threads,
        }

    def study_config(self, tenant: str, *, trials: int, timeout: float, seed: int) -> StudyConfig:
        """The search's settings: one checkpoint per trial, no pruning."""
        return StudyConfig(
            trials=trials,
            timeout=timeout,
            seed=seed,
            study_name=f"{tenant}-{self.backend}-{time.time_ns()}",
            patience=1,
            pruner="none",
            min_resource=1,
            epochs_key="checkpoint",
            components_key="checkpoint",
        )

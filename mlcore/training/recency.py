"""Recency weighting of interactions: recent behaviour counts more.

Every backend that takes interaction weights can multiply them by
``0.5 ** (age / half_life)``, where ``age`` is measured per user back from that
user's newest interaction, either

* ``"time"``: in days before the newest interaction, or
* ``"position"``: in interactions counted back from it (the newest has age 0,
  the one before it age 1, ...; ties in time are broken by item index, as in
  :func:`mlcore.training.splits.temporal_split`).

``"off"`` leaves the weights as they are. Learning content goes stale and tastes
drift, but whether that helps a tenant is an empirical question, so backends tune
the kind and the half-life (``"off"`` included) on the temporal validation split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset

RecencyKind = Literal["off", "time", "position"]
RECENCY_KINDS: tuple[RecencyKind, ...] = ("off", "time", "position")
SECONDS_PER_DAY = 86_400.0
#: Smallest multiplier: older interactions keep this weight instead of decaying into
#: float32 subnormals (which make BLAS factorisations many times slower).
FLOOR = 1e-6


@dataclass(frozen=True)
class Recency:
    """How interactions are weighted by their age.

    Attributes:
        kind: ``"off"``, ``"time"`` (age in days) or ``"position"`` (age in
            interactions counted back from the user's newest).
        half_life: Age at which an interaction weighs half as much as the newest
            (days or positions; must be > 0 unless ``kind`` is ``"off"``).
    """

    kind: RecencyKind = "off"
    half_life: float = 40.0

    def __post_init__(self) -> None:
        if self.kind not in RECENCY_KINDS:
            raise ValueError(f"recency kind must be one of {', '.join(RECENCY_KINDS)}")
        if self.kind != "off" and not self.half_life > 0:
            raise ValueError(f"recency half_life must be > 0, got {self.half_life}")

    def multipliers(self, dataset: Dataset) -> np.ndarray:
        """(N,) float32 factor of each interaction of ``dataset``, in its storage order.

        Each factor is in [:data:`FLOOR`, 1]; each user's newest interaction gets 1.
        """
        if self.kind == "off" or dataset.n_interactions == 0:
            return np.ones(dataset.n_interactions, dtype=np.float32)
        age = _ages(dataset, self.kind)
        return np.maximum(np.power(0.5, age / self.half_life), FLOOR).astype(np.float32)

    def weighted(self, dataset: Dataset, weights: sp.csr_matrix | None = None) -> sp.csr_matrix:
        """(U, I) float32 CSR: ``weights`` (default ``dataset.weights``) times the multipliers."""
        base = dataset.weights if weights is None else weights
        if self.kind == "off":
            return sp.csr_matrix(base, dtype=np.float32)
        factors = sp.csr_matrix(
            (self.multipliers(dataset), (dataset.user_index, dataset.item_index)),
            shape=dataset.shape,
            dtype=np.float32,
        )
        result = sp.csr_matrix(base, dtype=np.float32).multiply(factors).tocsr()
        result.sort_indices()
        return result

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "half_life": self.half_life}


def suggest_recency(
    trial: Any,
    kinds: Sequence[str],
    bounds: tuple[float, float] | Mapping[str, tuple[float, float]],
) -> dict[str, Any]:
    """Draw a recency kind and, unless ``off``, its half-life with an Optuna ``trial``.

    Returns option values (``recency``, ``recency_half_life``); the half-life of each kind
    is its own search parameter (``recency_half_life_<kind>``: positions and days differ).
    """
    kind = trial.suggest_categorical("recency", list(kinds))
    params: dict[str, Any] = {"recency": kind}
    if kind != "off":
        low, high = bounds[kind] if isinstance(bounds, Mapping) else bounds
        params["recency_half_life"] = trial.suggest_float(
            f"recency_half_life_{kind}", low, high, log=True
        )
    return params


def recency_trial(kind: str, half_life: float) -> dict[str, Any]:
    """The search parameters of one recency setting (to enqueue it as a trial)."""
    if kind == "off":
        return {"recency": kind}
    return {"recency": kind, f"recency_half_life_{kind}": half_life}


def _ages(dataset: Dataset, kind: RecencyKind) -> np.ndarray:
    """(N,) float64 age of each interaction, per user, back from the user's newest."""
    users = dataset.user_index.astype(np.int64)
    if kind == "time":
        newest = np.full(dataset.n_users, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(newest, users, dataset.timestamps)
        return (newest[users] - dataset.timestamps).astype(np.float64) / SECONDS_PER_DAY
    order = np.lexsort((dataset.item_index, dataset.timestamps, users))
    counts = np.bincount(users, minlength=dataset.n_users)
    ends = np.cumsum(counts)
    # Sorted by user then time: age = (last position of the user) - position.
    age_sorted = ends[users[order]] - 1 - np.arange(order.shape[0])
    ages = np.empty(order.shape[0], dtype=np.float64)
    ages[order] = age_sorted
    return ages

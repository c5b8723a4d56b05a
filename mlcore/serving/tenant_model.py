"""Answer recommendation queries from a published artifact with numpy only.

A :class:`TenantModel` wraps one tenant's (usually memory-mapped) arrays. Every
query is one matrix-vector product over a contiguous slice of items plus a top-n
selection: no model library is imported, so web workers stay small and safe to fork.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from mlcore.dataset import Ids
from mlcore.interfaces import ModelArtifact
from mlcore.item_types import COMPONENT_INDEX, COMPONENTS, FAMILIES
from mlcore.serving.artifact import SUCCESS, artifact_ids, check_shared_arrays
from mlcore.serving.kind import ServingKind
from mlcore.serving.kinds import serving_kind
from mlcore.serving.ranking import top_n

SeenPolicy = Literal["exclude", "downrank"]


@dataclass(frozen=True)
class Fallback:
    """Why a worker serves a kept version instead of the tenant's current one.

    Attributes:
        current: The current version that could not be served.
        reason: Why (the load or check error).
    """

    current: str
    reason: str


@dataclass(frozen=True)
class Recommendation:
    """One ranked item: its prefixed Totara id and score."""

    item_id: str
    score: float


class TenantModel:
    """Queries over one tenant's published model.

    Args:
        artifact: From a model store; arrays may be read-only memory maps.
        version: The store's version id, reported by ``/health-check``.
        fallback: Set when this kept version stands in for a broken current one.
    """

    def __init__(
        self, artifact: ModelArtifact, version: str = "", fallback: Fallback | None = None
    ) -> None:
        self.manifest: Mapping[str, Any] = artifact.manifest
        self.arrays: Mapping[str, np.ndarray] = artifact.arrays
        self.version = version
        self.fallback = fallback

    def with_fallback(self, fallback: Fallback) -> TenantModel:
        """This model (sharing its arrays and lookups) standing in for a broken version."""
        stand_in = copy.copy(self)
        stand_in.fallback = fallback
        return stand_in

    def check(self) -> None:
        """Refuse a trained model whose arrays disagree with each other or are not finite.

        The serving kind's own check (factor rows and widths, NaN or infinite scores)
        plus the arrays every kind shares: ids, type offsets, positives, popularity
        and unit item vectors. Reads every array once.

        Raises:
            ValueError: Naming the array and what is wrong.
        """
        if not self.trained:
            return
        arrays = self.arrays
        n_users, n_items = len(self.user_ids), len(self.item_ids)
        for key, count in (("n_users", n_users), ("n_items", n_items)):
            if self.manifest.get(key, count) != count:
                raise ValueError(f"the manifest says {key} {self.manifest[key]}, the ids {count}")
        serving_kind(str(self.manifest.get("kind", "factors"))).check(arrays, n_users, n_items)
        check_shared_arrays(arrays, n_users, n_items)

    @property
    def tenant(self) -> str:
        return str(self.manifest.get("tenant", ""))

    @property
    def message(self) -> str:
        """``"success"`` or the reason the tenant was not trained."""
        return str(self.manifest.get("message", ""))

    @property
    def trained(self) -> bool:
        return self.message == SUCCESS

    @property
    def algorithm(self) -> str:
        return str(self.manifest.get("algorithm", ""))

    @cached_property
    def user_ids(self) -> Ids:
        """The users' Totara ids, row order (format 2 or 1 artifacts)."""
        return artifact_ids(self.arrays, "user")

    @cached_property
    def item_ids(self) -> Ids:
        """The prefixed item ids, row order."""
        return artifact_ids(self.arrays, "item")

    @cached_property
    def _user_rows(self) -> dict[str, int]:
        return self.user_ids.positions()

    @cached_property
    def _item_names(self) -> list[str]:
        return self.item_ids.tolist()

    @cached_property
    def _item_rows(self) -> dict[str, int]:
        return {name: row for row, name in enumerate(self._item_names)}

    def user_row(self, user_id: str) -> int | None:
        """Row of a Totara user id (compared as a string), or None."""
        return self._user_rows.get(user_id) if self.trained else None

    def item_row(self, item_id: str) -> int | None:
        """Row of a prefixed item id, or None."""
        return self._item_rows.get(item_id) if self.trained else None

    def _type_slice(self, component: str) -> slice:
        offsets = self.arrays["type_offsets"]
        index = COMPONENT_INDEX[component]
        return slice(int(offsets[index]), int(offsets[index + 1]))

    def _family_slice(self, component: str) -> slice:
        # Families are adjacent components in COMPONENTS order (articles: 2 and 3).
        members = [COMPONENT_INDEX[name] for name in FAMILIES[component]]
        offsets = self.arrays["type_offsets"]
        return slice(int(offsets[min(members)]), int(offsets[max(members) + 1]))

    def _positives(self, user: int) -> np.ndarray:
        indptr = self.arrays["positives_indptr"]
        return np.asarray(self.arrays["positives_indices"][indptr[user] : indptr[user + 1]])

    @cached_property
    def kind(self) -> ServingKind:
        """The scorer of this model's serving kind (``"factors"`` for old manifests)."""
        return serving_kind(str(self.manifest.get("kind", "factors")))(self.arrays)

    def scores(self, user: int, items: slice) -> np.ndarray:
        """(len(items),) float32 model scores of one user over an item slice."""
        return self.kind.user_scores(user, items)

    def recommend(
        self, user: int, component: str, n: int, *, seen: SeenPolicy = "exclude"
    ) -> list[Recommendation]:
        """Top ``n`` items of ``component`` for a known user row.

        Args:
            user: Row from :meth:`user_row`.
            component: One of :data:`COMPONENTS`.
            n: Maximum number of items.
            seen: ``"exclude"`` drops the user's positive items (contract §13.5);
                ``"downrank"`` is the original's: positives lose ``0.5 × (max − min)``
                of the other items' scores, over all items (§9.1.4).
        """
        if n <= 0:
            return []
        window = self._type_slice(component)
        positives = self._positives(user)
        if seen == "downrank":
            full = self.scores(user, slice(0, len(self._item_names)))
            if positives.size and positives.size < full.size:
                others = np.delete(full, positives)
                full[positives] -= np.float32(0.5) * (others.max() - others.min())
            values = full[window]
        else:
            values = self.scores(user, window)
            inside = positives[(positives >= window.start) & (positives < window.stop)]
            values[inside - window.start] = -np.inf
        return self._ranked(values, window.start, n)

    def popular(self, component: str, n: int) -> list[Recommendation]:
        """The most-interacted items of ``component`` (the unknown-user fallback, §13.4).

        Scores are each item's share of the tenant's interactions.
        """
        if n <= 0:
            return []
        window = self._type_slice(component)
        counts = np.asarray(self.arrays["item_popularity"][window], dtype=np.float64)
        total = float(self.arrays["item_popularity"].sum()) or 1.0
        return self._ranked(counts / total, window.start, n)

    def similar(self, item: int, n: int) -> list[Recommendation]:
        """Top ``n`` items of the query item's family, the item itself excluded (§9.2).

        Each serving kind says how similar items are (factor models: cosine of item
        vectors; ``"neighbours"``: the stored item-item similarity); items the model
        knows no relation to score 0, after the related ones.
        """
        if n <= 0:
            return []
        component = COMPONENTS[
            int(np.searchsorted(self.arrays["type_offsets"], item, side="right")) - 1
        ]
        window = self._family_slice(component)
        values = self.kind.similarity_rows(np.array([item]), window)[0]
        values[np.isneginf(values)] = 0.0
        values[item - window.start] = -np.inf
        return self._ranked(values, window.start, n)

    def _ranked(self, values: np.ndarray, start: int, n: int) -> list[Recommendation]:
        chosen = top_n(values, n)
        names = self._item_names
        rows = (start + chosen).tolist()
        scores = values[chosen].astype(np.float64).tolist()
        return [Recommendation(names[r], s) for r, s in zip(rows, scores, strict=True)]

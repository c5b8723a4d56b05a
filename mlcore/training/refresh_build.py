"""Build a refreshed model: a published model with changed users folded in.

:meth:`RefreshBuilder.build` compares a refreshed dataset with the model serving it
(users by :meth:`~mlcore.dataset.Dataset.user_digests`, items by id), asks each
backend of the model (each member of a blend) for the new rows of the users whose
data changed against its frozen item side (:class:`~mlcore.interfaces.FoldsIn`),
and packages the result like a training run, with ``"refresh": true`` in the
manifest. New items join only when every backend can place them from features
(LightFM ``partial``/``hybrid``); otherwise they stay out until the next full
retrain and the manifest counts them as ``items_left_out``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlcore.dataset import Dataset
from mlcore.errors import MLCoreError
from mlcore.interfaces import (
    FoldInRequest,
    FoldsIn,
    ModelArtifact,
    NewItemsFromFeatures,
    Recommender,
)
from mlcore.serving.artifact import SUCCESS, artifact_ids, build_artifact
from mlcore.serving.blend import blend_arrays
from mlcore.training.fold_in import stored_fold_in, with_items, with_users
from mlcore.training.refresh_arrays import ItemMap, Member, members_of, reindex_items, splice_users

#: Manifest entries of the base model a refreshed model keeps.
KEPT_MANIFEST = (
    "seed",
    "validation",
    "tuning",
    "recommender",
    "requested_recommender",
    "selection",
)


class RefreshUnsupported(MLCoreError):  # noqa: N818 - says why, like the other domain errors
    """The published model cannot be refreshed (the message says why and what to do)."""


@dataclass(frozen=True, eq=False)
class RefreshedModel:
    """What a refresh would publish and what changed.

    Attributes:
        artifact: The model to publish; None when nothing changed.
        counts: ``users_changed``, ``users_new``, ``users_removed``, ``items_new``,
            ``items_removed`` and ``items_left_out``.
        fold_in_seconds: Time spent in the backends' fold-in.
        seconds_by_backend: The same by backend (a blend's members).
    """

    artifact: ModelArtifact | None
    counts: Mapping[str, int] = field(default_factory=dict)
    fold_in_seconds: float = 0.0
    seconds_by_backend: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Backend:
    name: str
    params: Mapping[str, Any]
    recommender: FoldsIn


class RefreshBuilder:
    """Folds a refreshed dataset into a published model.

    Args:
        make_recommender: Builds an unfitted recommender by plugin name.
        seed: Seed of the backends' sampling.
        clock: Seconds (fold-in timing).
    """

    def __init__(
        self,
        make_recommender: Callable[[str], Recommender],
        seed: int = 42,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.make_recommender = make_recommender
        self.seed = seed
        self.clock = clock

    def build(self, base: ModelArtifact, base_version: str, dataset: Dataset) -> RefreshedModel:
        """The refreshed model of ``dataset`` on top of ``base``.

        Raises:
            RefreshUnsupported: ``base`` is not a trained model with fold-in arrays.
        """
        check_refreshable(base, base_version)
        manifest = base.manifest
        members, weights = members_of(str(manifest.get("kind", "factors")), base.arrays)
        backends = [self._backend(member) for member in members]
        base_items = artifact_ids(base.arrays, "item")
        dataset, item_rows, placed, left_out = self._place_items(
            dataset, base_items.lookup(dataset.item_ids), members, backends
        )
        items = ItemMap(item_rows, len(base_items))
        members = [reindex_items(m, items, p) for m, p in zip(members, placed, strict=True)]
        user_rows, changed = _changed_users(base, dataset)
        counts = _counts(
            user_rows, changed, len(artifact_ids(base.arrays, "user")), item_rows, len(base_items)
        )
        counts["items_left_out"] = left_out
        if not changed.any() and items.unchanged and counts["users_removed"] == 0:
            return RefreshedModel(None, counts)
        users = with_users(dataset, np.flatnonzero(changed))
        servings, seconds = [], dict[str, float]()
        for member, backend in zip(members, backends, strict=True):
            request = FoldInRequest(
                member.arrays, backend.params, users, user_rows[changed], seed=self.seed
            )
            started = self.clock()
            folded = backend.recommender.fold_in(request)
            seconds[backend.name] = seconds.get(backend.name, 0.0) + self.clock() - started
            servings.append(splice_users(member, user_rows, changed, folded))
        serving = blend_arrays(servings, weights) if weights is not None else servings[0]
        artifact = build_artifact(
            dataset,
            serving,
            backend=str(manifest.get("backend", "")),
            algorithm=str(manifest.get("algorithm", "")),
            details=_details(manifest, base_version, counts, seconds),
        )
        return RefreshedModel(artifact, counts, sum(seconds.values()), seconds)

    def _backend(self, member: Member) -> _Backend:
        stored = stored_fold_in(member.arrays)
        if stored is None:
            raise RefreshUnsupported(
                f"this model's {member.kind!r} arrays carry no fold-in data (published "
                "before refreshes existed); the next full training adds it"
            )
        name, params = stored
        recommender = self.make_recommender(name)
        if not isinstance(recommender, FoldsIn):
            raise RefreshUnsupported(f"recommender {name!r} cannot fold in new users")
        return _Backend(name, params, recommender)

    def _place_items(
        self,
        dataset: Dataset,
        item_rows: np.ndarray,
        members: list[Member],
        backends: list[_Backend],
    ) -> tuple[Dataset, np.ndarray, list[tuple[np.ndarray, np.ndarray] | None], int]:
        """New items placed by every backend, or else left out of ``dataset``."""
        new = item_rows < 0
        if not new.any():
            return dataset, item_rows, [None] * len(members), 0
        only_new = with_items(dataset, new)
        placed: list[tuple[np.ndarray, np.ndarray] | None] = []
        for member, backend in zip(members, backends, strict=True):
            recommender = backend.recommender
            answer = (
                recommender.new_items(member.arrays, backend.params, only_new)
                if isinstance(recommender, NewItemsFromFeatures)
                else None
            )
            if answer is None:
                return (
                    with_items(dataset, ~new),
                    item_rows[~new],
                    [None] * len(members),
                    int(new.sum()),
                )
            placed.append(answer)
        return dataset, item_rows, placed, 0


def check_refreshable(base: ModelArtifact, version: str) -> None:
    """Raise :class:`RefreshUnsupported` unless ``base`` is a trained model with digests."""
    if base.manifest.get("message") != SUCCESS or "user_digest" not in base.arrays:
        raise RefreshUnsupported(
            f"version {version} cannot be refreshed (not trained, or published "
            "before refreshes existed); the next full training replaces it"
        )


def _changed_users(base: ModelArtifact, dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Each user's row in ``base`` (-1: new) and whether their data changed (or is new)."""
    user_rows = artifact_ids(base.arrays, "user").lookup(dataset.user_ids)
    base_digest = np.asarray(base.arrays["user_digest"])
    digest = base_digest[np.maximum(user_rows, 0)]
    return user_rows, (user_rows < 0) | (digest != dataset.user_digests())


def _counts(
    user_rows: np.ndarray, changed: np.ndarray, n_users: int, item_rows: np.ndarray, n_items: int
) -> dict[str, int]:
    return {
        "users_changed": int(changed.sum()),
        "users_new": int((user_rows < 0).sum()),
        "users_removed": n_users - int((user_rows >= 0).sum()),
        "items_new": int((item_rows < 0).sum()),
        "items_removed": n_items - int((item_rows >= 0).sum()),
    }


def _details(
    manifest: Mapping[str, Any],
    base_version: str,
    counts: Mapping[str, int],
    seconds: Mapping[str, float],
) -> dict[str, Any]:
    """The refreshed manifest's entries: the base's validation and selection, and the refresh."""
    details = {key: manifest[key] for key in KEPT_MANIFEST if key in manifest}
    details.update(
        refresh=True,
        base_version=base_version,
        full_version=manifest.get("full_version", base_version),
        full_trained_at=manifest.get("full_trained_at", manifest.get("trained_at")),
        refresh_counts=dict(counts),
        fold_in_seconds=sum(seconds.values()),
        fold_in_seconds_by_backend=dict(seconds),
    )
    return details

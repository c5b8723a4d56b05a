"""Turn a trained tenant into a :class:`ModelArtifact` (arrays + JSON manifest).

Array names (all contiguous, no object dtype, so ``np.load(allow_pickle=False)``):

========================  ===============  =============================================
name                      shape, dtype     meaning
========================  ===============  =============================================
``user_id_bytes``         (Bu,) uint8      Totara user ids, row order, UTF-8 back to back
``user_id_offsets``       (U+1,) int64     user ``u`` is ``bytes[offsets[u]:offsets[u+1]]``
``item_id_bytes``         (Bi,) uint8      prefixed item ids, grouped by component
``item_id_offsets``       (I+1,) int64     likewise (:class:`~mlcore.dataset.Ids`)
``type_offsets``          (6,) int64       items of component c: ``[o[c], o[c+1])``
``user_factors``          (U, d) float32   user representations (feature sums included)
``user_bias``             (U,) float32
``item_factors``          (I, d) float32   item representations
``item_bias``             (I,) float32
``item_unit``             (I, d) float32   ``item_factors`` scaled to unit length
``positives_indptr``      (U+1,) int64     CSR of each user's positive items
``positives_indices``     (P,) int32
``item_popularity``       (I,) float32     interactions per item (fallback ranking)
``user_digest``           (U,) uint64      each user's data digest (finds refresh changes)
========================  ===============  =============================================

Each serving kind (:mod:`mlcore.serving.kinds`) adds its own arrays: kind ``"neighbours"`` (item-item models,
:mod:`mlcore.serving.neighbours`) the CSR arrays ``similarity_indptr/indices/data``
(I×I, top-K neighbours per item) and ``user_items_indptr/indices/data`` (U×I
interaction weights), with factor arrays of width 0 and unused biases.

A tenant skipped for insufficient data has a manifest with its message and no arrays.

Format versions (manifest ``format``): 2 stores ids as above, so their size is
their total length; 1 stored them as fixed-width unicode arrays ``user_ids`` and
``item_ids`` (rows × longest id × 4 bytes). :func:`artifact_ids` reads both, so
models published before still load.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlcore import __version__
from mlcore.dataset import Dataset, Ids
from mlcore.interfaces import ModelArtifact, ServingArrays
from mlcore.item_types import COMPONENTS
from mlcore.serving.kind import BASE_ROWS, all_finite
from mlcore.serving.kinds import serving_kind

FORMAT_VERSION = 2
SUCCESS = "success"
#: Array names of a side's ids in format 2 (``user`` or ``item``).
ID_ARRAYS = "{}_id_bytes", "{}_id_offsets"


def build_artifact(
    dataset: Dataset,
    serving: ServingArrays,
    *,
    backend: str,
    algorithm: str,
    details: Mapping[str, Any],
) -> ModelArtifact:
    """Package a fitted model of ``dataset`` for publishing.

    Args:
        dataset: The full tenant dataset the final model was fitted on.
        serving: The recommender's exported arrays, rows aligned with ``dataset``.
        backend: Recommender plugin name (e.g. ``"lightfm"``).
        algorithm: The mode recorded with the model (e.g. ``"hybrid"``); serving uses
            this, not the current environment (contract §13.12).
        details: More JSON-able manifest entries (tuning, validation, timings, seed).

    Raises:
        ValueError: The arrays do not fit the dataset or their kind (see
            :meth:`~mlcore.serving.kind.ServingKind.check`).
    """
    kind = serving_kind(serving.kind)
    base = {
        name: np.ascontiguousarray(array, dtype=np.float32)
        for name, array in serving.named_arrays().items()
        if name in BASE_ROWS
    }
    extra = {name: np.ascontiguousarray(array) for name, array in serving.extra.items()}
    kind.check({**base, **extra}, dataset.n_users, dataset.n_items)
    positives = dataset.positives
    arrays: dict[str, np.ndarray] = {
        **id_arrays("user", dataset.user_ids),
        **id_arrays("item", dataset.item_ids),
        "type_offsets": dataset.type_offsets.astype(np.int64),
        **base,
        **kind.derived_arrays({**base, **extra}),
        "positives_indptr": positives.indptr.astype(np.int64),
        "positives_indices": positives.indices.astype(np.int32),
        "item_popularity": dataset.item_popularity(),
        "user_digest": dataset.user_digests(),
        **extra,
    }
    manifest = {
        **_common_manifest(dataset.tenant, SUCCESS, algorithm),
        "backend": backend,
        "kind": serving.kind,
        "n_users": dataset.n_users,
        "n_items": dataset.n_items,
        "n_interactions": dataset.n_interactions,
        "dataset_stats": dict(dataset.stats),
        **details,
    }
    return ModelArtifact(manifest=manifest, arrays=arrays)


def id_arrays(side: str, ids: Ids) -> dict[str, np.ndarray]:
    """The two format-2 arrays of one side's ids (``side`` is ``user`` or ``item``)."""
    blob, offsets = (name.format(side) for name in ID_ARRAYS)
    return {blob: np.ascontiguousarray(ids.blob), offsets: np.ascontiguousarray(ids.offsets)}


def artifact_ids(arrays: Mapping[str, np.ndarray], side: str) -> Ids:
    """One side's ids of a published artifact, format 2 or 1.

    Raises:
        ValueError: Format-2 arrays that do not form ids.
        KeyError: No ids of that side.
    """
    blob, offsets = (name.format(side) for name in ID_ARRAYS)
    if blob in arrays:
        return Ids.from_arrays(arrays[blob], arrays[offsets])
    return Ids.of(np.asarray(arrays[f"{side}_ids"]).tolist())  # format 1


def skipped_artifact(
    tenant: str, message: str, *, algorithm: str, details: Mapping[str, Any] | None = None
) -> ModelArtifact:
    """A manifest-only artifact for a tenant that could not be trained (e.g. too small)."""
    return ModelArtifact(
        manifest={**_common_manifest(tenant, message, algorithm), **(details or {})}
    )


def _common_manifest(tenant: str, message: str, algorithm: str) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "tenant": tenant,
        "message": message,
        "algorithm": algorithm,
        "trained_at": time.time(),
        "software_version": __version__,
    }


def check_shared_arrays(arrays: Mapping[str, np.ndarray], n_users: int, n_items: int) -> None:
    """Check the arrays every serving kind shares against ``n_users`` × ``n_items``.

    ``type_offsets`` (non-decreasing from 0 to ``n_items``), the positives CSR (a row
    pointer of ``n_users + 1`` entries, item indices in range), ``item_popularity``
    and ``item_unit`` (one finite row per item). The kind's own arrays are its
    :meth:`~mlcore.serving.kind.ServingKind.check`'s business.

    Raises:
        ValueError: Naming the array and what is wrong.
    """
    offsets = np.asarray(arrays["type_offsets"])
    if (
        offsets.shape != (len(COMPONENTS) + 1,)
        or offsets[0] != 0
        or offsets[-1] != n_items
        or np.any(np.diff(offsets) < 0)
    ):
        raise ValueError(f"type_offsets {offsets.tolist()} do not split {n_items} items")
    _check_positives(arrays, n_users, n_items)
    expected = {"item_popularity": (n_items,), "item_unit": np.shape(arrays["item_factors"])}
    for name, shape in expected.items():
        array = arrays.get(name)
        if array is not None and array.shape != shape:
            raise ValueError(f"{name} has shape {list(array.shape)}, expected {list(shape)}")
        if array is not None and not all_finite(array):
            raise ValueError(f"{name} contains NaN or infinite values")


def _check_positives(arrays: Mapping[str, np.ndarray], n_users: int, n_items: int) -> None:
    indptr, indices = np.asarray(arrays["positives_indptr"]), arrays["positives_indices"]
    if (
        indptr.shape != (n_users + 1,)
        or indptr[0] != 0
        or indptr[-1] != indices.shape[0]
        or np.any(np.diff(indptr) < 0)
    ):
        raise ValueError(f"positives_indptr is not a CSR row pointer of {n_users} users")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= n_items):
        raise ValueError("positives_indices has item indices out of range")

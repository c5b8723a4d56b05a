"""Turn a trained tenant into a :class:`ModelArtifact` (arrays + JSON manifest).

Array names (all contiguous, no object dtype, so ``np.load(allow_pickle=False)``):

========================  ===============  =============================================
name                      shape, dtype     meaning
========================  ===============  =============================================
``user_ids``              (U,) unicode     Totara user ids, row order
``item_ids``              (I,) unicode     prefixed item ids, grouped by component
``type_offsets``          (6,) int64       items of component c: ``[o[c], o[c+1])``
``user_factors``          (U, d) float32   user representations (feature sums included)
``user_bias``             (U,) float32
``item_factors``          (I, d) float32   item representations
``item_bias``             (I,) float32
``item_unit``             (I, d) float32   ``item_factors`` scaled to unit length
``positives_indptr``      (U+1,) int64     CSR of each user's positive items
``positives_indices``     (P,) int32
``item_popularity``       (I,) float32     interactions per item (fallback ranking)
========================  ===============  =============================================

Kind ``"neighbours"`` (item-item models, :mod:`mlcore.neighbours`) adds the CSR arrays
``similarity_indptr/indices/data`` (I×I, top-K neighbours per item) and
``user_items_indptr/indices/data`` (U×I interaction weights); its factor arrays have
width 0 and its biases are unused.

A tenant skipped for insufficient data has a manifest with its message and no arrays.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlcore import __version__, neighbours
from mlcore.dataset import Dataset
from mlcore.interfaces import ModelArtifact, ServingArrays

FORMAT_VERSION = 1
SUCCESS = "success"


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
    """
    item_factors = np.ascontiguousarray(serving.item_factors, dtype=np.float32)
    norms = np.linalg.norm(item_factors, axis=1, keepdims=True)
    item_unit = np.divide(item_factors, norms, out=np.zeros_like(item_factors), where=norms > 0)
    positives = dataset.positives
    arrays: dict[str, np.ndarray] = {
        "user_ids": dataset.user_ids.astype(str),
        "item_ids": dataset.item_ids.astype(str),
        "type_offsets": dataset.type_offsets.astype(np.int64),
        "user_factors": np.ascontiguousarray(serving.user_factors, dtype=np.float32),
        "user_bias": np.ascontiguousarray(serving.user_bias, dtype=np.float32),
        "item_factors": item_factors,
        "item_bias": np.ascontiguousarray(serving.item_bias, dtype=np.float32),
        "item_unit": np.ascontiguousarray(item_unit, dtype=np.float32),
        "positives_indptr": positives.indptr.astype(np.int64),
        "positives_indices": positives.indices.astype(np.int32),
        "item_popularity": dataset.item_popularity(),
    }
    arrays.update({name: np.ascontiguousarray(a) for name, a in serving.extra.items()})
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
    _check_shapes(arrays, dataset, serving.kind)
    return ModelArtifact(manifest=manifest, arrays=arrays)


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


def _check_shapes(arrays: Mapping[str, np.ndarray], dataset: Dataset, kind: str) -> None:
    users, items = dataset.n_users, dataset.n_items
    expected_rows = {
        "user_factors": users,
        "user_bias": users,
        "item_factors": items,
        "item_bias": items,
        "item_unit": items,
    }
    for name, rows in expected_rows.items():
        if arrays[name].shape[0] != rows:
            raise ValueError(
                f"serving array {name} has {arrays[name].shape[0]} rows, expected {rows}"
            )
    if arrays["user_factors"].shape[1] != arrays["item_factors"].shape[1]:
        raise ValueError("user_factors and item_factors have different widths")
    if kind == neighbours.KIND:
        neighbours.check_arrays(arrays, users, items)

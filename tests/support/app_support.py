"""Helpers of the service tests: tiny published models and an in-memory model store."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.interfaces import ModelArtifact, ServingArrays
from mlcore.item_types import COMPONENT_INDEX
from mlcore.serving.artifact import build_artifact, skipped_artifact

#: Items per component of :func:`tiny_artifact`, in COMPONENTS order (ids from 1).
ITEMS = {
    "container_course": 4,
    "container_workspace": 3,
    "engage_article": 5,
    "engage_microlearning": 4,
    "totara_playlist": 3,
}


def tiny_dataset(tenant: str, n_users: int = 12, seed: int = 0) -> Dataset:
    """Users ``"2"``..; items ``<component><k>``; random interactions, some positive.

    Article and microlearning ids do not overlap (articles 1-5, microlearning 101-104),
    as in Totara where both come from one resource table.
    """
    rng = np.random.default_rng(seed)
    item_ids: list[str] = []
    item_types: list[int] = []
    for component, count in ITEMS.items():
        first = 101 if component == "engage_microlearning" else 1
        item_ids += [f"{component}{first + k}" for k in range(count)]
        item_types += [COMPONENT_INDEX[component]] * count
    n_items = len(item_ids)
    pairs = sorted({(int(u), int(i)) for u, i in rng.integers(0, [n_users, n_items], (40, 2))})
    users = np.array([p[0] for p in pairs], dtype=np.int32)
    items = np.array([p[1] for p in pairs], dtype=np.int32)
    empty_users = sp.csr_matrix((n_users, 0), dtype=np.float32)
    empty_items = sp.csr_matrix((n_items, 0), dtype=np.float32)
    return Dataset(
        tenant=tenant,
        user_ids=np.array([str(u + 2) for u in range(n_users)]),
        item_ids=np.array(item_ids),
        item_types=np.array(item_types, dtype=np.int8),
        user_index=users,
        item_index=items,
        ratings=rng.integers(0, 2, users.shape[0]).astype(np.int8),
        timestamps=np.arange(users.shape[0], dtype=np.int64) + 1_700_000_000,
        user_features=empty_users,
        user_feature_names=(),
        item_features=empty_items,
        item_feature_names=(),
    )


def tiny_artifact(tenant: str = "0", seed: int = 0, dim: int = 4) -> ModelArtifact:
    """A trained-looking artifact with random factors over :func:`tiny_dataset`."""
    dataset = tiny_dataset(tenant, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    serving = ServingArrays(
        kind="factors",
        user_factors=rng.normal(size=(dataset.n_users, dim)).astype(np.float32),
        user_bias=rng.normal(size=dataset.n_users).astype(np.float32),
        item_factors=rng.normal(size=(dataset.n_items, dim)).astype(np.float32),
        item_bias=rng.normal(size=dataset.n_items).astype(np.float32),
    )
    details = {
        "validation": {"model": {"ndcg": 0.25}, "popularity": {"ndcg": 0.125}, "promoted": "x"},
        "requested_recommender": "x",
        "seed": seed,
    }
    return build_artifact(dataset, serving, backend="x", algorithm="hybrid", details=details)


def untrained_artifact(tenant: str) -> ModelArtifact:
    """A tenant skipped for insufficient data."""
    message = f"The number of users or items is too small to run the recommendation engine. Skipping tenant {tenant}"
    return skipped_artifact(tenant, message, algorithm="hybrid")


NOW = 1_700_000_000.0
KEY = "test-shared-key"
TOTARA_HEADERS = {"User-Agent": "TotaraBot/1.0"}


def totara_headers(key: str = KEY, now: float = NOW, offset: int = 0) -> dict[str, str]:
    """Headers as Totara sends them (§3.2): mixed-case names, integer time, bot agent."""
    from mlcore.totara.token import make_token

    time_string = str(int(now) + offset)
    return {
        **TOTARA_HEADERS,
        "X-Totara-Time": time_string,
        "X-Totara-Ml-Key": make_token(time_string, key),
    }


def signed_get(client: Any, path: str, query: str = "", key: str = KEY) -> dict[str, object]:
    """GET through Falcon's test client with a fresh token; the answer must be 200 JSON."""
    result = client.simulate_get(path, query_string=query, headers=totara_headers(key, time.time()))
    assert result.status_code == 200, result.text
    body = result.json
    assert isinstance(body, dict)
    return body

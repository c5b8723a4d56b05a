"""GET /similar-items: fallback, family filter, envelopes (contract §4.4, §9.2, §13.14)."""

from __future__ import annotations

import falcon.testing
import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.item_types import FAMILIES, split_item_id
from mlcore.serving.artifact import artifact_ids
from service.app import create_app
from service.score_format import format_score
from tests.support.app_support import (
    KEY,
    NOW,
    tiny_artifact,
    totara_headers,
    untrained_artifact,
)
from tests.support.memory_store import MemoryModelStore


@pytest.fixture()
def store() -> MemoryModelStore:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0", seed=0))
    store.publish("2", untrained_artifact("2"))
    return store


@pytest.fixture()
def client(store: MemoryModelStore) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(Settings(totara_key=KEY), store, clock=lambda: NOW))


def get(client: falcon.testing.TestClient, query: str) -> falcon.testing.Result:
    return client.simulate_get("/similar-items", query_string=query, headers=totara_headers())


def reference(store: MemoryModelStore, item_id: str) -> list[list[str]]:
    """Cosine over the raw item factors, family members only, the item itself dropped."""
    arrays = store.load("0").arrays
    item_ids = artifact_ids(arrays, "item").tolist()
    ids = [str(i) for i in item_ids]
    factors = arrays["item_factors"].astype(np.float64)
    query = factors[ids.index(item_id)]
    family = FAMILIES[split_item_id(item_id)[0]]
    rows = []
    for index, other in enumerate(ids):
        if other == item_id or split_item_id(other)[0] not in family:
            continue
        cosine = factors[index] @ query / (np.linalg.norm(factors[index]) * np.linalg.norm(query))
        rows.append((-cosine, index, split_item_id(other)[1]))
    return [[number, format_score(-negative)] for negative, _, number in sorted(rows)]


@pytest.mark.parametrize(
    "item_id",
    [
        "engage_article2",
        "engage_microlearning103",
        "totara_playlist1",
        "container_workspace2",
        "container_course3",
    ],
)
def test_similar_items_stay_in_the_family(
    client: falcon.testing.TestClient, store: MemoryModelStore, item_id: str
) -> None:
    result = get(client, f"totara_item_id={item_id}&tenant=0&n_items=15")
    assert result.status_code == 200
    body = result.json
    assert body["success"] is True
    expected = reference(store, item_id)
    assert [identifier for identifier, _ in body["items"]] == [
        identifier for identifier, _ in expected
    ]
    for (_, got), (_, want) in zip(body["items"], expected, strict=True):
        assert abs(float(got) - float(want)) <= 0.00011


def test_article_falls_back_to_microlearning(
    client: falcon.testing.TestClient, store: MemoryModelStore
) -> None:
    # Totara asks for engage_article103 although the item was exported as microlearning.
    fallback = get(client, "totara_item_id=engage_article103&tenant=0&n_items=4").json
    direct = get(client, "totara_item_id=engage_microlearning103&tenant=0&n_items=4").json
    assert fallback == direct and fallback["success"] is True and len(fallback["items"]) == 4


def test_n_items_zero_and_limit(client: falcon.testing.TestClient) -> None:
    assert get(client, "totara_item_id=engage_article2&tenant=0&n_items=0").json == {
        "success": True,
        "items": [],
    }
    assert len(get(client, "totara_item_id=engage_article2&tenant=0&n_items=3").json["items"]) == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("totara_item_id=engage_article999&tenant=0&n_items=3", "Bad request: no such item id"),
        ("totara_item_id=totara_playlist77&tenant=0&n_items=3", "Bad request: no such item id"),
        ("totara_item_id=&tenant=0&n_items=3", "Bad request: no such item id"),
        ("tenant=0&n_items=3", "Bad request: no such item id"),
        ("totara_item_id=engage_article2&tenant=5&n_items=3", "Bad request: no such tenant"),
        ("totara_item_id=engage_article2&n_items=3", "Bad request: no such tenant"),
        (
            "totara_item_id=engage_article2&tenant=2&n_items=3",
            "Message: The model for tenant 2 is not trained, probably for insufficient data",
        ),
    ],
)
def test_failures(client: falcon.testing.TestClient, query: str, message: str) -> None:
    result = get(client, query)
    assert result.status_code == 200
    assert result.json == {"success": False, "message": message, "items": []}


@pytest.mark.parametrize("n_items", ["", "x", "-2"])
def test_bad_n_items(client: falcon.testing.TestClient, n_items: str) -> None:
    result = get(client, f"totara_item_id=nope&tenant=9&n_items={n_items}")
    assert result.status_code == 400
    assert result.json == {"error": "n_items must be a non-negative integer"}


def test_not_ready_without_any_model() -> None:
    client = falcon.testing.TestClient(
        create_app(Settings(totara_key=KEY), MemoryModelStore(), clock=lambda: NOW)
    )
    body = get(client, "totara_item_id=engage_article2&tenant=0&n_items=3").json
    assert body == {
        "success": False,
        "message": "The recommender model is not ready yet",
        "items": [],
    }

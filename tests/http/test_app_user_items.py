"""GET /user-items: check order, messages, envelopes and rankings (contract §4.3, §9.1, §13)."""

from __future__ import annotations

from collections.abc import Callable

import falcon.testing
import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.item_types import COMPONENTS
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

Client = Callable[..., falcon.testing.Result]


def make_client(store: MemoryModelStore, **settings: object) -> Client:
    app = create_app(Settings(totara_key=KEY, **settings), store, clock=lambda: NOW)  # type: ignore[arg-type]
    client = falcon.testing.TestClient(app)

    def get(query: str, path: str = "/user-items") -> falcon.testing.Result:
        return client.simulate_get(path, query_string=query, headers=totara_headers())

    return get


@pytest.fixture()
def store() -> MemoryModelStore:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0", seed=0))
    store.publish("1", untrained_artifact("1"))
    store.publish("3", tiny_artifact("3", seed=3))
    return store


@pytest.fixture()
def get(store: MemoryModelStore) -> Client:
    return make_client(store)


def failure(message: str) -> dict[str, object]:
    return {"success": False, "message": message, "items": []}


def expected_ranking(
    store: MemoryModelStore, tenant: str, user: str, component: str
) -> list[list[str]]:
    """Independent reference: score every item of the type, drop positives, sort stably."""
    arrays = store.load(tenant).arrays
    user_ids = artifact_ids(arrays, "user").tolist()
    item_ids = artifact_ids(arrays, "item").tolist()
    row = list(user_ids).index(user)
    scores = (
        arrays["item_factors"] @ arrays["user_factors"][row]
        + arrays["item_bias"]
        + arrays["user_bias"][row]
    )
    positives = set(
        arrays["positives_indices"][
            arrays["positives_indptr"][row] : arrays["positives_indptr"][row + 1]
        ].tolist()
    )
    candidates = [
        (-float(np.float32(scores[i])), i)
        for i, item in enumerate(item_ids)
        if str(item).startswith(component)
        and str(item)[len(component)].isdigit()
        and i not in positives
    ]
    return [
        [str(item_ids[i])[len(component) :], format_score(-negative)]
        for negative, i in sorted(candidates)
    ]


@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize("tenant", ["0", "3"])
def test_totara_query_string_gets_ranked_prefixless_items(
    get: Client, store: MemoryModelStore, component: str, tenant: str
) -> None:
    result = get(f"totara_user_id=5&item_type={component}&tenant={tenant}&n_items=10")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/json")
    body = result.json
    assert body["success"] is True and set(body) == {"success", "items"}
    assert body["items"] == expected_ranking(store, tenant, "5", component)
    assert all(identifier.isdigit() for identifier, _ in body["items"])


def test_n_items_limits_and_zero_gives_empty_list(get: Client, store: MemoryModelStore) -> None:
    full = expected_ranking(store, "0", "7", "engage_article")
    assert len(full) >= 3
    assert (
        get("totara_user_id=7&item_type=engage_article&tenant=0&n_items=2").json["items"]
        == full[:2]
    )
    assert get("totara_user_id=7&item_type=engage_article&tenant=0&n_items=0").json == {
        "success": True,
        "items": [],
    }


def test_positives_are_excluded_by_default_and_downranked_on_request(
    store: MemoryModelStore,
) -> None:
    arrays = store.load("0").arrays
    user_ids = artifact_ids(arrays, "user").tolist()
    item_ids = artifact_ids(arrays, "item").tolist()
    indptr, indices = arrays["positives_indptr"], arrays["positives_indices"]
    row = next(u for u in range(len(user_ids)) if indptr[u + 1] > indptr[u])
    user = str(user_ids[row])
    positive = str(item_ids[indices[indptr[row]]])
    component = positive.rstrip("0123456789")
    query = f"totara_user_id={user}&item_type={component}&tenant=0&n_items=50"
    excluded = make_client(store)(query).json["items"]
    downranked = make_client(store, seen_items="downrank")(query).json["items"]
    number = positive[len(component) :]
    assert number not in [identifier for identifier, _ in excluded]
    assert number in [identifier for identifier, _ in downranked]


def test_unknown_user_gets_popular_items_of_the_type(get: Client, store: MemoryModelStore) -> None:
    body = get("totara_user_id=999999&item_type=totara_playlist&tenant=0&n_items=10").json
    arrays = store.load("0").arrays
    item_ids = artifact_ids(arrays, "item").tolist()
    counts = {str(i): float(c) for i, c in zip(item_ids, arrays["item_popularity"], strict=True)}
    total = sum(counts.values())
    playlists = sorted(
        (-counts[i] / total, int(i[len("totara_playlist") :]))
        for i in counts
        if i.startswith("totara_playlist")
    )
    assert body == {"success": True, "items": [[str(n), format_score(-s)] for s, n in playlists]}


def test_unknown_user_is_an_error_in_strict_mode(store: MemoryModelStore) -> None:
    strict = make_client(store, unknown_user="error")
    body = strict("totara_user_id=999999&item_type=totara_playlist&tenant=0&n_items=10").json
    assert body == failure("Bad request: no such user id")
    body = strict("item_type=totara_playlist&tenant=0&n_items=10").json
    assert body == failure("Bad request: no such user id")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("totara_user_id=5&item_type=engage_article&n_items=3", "Bad request: no such tenant"),
        (
            "totara_user_id=5&item_type=engage_article&tenant=7&n_items=3",
            "Bad request: no such tenant",
        ),
        (
            "totara_user_id=5&item_type=engage_article&tenant=&n_items=3",
            "Bad request: no such tenant",
        ),
        (
            "totara_user_id=5&item_type=engage_article&tenant=1&n_items=3",
            "Message: The model for tenant 1 is not trained, probably for insufficient data",
        ),
        (
            "totara_user_id=5&item_type=engage_articles&tenant=0&n_items=3",
            "Bad request: no such item type is available",
        ),
        ("totara_user_id=5&tenant=0&n_items=3", "Bad request: no such item type is available"),
        (
            "totara_user_id=5&item_type=ENGAGE_ARTICLE&tenant=0&n_items=3",
            "Bad request: no such item type is available",
        ),
        # Step 2 wins over step 5, step 3 over step 5.
        ("totara_user_id=5&item_type=nope&tenant=9&n_items=3", "Bad request: no such tenant"),
        (
            "totara_user_id=5&item_type=nope&tenant=1&n_items=3",
            "Message: The model for tenant 1 is not trained, probably for insufficient data",
        ),
    ],
)
def test_contract_failures_are_200_envelopes(get: Client, query: str, message: str) -> None:
    result = get(query)
    assert result.status_code == 200
    assert result.json == failure(message)


def test_strict_user_check_comes_before_item_type(store: MemoryModelStore) -> None:
    strict = make_client(store, unknown_user="error")
    body = strict("totara_user_id=999&item_type=nope&tenant=0&n_items=3").json
    assert body == failure("Bad request: no such user id")


def test_no_model_at_all_is_not_ready_even_for_bad_tenant() -> None:
    get = make_client(MemoryModelStore())
    for query in ("totara_user_id=5&item_type=engage_article&tenant=0&n_items=3", "n_items=3"):
        assert get(query).json == failure("The recommender model is not ready yet")


@pytest.mark.parametrize("n_items", ["", "abc", "-1", "1.5", "+3", " 3", "3 ", "１", "0x10", "1e3"])
def test_bad_n_items_is_400_before_anything_else(n_items: str) -> None:
    get = make_client(MemoryModelStore())
    result = get(f"totara_user_id=5&item_type=nope&tenant=9&n_items={n_items}")
    assert result.status_code == 400
    assert result.json == {"error": "n_items must be a non-negative integer"}


def test_missing_n_items_is_400(get: Client) -> None:
    result = get("totara_user_id=5&item_type=engage_article&tenant=0")
    assert result.status_code == 400
    assert result.json == {"error": "n_items must be a non-negative integer"}


def test_n_items_above_the_maximum_names_it(store: MemoryModelStore) -> None:
    get = make_client(store, max_n_items=25)
    assert (
        get("totara_user_id=5&item_type=engage_article&tenant=0&n_items=25").json["success"] is True
    )
    for n_items in ("26", "99999999999999999999999999"):
        result = get(f"totara_user_id=5&item_type=engage_article&tenant=0&n_items={n_items}")
        assert result.status_code == 400
        assert "25" in result.json["error"] and set(result.json) == {"error"}


def test_answers_follow_the_stored_model_not_the_environment_algorithm(
    store: MemoryModelStore,
) -> None:
    query = "totara_user_id=6&item_type=container_course&tenant=0&n_items=10"
    answers = {
        make_client(store, algorithm=mode)(query).json["success"] for mode in ("mf", "partial")
    }
    assert answers == {True}
    assert (
        make_client(store, algorithm="mf")(query).json
        == make_client(store, algorithm="hybrid")(query).json
    )

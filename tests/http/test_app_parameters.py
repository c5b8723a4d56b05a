"""Parameter parsing and robustness: any query string gets JSON, never a 500 (hypothesis)."""

from __future__ import annotations

from urllib.parse import urlencode

import falcon.testing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlcore.config import Settings
from service.app import create_app
from service.resources.contract import BAD_N_ITEMS, BadParameter, parse_n_items
from tests.support.app_support import KEY, NOW, tiny_artifact, totara_headers
from tests.support.memory_store import MemoryModelStore

MAXIMUM = 50


@given(st.text())
def test_n_items_accepts_exactly_plain_digits_up_to_the_maximum(text: str) -> None:
    plain = text.isascii() and text.isdigit()
    try:
        value = parse_n_items(text, MAXIMUM)
    except BadParameter as error:
        assert not plain or int(text) > MAXIMUM
        assert error.message == (
            BAD_N_ITEMS if not plain else f"n_items must be at most {MAXIMUM} (ML_MAX_N_ITEMS)"
        )
    else:
        assert plain and value == int(text) and 0 <= value <= MAXIMUM


@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=0, max_value=30))
def test_n_items_integers_with_leading_zeros(value: int, zeros: int) -> None:
    text = "0" * zeros + str(value)
    if value <= MAXIMUM:
        assert parse_n_items(text, MAXIMUM) == value
    else:
        with pytest.raises(BadParameter, match="at most 50"):
            parse_n_items(text, MAXIMUM)


def test_huge_n_items_is_a_400_not_a_crash() -> None:
    with pytest.raises(BadParameter, match="at most 50"):
        parse_n_items("9" * 5000, MAXIMUM)


@pytest.fixture(scope="module")
def client() -> falcon.testing.TestClient:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0"))
    return falcon.testing.TestClient(create_app(Settings(totara_key=KEY), store, clock=lambda: NOW))


values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["0", "5", "2", "engage_article1", "engage_article", "totara_playlist"]),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/user-items", "/similar-items"]),
    user=values,
    item_type=values,
    item=values,
    tenant=values,
    n_items=values,
)
def test_any_parameters_get_json_and_never_a_500(
    client: falcon.testing.TestClient,
    path: str,
    user: str | None,
    item_type: str | None,
    item: str | None,
    tenant: str | None,
    n_items: str | None,
) -> None:
    params = {
        "totara_user_id": user,
        "item_type": item_type,
        "totara_item_id": item,
        "tenant": tenant,
        "n_items": n_items,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    result = client.simulate_get(path, query_string=query, headers=totara_headers())
    assert result.status_code in (200, 400), result.text
    assert result.headers["content-type"].startswith("application/json")
    body = result.json
    if result.status_code == 400:
        assert set(body) == {"error"}
    elif body["success"]:
        assert set(body) == {"success", "items"}
        assert all(identifier.isdigit() for identifier, _ in body["items"])
    else:
        assert set(body) == {"success", "message", "items"} and body["items"] == []

"""Bad requests never get a 5xx, a traceback or a non-JSON body (issue 8, item 3 and 6).

Three layers, all through the real Falcon app over an in-memory store:

* a table of hand-written hostile requests (missing/repeated/huge/negative parameters,
  path traversal, unicode, long query strings, wrong methods, bodies on GET);
* hypothesis-generated query strings for both item endpoints;
* schemathesis driving ``service/openapi.yaml`` (positive and negative examples), with
  its checks that every answer conforms to the documented status codes and schemas.

Already proven elsewhere and not repeated: 404/405 bodies (``test_app_errors.py``),
``n_items`` parsing edge cases (``test_app_user_items.py``), auth (``test_auth.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import falcon.testing
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from mlcore.config import Settings
from service.app import create_app
from service.request_limits import MAX_BODY_BYTES, MAX_QUERY_BYTES
from service.resources.contract import (
    NO_ITEM,
    NO_ITEM_TYPE,
    NO_TENANT,
    NO_USER,
    NOT_READY,
    NOT_TRAINED,
)
from tests.support.app_support import KEY, NOW, tiny_artifact, totara_headers
from tests.support.app_support import untrained_artifact as untrained
from tests.support.memory_store import MemoryModelStore

SPEC = Path(__file__).resolve().parents[2] / "service" / "openapi.yaml"
USER = "totara_user_id=2&item_type=engage_article&tenant=0&n_items=3"
CONTRACT_MESSAGES = {NOT_READY, NO_TENANT, NO_USER, NO_ITEM_TYPE, NO_ITEM, NOT_TRAINED.format(5)}


def make_app(max_n_items: int = 1000) -> falcon.App:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0"))
    store.publish("5", untrained("5"))
    return create_app(Settings(totara_key=KEY, max_n_items=max_n_items), store, clock=lambda: NOW)


@pytest.fixture(scope="module")
def client() -> falcon.testing.TestClient:
    return falcon.testing.TestClient(make_app())


def assert_safe(result: falcon.testing.Result) -> object:
    """No 5xx, JSON content type and body, no traceback, no key; returns the body."""
    assert result.status_code < 500, result.text
    assert result.headers["content-type"].startswith("application/json"), result.headers
    body = json.loads(result.text)
    assert "Traceback" not in result.text and KEY not in result.text
    assert isinstance(body, dict)
    if result.status_code >= 400:
        assert isinstance(body.get("error"), str) and body["error"]
    return body


def user(query: str) -> tuple[str, str]:
    return "/user-items", query


TABLE: dict[str, tuple[str, str, int, object]] = {
    # name: (path, query string, status, expected body or a key that must hold)
    "valid": (*user(USER), 200, True),
    "no parameters": (*user(""), 400, {"error": "n_items must be a non-negative integer"}),
    "n_items missing": (
        *user("totara_user_id=2&item_type=engage_article&tenant=0"),
        400,
        {"error": "n_items must be a non-negative integer"},
    ),
    "n_items empty": (*user(USER[:-1]), 400, {"error": "n_items must be a non-negative integer"}),
    "n_items negative": (
        *user(USER.replace("n_items=3", "n_items=-1")),
        400,
        {"error": "n_items must be a non-negative integer"},
    ),
    "n_items float": (*user(USER + ".5"), 400, {"error": "n_items must be a non-negative integer"}),
    "n_items hex": (
        *user(USER.replace("=3", "=0x10")),
        400,
        {"error": "n_items must be a non-negative integer"},
    ),
    "n_items fullwidth digit": (
        *user(USER.replace("=3", "=%EF%BC%93")),
        400,
        {"error": "n_items must be a non-negative integer"},
    ),
    "n_items huge": (
        *user(USER.replace("=3", "=" + "9" * 400)),
        400,
        {"error": "n_items must be at most 1000 (ML_MAX_N_ITEMS)"},
    ),
    "n_items just above max": (
        *user(USER.replace("=3", "=1001")),
        400,
        {"error": "n_items must be at most 1000 (ML_MAX_N_ITEMS)"},
    ),
    "n_items zero": (*user(USER.replace("=3", "=0")), 200, {"success": True, "items": []}),
    "n_items repeated (last wins)": (*user(USER + "&n_items=1"), 200, True),
    "tenant repeated (last wins)": (*user(USER + "&tenant=7"), 200, NO_TENANT),
    "tenant missing": (
        *user("totara_user_id=2&item_type=engage_article&n_items=3"),
        200,
        NO_TENANT,
    ),
    "tenant traversal": (*user(USER.replace("tenant=0", "tenant=../../etc")), 200, NO_TENANT),
    "tenant encoded traversal": (
        *user(USER.replace("tenant=0", "tenant=..%2F..%2Fetc%2Fpasswd")),
        200,
        NO_TENANT,
    ),
    "tenant NUL": (*user(USER.replace("tenant=0", "tenant=0%00")), 200, NO_TENANT),
    "tenant untrained": (*user(USER.replace("tenant=0", "tenant=5")), 200, NOT_TRAINED.format(5)),
    "tenant unicode": (*user(USER.replace("tenant=0", "tenant=%E2%93%AA")), 200, NO_TENANT),
    "unknown user falls back to popular": (*user(USER.replace("id=2", "id=999999")), 200, True),
    "user invalid utf-8": (*user(USER.replace("id=2", "id=%FF%FE")), 200, True),
    "user emoji": (*user(USER.replace("id=2", "id=%F0%9F%92%A5")), 200, True),
    "item type unknown": (
        *user(USER.replace("engage_article", "engage_nothing")),
        200,
        NO_ITEM_TYPE,
    ),
    "item type case": (*user(USER.replace("engage_article", "ENGAGE_ARTICLE")), 200, NO_ITEM_TYPE),
    "only separators": (*user("&&&=&=&n_items=2"), 200, NO_TENANT),
    "query string at the limit": (
        *user(USER + "&pad=" + "x" * (MAX_QUERY_BYTES - len(USER) - 5)),
        200,
        True,
    ),
    "query string over the limit": (*user(USER + "&pad=" + "x" * MAX_QUERY_BYTES), 414, "414"),
    "similar unknown item": (
        "/similar-items",
        "totara_item_id=engage_article999&tenant=0&n_items=3",
        200,
        NO_ITEM,
    ),
    "similar no item": ("/similar-items", "tenant=0&n_items=3", 200, NO_ITEM),
    "similar item without digits": (
        "/similar-items",
        "totara_item_id=engage_article&tenant=0&n_items=3",
        200,
        NO_ITEM,
    ),
    "similar valid": (
        "/similar-items",
        "totara_item_id=engage_article2&tenant=0&n_items=3",
        200,
        True,
    ),
    "health with parameters": ("/health-check", "x=1&" + "y" * 100, 200, None),
    "home with junk": ("/", "%%%", 200, None),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_hostile_query_table(client: falcon.testing.TestClient, name: str) -> None:
    path, query, status, expected = TABLE[name]
    result = client.simulate_get(path, query_string=query, headers=totara_headers())
    body = assert_safe(result)
    assert result.status_code == status, result.text
    assert isinstance(body, dict)
    if expected is True:
        assert body["success"] is True and body["items"]
        assert all(ident.isdigit() for ident, _ in body["items"])
    elif isinstance(expected, dict):
        assert body == expected
    elif isinstance(expected, str) and status == 200:
        assert body == {"success": False, "message": expected, "items": []}
    elif isinstance(expected, str):
        assert body["error"].startswith(expected)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"])
@pytest.mark.parametrize("path", ["/user-items", "/", "/favicon.ico"])
def test_every_other_method_is_405_json(
    client: falcon.testing.TestClient, method: str, path: str
) -> None:
    result = client.simulate_request(method, path, query_string=USER, headers=totara_headers())
    assert result.status_code == 405
    assert result.headers["allow"].startswith("GET")
    if method != "HEAD":  # a HEAD answer has no body by definition
        assert_safe(result)


def test_small_body_on_get_is_ignored(client: falcon.testing.TestClient) -> None:
    plain = client.simulate_get("/user-items", query_string=USER, headers=totara_headers())
    headers = {**totara_headers(), "Content-Type": "application/x-www-form-urlencoded"}
    with_body = client.simulate_get(
        "/user-items", query_string=USER, headers=headers, body="n_items=999&tenant=9"
    )
    assert with_body.status_code == 200 and with_body.json == plain.json


def test_large_body_on_get_is_413_and_closes(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get(
        "/user-items", query_string=USER, headers=totara_headers(), body=b"x" * (MAX_BODY_BYTES + 1)
    )
    assert result.status_code == 413
    assert result.headers["connection"] == "close"
    assert assert_safe(result)


def test_limits_apply_before_authentication(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get("/user-items", query_string="x=" + "a" * 3000)
    assert result.status_code == 414
    assert_safe(result)


NAMES = st.sampled_from(
    ["totara_user_id", "item_type", "tenant", "n_items", "totara_item_id", "", "n_items[]", "x"]
)
VALUES = st.one_of(
    st.text(max_size=30),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["0", "2", "5", "engage_article", "engage_article2", "container_course1"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(["/user-items", "/similar-items"]),
    pairs=st.lists(st.tuples(NAMES, VALUES), max_size=8),
    raw=st.text(max_size=40),
)
def test_generated_query_strings_are_answered_safely(
    client: falcon.testing.TestClient, path: str, pairs: list[tuple[str, str]], raw: str
) -> None:
    # The test client cannot send a query string starting with '?' (HTTP can).
    for query in (urlencode(pairs), raw.lstrip("?")):
        result = client.simulate_get(path, query_string=query, headers=totara_headers())
        body = assert_safe(result)
        assert isinstance(body, dict)
        assert result.status_code in (200, 400, 414)
        if result.status_code != 200:
            continue
        if body["success"]:
            n_items = int(dict(pairs).get("n_items", "0")) if pairs else 0
            assert all(ident.isdigit() and score[0] in " -" for ident, score in body["items"])
            assert len(body["items"]) <= max(n_items, 0) or query != urlencode(pairs)
        else:
            assert body["message"] in CONTRACT_MESSAGES and body["items"] == []


def test_openapi_document_is_served_without_a_token(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get("/openapi.yaml")
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/yaml"
    assert result.content == SPEC.read_bytes()


def _schema() -> schemathesis.BaseSchema:
    # The document the app serves is the one the app is fuzzed against.
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", make_app())
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=40,
        deterministic=True,
        # Unknown query parameters are ignored by design (OpenAPI cannot say so);
        # test_generated_query_strings_are_answered_safely sends them.
        allow_extra_parameters=False,
        # TotaraToken below signs every request; test_security_auth.py covers bad tokens.
        with_security_parameters=False,
    )
    # Oversized requests are rejected with 413/414 (service/request_limits.py) too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413", "414"]
    return schema


SCHEMA = _schema()


@SCHEMA.auth(refresh_interval=None)
class TotaraToken:
    """Signs every generated request as Totara does (§3.1) at the app's fixed clock."""

    def get(self, case: schemathesis.Case, ctx: object) -> dict[str, str]:
        return {k: v for k, v in totara_headers().items() if k.startswith("X-Totara")}

    def set(self, case: schemathesis.Case, data: dict[str, str], ctx: object) -> None:
        case.headers = {**(case.headers or {}), **data}


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_fuzzing_conforms(case: schemathesis.Case) -> None:
    response = case.call_and_validate()
    assert response.status_code < 500
    content_type = response.headers.get("content-type", [""])[0]
    if case.path != "/favicon.ico" or response.status_code != 200:
        assert content_type.startswith("application/json")
        json.loads(response.text)
    assert b"Traceback" not in response.content and KEY.encode() not in response.content

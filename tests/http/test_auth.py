"""Token authentication of incoming requests (contract §3.1, §3.4) through the real app."""

from __future__ import annotations

import json

import falcon.testing
import pytest

from mlcore.config import Settings
from mlcore.totara.token import make_token
from service.app import create_app
from service.auth import REJECTED
from tests.support.app_support import KEY, NOW, tiny_artifact, totara_headers
from tests.support.memory_store import MemoryModelStore

PROTECTED = ["/user-items", "/similar-items", "/health-check"]


@pytest.fixture()
def client() -> falcon.testing.TestClient:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact())
    return falcon.testing.TestClient(create_app(Settings(totara_key=KEY), store, clock=lambda: NOW))


def test_contract_vectors_are_accepted_at_their_own_time() -> None:
    vectors = {
        "123456": "a44934344c553000cb198d77cae685d33563617a01b17dc60d45a5557ad9c21d",
        "0": "e4564920dabbb068898fbb32f98a67fe6d98520686d726d10dbc7e5badc37ead",
        "1000": "03203b76ce4a4cf093f39eeedb61a5966a20dccfca1cc4fdfb18e0006f444e9b",
    }
    for time_string, digest in vectors.items():
        app = create_app(
            Settings(totara_key="abc123"), MemoryModelStore(), clock=lambda t=time_string: float(t)
        )
        result = falcon.testing.TestClient(app).simulate_get(
            "/health-check", headers={"X-Totara-Time": time_string, "X-Totara-Ml-Key": digest}
        )
        assert result.status_code == 200, time_string


@pytest.mark.parametrize("offset", [-30, -1, 0, 29, 30])
def test_window_is_inclusive(client: falcon.testing.TestClient, offset: int) -> None:
    result = client.simulate_get("/health-check", headers=totara_headers(offset=offset))
    assert result.status_code == 200


@pytest.mark.parametrize("offset", [-31, 31, -3600])
def test_outside_window_is_401(client: falcon.testing.TestClient, offset: int) -> None:
    result = client.simulate_get("/health-check", headers=totara_headers(offset=offset))
    assert result.status_code == 401
    assert result.json == {"error": REJECTED}


def _with(**changes: str) -> dict[str, str]:
    headers = totara_headers()
    headers.update(changes)
    return {k: v for k, v in headers.items() if v != "<drop>"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _with(**{"X-Totara-Ml-Key": "<drop>"}),
        _with(**{"X-Totara-Time": "<drop>"}),
        _with(**{"X-Totara-Ml-Key": make_token(str(int(NOW)), KEY).upper()}),
        _with(**{"X-Totara-Ml-Key": make_token(str(int(NOW)), "other-key")}),
        _with(**{"X-Totara-Time": f"{int(NOW)}.0"}),
        _with(**{"X-Totara-Time": ""}),
        _with(**{"X-Totara-Ml-Key": ""}),
    ],
    ids=[
        "none",
        "no-key",
        "no-time",
        "uppercase",
        "wrong-key",
        "float-time",
        "empty-time",
        "empty-key",
    ],
)
@pytest.mark.parametrize("path", PROTECTED)
def test_bad_tokens_get_401_json(
    client: falcon.testing.TestClient, headers: dict[str, str], path: str
) -> None:
    result = client.simulate_get(path, headers=headers, query_string="tenant=0&n_items=3")
    assert result.status_code == 401
    assert result.headers["content-type"].startswith("application/json")
    assert result.json == {"error": REJECTED}
    assert KEY not in result.text


def test_header_names_are_case_insensitive(client: falcon.testing.TestClient) -> None:
    headers = {name.lower(): value for name, value in totara_headers().items()}
    assert client.simulate_get("/health-check", headers=headers).status_code == 200
    headers = {name.upper(): value for name, value in totara_headers().items()}
    assert client.simulate_get("/health-check", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/", "/favicon.ico"])
def test_open_paths_need_no_token(client: falcon.testing.TestClient, path: str) -> None:
    assert client.simulate_get(path).status_code == 200


def test_user_agent_does_not_matter(client: falcon.testing.TestClient) -> None:
    headers = totara_headers()
    headers["User-Agent"] = "curl/8"
    assert client.simulate_get("/health-check", headers=headers).status_code == 200


def test_testing_mode_uses_fixed_key_only_without_a_key() -> None:
    app = create_app(Settings(environment="Testing"), MemoryModelStore(), clock=lambda: NOW)
    ok = falcon.testing.TestClient(app).simulate_get(
        "/health-check", headers=totara_headers("secretkey")
    )
    assert ok.status_code == 200
    app = create_app(Settings(environment="Production"), MemoryModelStore(), clock=lambda: NOW)
    rejected = falcon.testing.TestClient(app).simulate_get(
        "/health-check", headers=totara_headers("secretkey")
    )
    assert rejected.status_code == 401
    assert json.loads(rejected.text) == {"error": REJECTED}

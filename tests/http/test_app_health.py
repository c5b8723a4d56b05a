"""GET /health-check: Totara steps, model fields, success == no errors (contract §4.5, §6.3)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
import requests

from mlcore.config import Settings
from mlcore.training.train_log import LogRow, append_rows
from service.app import create_app
from service.health import STATUS_QUERY, HealthCheck, resolve_host
from tests.support.app_support import (
    KEY,
    NOW,
    tiny_artifact,
    totara_headers,
    untrained_artifact,
)
from tests.support.memory_store import MemoryModelStore


def response(status: int, body: object) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer.url = "https://totara.example/totara/webapi/ajax.php"
    return answer


class FakeSession:
    """Records the status query and answers with a prepared response or exception."""

    def __init__(self, answer: requests.Response | Exception) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append({"url": url, **kwargs})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


OK = {"data": {"totara_webapi_status": {"status": "ok"}}}
OK_RESPONSE = response(200, OK)


def check(
    tmp_path: Path,
    answer: requests.Response | Exception = OK_RESPONSE,
    url: str = "https://totara.example/",
    resolve: Any = lambda host: "203.0.113.5",
    store: MemoryModelStore | None = None,
    **settings: Any,
) -> tuple[dict[str, Any], FakeSession]:
    session = FakeSession(answer)
    config = Settings(totara_key=KEY, totara_url=url, logs_dir=tmp_path, **settings)
    health = HealthCheck(config, session, resolve=resolve, timer=iter([10.0, 10.25]).__next__)  # type: ignore[arg-type]
    app = create_app(config, store or MemoryModelStore(), clock=lambda: NOW, health=health)
    result = falcon.testing.TestClient(app).simulate_get("/health-check", headers=totara_headers())
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/json")
    body = result.json
    assert body["success"] == (not body.get("errors"))
    return body, session


def test_healthy_totara_without_model(tmp_path: Path) -> None:
    body, session = check(tmp_path)
    assert body == {
        "success": True,
        "totara": {
            "url": "https://totara.example",
            "totara_ip": "203.0.113.5",
            "elapsed_seconds": 0.25,
            "recommendation_model": "false",
        },
    }
    (call,) = session.calls
    assert call["url"] == "https://totara.example/totara/webapi/ajax.php"
    assert call["json"] == STATUS_QUERY and call["timeout"] == 1.5 and call["verify"] is True


def test_tls_opt_out_is_passed_on(tmp_path: Path) -> None:
    _, session = check(tmp_path, tls_verify=False)
    assert session.calls[0]["verify"] is False


def test_ca_bundle_is_used_like_the_totara_source_uses_it(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    _, session = check(tmp_path, ca_bundle=str(bundle))
    assert session.calls[0]["verify"] == str(bundle)


def test_missing_ca_bundle_fails_the_contact_step_with_the_reason(tmp_path: Path) -> None:
    body, session = check(tmp_path, ca_bundle=str(tmp_path / "missing.pem"))
    assert session.calls == []
    assert body["success"] is False
    assert "ML_CA_BUNDLE" in body["errors"][0] and "missing.pem" in body["errors"][0]


def test_status_without_data_wrapper_is_accepted(tmp_path: Path) -> None:
    body, _ = check(tmp_path, response(200, {"totara_webapi_status": {"status": "ok"}}))
    assert body["success"] is True


def test_no_hostname(tmp_path: Path) -> None:
    body, session = check(tmp_path, url="https:///nohost")
    assert body["errors"] == ["Unable to get Totara instance hostname"]
    assert body["totara"] == {"url": "https:///nohost", "recommendation_model": "false"}
    assert session.calls == []


def test_dns_failure_stops_the_steps(tmp_path: Path) -> None:
    def fail(host: str) -> str:
        raise OSError(f"[Errno -2] Name or service not known: {host}")

    body, session = check(tmp_path, resolve=fail)
    assert body["success"] is False
    assert body["errors"] == [
        "Unable to resolve the Totara instance hostname: [Errno -2] Name or service not known: totara.example"
    ]
    assert "totara_ip" not in body["totara"] and session.calls == []


@pytest.mark.parametrize(
    "answer",
    [
        requests.ConnectTimeout("connect timed out"),
        response(503, b"down"),
        requests.ConnectionError("refused"),
    ],
)
def test_communication_failures(tmp_path: Path, answer: Any) -> None:
    body, _ = check(tmp_path, answer)
    (error,) = body["errors"]
    assert error.startswith("Unable to communicate with Totara: ")
    assert body["totara"]["totara_ip"] == "203.0.113.5" and "elapsed_seconds" in body["totara"]


@pytest.mark.parametrize(
    "answer",
    [
        response(200, {"data": {"totara_webapi_status": {"status": "down"}}}),
        response(200, b"<html>"),
    ],
)
def test_status_not_ok(tmp_path: Path, answer: requests.Response) -> None:
    body, _ = check(tmp_path, answer)
    assert body["errors"] == [
        "Could not connect to Totara instance. Please check your URL is correct."
    ]


def test_export_folder_mode_skips_totara_steps(tmp_path: Path) -> None:
    body, session = check(tmp_path, url="")
    assert body == {"success": True, "totara": {"recommendation_model": "false"}}
    assert session.calls == []


def test_model_fields_are_added_even_when_totara_fails(tmp_path: Path) -> None:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0"))
    store.publish("0", tiny_artifact("0", seed=5))
    store.publish("1", untrained_artifact("1"))
    append_rows(
        tmp_path / "train_summary.log",
        [
            LogRow("19-Oct-2021 (10:00:00)", "hybrid", "0", "success"),
            LogRow("20-Oct-2021 (16:18:30)", "hybrid", "0", "success"),
            LogRow("20-Oct-2021 (16:18:30)", "hybrid", "1", "too small"),
        ],
    )
    body, _ = check(tmp_path, requests.ConnectTimeout("timed out"), store=store)
    block = body["totara"]
    assert body["success"] is False and len(body["errors"]) == 1
    assert block["recommendation_model"] == "true"
    assert block["logs_file_exists"] == "true"
    assert block["last_recommendation_model_training"] == (
        "{'TIMESTAMP': '20-Oct-2021 (16:18:30), 20-Oct-2021 (16:18:30)', "
        "'ALGORITHM': 'hybrid, hybrid', 'TENANT_ID': '0, 1', 'MSG': 'success, too small'}"
    )
    assert block["model_version_0"] == "v2" and block["model_version_1"] == "v1"
    assert block["model_validation_ndcg_0"] == "0.2500"
    assert block["model_backend_0"] == "x" and block["model_message_0"] == "success"
    assert block["model_message_1"].startswith("The number of users or items is too small")
    assert block["model_trained_at_0"].endswith("+00:00")
    assert all(isinstance(value, str) for key, value in block.items() if key != "elapsed_seconds")


def test_model_without_log(tmp_path: Path) -> None:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0"))
    body, _ = check(tmp_path, url="", store=store)
    assert body["success"] is True
    assert body["totara"]["recommendation_model"] == "true"
    assert body["totara"]["logs_file_exists"] == "false"
    assert "last_recommendation_model_training" not in body["totara"]


def test_resolve_host_answers_fails_and_times_out() -> None:
    assert resolve_host("127.0.0.1") == "127.0.0.1"

    def refuse(host: str) -> str:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(OSError, match="not known"):
        resolve_host("totara.example", lookup=refuse)
    release = threading.Event()

    def hang(host: str) -> str:
        release.wait(5)
        return "203.0.113.5"

    with pytest.raises(OSError, match="timed out after 0.05 s"):
        resolve_host("totara.example", timeout=0.05, lookup=hang)
    release.set()


def test_real_status_query_against_fake_totara_on_loopback(tmp_path: Path) -> None:
    from tests.support.fake_totara import FakeTotara

    with FakeTotara(tmp_path, key=KEY) as totara:
        config = Settings(totara_key=KEY, totara_url=totara.url + "/", logs_dir=tmp_path)
        app = create_app(config, MemoryModelStore(), clock=lambda: NOW)
        client = falcon.testing.TestClient(app)
        body = client.simulate_get("/health-check", headers=totara_headers()).json
        assert body["success"] is True, body
        assert body["totara"]["url"] == totara.url and body["totara"]["totara_ip"] == "127.0.0.1"
        assert isinstance(body["totara"]["elapsed_seconds"], float)
        (seen,) = totara.requests
        assert (seen.method, seen.path) == ("POST", "/totara/webapi/ajax.php")
        assert seen.header("X-Totara-Ml-Key") is None  # the status query carries no token
        totara.status_answer = 503
        body = client.simulate_get("/health-check", headers=totara_headers()).json
        assert body["success"] is False
        assert body["errors"][0].startswith("Unable to communicate with Totara: 503")
        assert body["totara"]["recommendation_model"] == "false"


def test_a_blend_names_what_serves_and_every_candidate() -> None:
    from dataclasses import replace as replaced

    from mlcore.interfaces import ModelArtifact
    from mlcore.serving.tenant_model import TenantModel
    from service.health import tenant_fields

    artifact = tiny_artifact("0")
    selection = {
        "serving": "blend",
        "members": ["lightfm", "ease"],
        "weights": [1.0, 0.5],
        "validation_ndcg": 0.31,
        "candidates": [
            {"name": "lightfm", "validation_ndcg": 0.25, "weight": 1.0, "seconds": 12.0},
            {"name": "ease", "validation_ndcg": 0.27, "weight": 0.5, "seconds": 3.4},
            {"name": "implicit-als", "validation_ndcg": None, "weight": 0.0, "seconds": 0.0,
             "skipped": "Unknown recommender 'implicit-als'"},
        ],
    }
    manifest = {
        **artifact.manifest,
        "backend": "blend",
        "selection": selection,
        "validation": {"model": {"ndcg": 0.31}, "popularity": {"ndcg": 0.1}, "promoted": "blend"},
    }
    fields = tenant_fields("0", TenantModel(replaced(artifact, manifest=manifest), "v1"))
    assert isinstance(artifact, ModelArtifact)
    assert fields["model_backend_0"] == "blend"
    assert fields["model_validation_ndcg_0"] == "0.3100"
    assert fields["model_candidates_0"] == (
        "lightfm ndcg 0.2500 weight 1 12 s; ease ndcg 0.2700 weight 0.5 3 s; "
        "implicit-als skipped (Unknown recommender 'implicit-als')"
    )

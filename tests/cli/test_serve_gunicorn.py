"""``mlservice serve`` over real HTTP on 127.0.0.1: gunicorn with 2 workers, a Totara-like client.

The gunicorn process group is always terminated by the fixture.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import falcon.testing
import pytest
import requests

from mlcore.config import Settings
from mlcore.item_types import COMPONENTS
from mlcore.totara.token import make_token
from plugins.filesystem_store.store import FilesystemModelStore
from service.app import create_app
from tests.support.app_support import KEY, tiny_artifact, untrained_artifact
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)

ROOT = Path(__file__).resolve().parents[2]
TENANTS = ("0", "3")


def totara_get(base: str, path: str, timeout: float = 2.0) -> requests.Response:
    """One request exactly as Totara sends it (§3.2, §5.2)."""
    now = str(int(time.time()))
    headers = {
        "X-Totara-Ml-Key": make_token(now, KEY),
        "X-Totara-Time": now,
        "User-Agent": "TotaraBot/1.0",
    }
    return requests.get(base + path, headers=headers, timeout=timeout)


@dataclass
class Service:
    base: str
    store: FilesystemModelStore
    process: subprocess.Popen[bytes]
    log: Path

    def expected(self, path: str, query: str) -> dict[str, object]:
        """The in-process app's answer over the same store (checked against numpy elsewhere)."""
        app = create_app(Settings(totara_key=KEY), self.store, clock=time.time)
        client = falcon.testing.TestClient(app)
        now = str(int(time.time()))
        headers = {"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, KEY)}
        return client.simulate_get(path, query_string=query, headers=headers).json


def start(
    tmp_path: Path, environ: dict[str, str], *args: str
) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "serve.log"
    return start_serve(log, environ, *args), log


def stop(process: subprocess.Popen[bytes]) -> None:
    stop_serve(process, grace=15)


def service_env(tmp_path: Path, port: int) -> dict[str, str]:
    return serve_environ(tmp_path, port, KEY)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp_path = tmp_path_factory.mktemp("serve")
    store = FilesystemModelStore(tmp_path / "models")
    store.publish("0", tiny_artifact("0", seed=0))
    store.publish("3", tiny_artifact("3", seed=3))
    store.publish("5", untrained_artifact("5"))
    port = free_port()
    # With the trainer: models exist, so its first run is one interval (a day) away.
    process, log = start(tmp_path, service_env(tmp_path, port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, log, timeout=30)
        yield Service(base, store, process, log)
    finally:
        stop(process)


@pytest.mark.parametrize("tenant", TENANTS)
def test_user_items_for_every_type_and_tenant(service: Service, tenant: str) -> None:
    for component in COMPONENTS:
        for user in ("2", "9", "424242"):
            query = f"totara_user_id={user}&item_type={component}&tenant={tenant}&n_items=10"
            answer = totara_get(service.base, f"/user-items?{query}")
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("application/json")
            body = answer.json()
            assert body["success"] is True and body["items"]
            assert body == service.expected("/user-items", query)


@pytest.mark.parametrize(
    "item",
    [
        "engage_article2",
        "engage_article103",
        "totara_playlist2",
        "container_workspace1",
        "container_course4",
    ],
)
def test_similar_items(service: Service, item: str) -> None:
    query = f"totara_item_id={item}&tenant=0&n_items=15"
    body = totara_get(service.base, f"/similar-items?{query}").json()
    assert body["success"] is True and body["items"]
    assert body == service.expected("/similar-items", query)


def test_contract_failures_health_and_auth(service: Service) -> None:
    untrained = totara_get(
        service.base, "/user-items?totara_user_id=2&item_type=engage_article&tenant=5&n_items=3"
    )
    assert untrained.json() == {
        "success": False,
        "message": "Message: The model for tenant 5 is not trained, probably for insufficient data",
        "items": [],
    }
    bad = totara_get(
        service.base, "/user-items?totara_user_id=2&item_type=engage_article&tenant=0&n_items=x"
    )
    assert bad.status_code == 400 and bad.json() == {
        "error": "n_items must be a non-negative integer"
    }
    health = totara_get(service.base, "/health-check").json()
    assert health["success"] is True and "errors" not in health
    assert health["totara"]["recommendation_model"] == "true"
    assert health["totara"]["model_version_0"] == service.store.current_version("0")
    unsigned = requests.get(service.base + "/health-check", timeout=2)
    assert unsigned.status_code == 401 and set(unsigned.json()) == {"error"}
    missing = totara_get(service.base, "/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == missing.json()["msg"]
    assert KEY not in service.log.read_text()


def test_model_swap_under_load_loses_no_request(service: Service) -> None:
    query = "totara_user_id=4&item_type=engage_article&tenant=3&n_items=5"
    before = service.expected("/user-items", query)
    failures: list[str] = []
    answers: list[tuple[float, dict[str, object]]] = []
    done = threading.Event()

    def hammer() -> None:
        while not done.is_set():
            try:
                answer = totara_get(service.base, f"/user-items?{query}")
                if answer.status_code != 200 or answer.json().get("success") is not True:
                    failures.append(f"{answer.status_code} {answer.text}")
                else:
                    answers.append((time.monotonic(), answer.json()))
            except requests.RequestException as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        service.store.publish("3", tiny_artifact("3", seed=77))
        published = time.monotonic()
        after = service.expected("/user-items", query)
        assert after != before
        deadline = published + 5
        while time.monotonic() < deadline:
            # Both workers must serve the new version: the last 20 answers all new.
            recent = [body for _, body in answers[-20:]]
            if len(recent) == 20 and all(body == after for body in recent):
                break
            time.sleep(0.1)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert all(body in (before, after) for _, body in answers)
    assert [body for _, body in answers[-20:]] == [after] * 20


def test_refuses_to_start_without_key_and_never_logs_it(tmp_path: Path) -> None:
    environ = service_env(tmp_path, free_port())
    del environ["ML_TOTARA_KEY"]
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--no-trainer"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "ML_TOTARA_KEY is not set" in result.stderr


def test_trainer_is_scheduled_beside_gunicorn(service: Service) -> None:
    text = service.log.read_text()
    assert "trainer scheduled every 1440 minutes" in text
    assert "Booting worker" in text


def test_call_command_signs_requests(service: Service) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    command = [sys.executable, "-m", "service.cli", "call", "--url", service.base]
    query = "/user-items?totara_user_id=2&item_type=totara_playlist&tenant=0&n_items=2"
    signed = subprocess.run(
        [*command, query],
        cwd=ROOT,
        env={**environ, "ML_TOTARA_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert signed.returncode == 0, signed.stderr
    assert json.loads(signed.stdout) == service.expected("/user-items", query.split("?", 1)[1])
    wrong = subprocess.run(
        [*command, "/health-check"],
        cwd=ROOT,
        env={**environ, "ML_TOTARA_KEY": "not-the-key"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 1
    assert json.loads(wrong.stdout) == {
        "error": "Missing or invalid X-Totara-Ml-Key/X-Totara-Time headers"
    }
    assert "not-the-key" not in wrong.stdout + wrong.stderr

"""The admin app in-process: routing by listener, key, CSRF, retrain, rollback, metrics, HTML."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

from mlcore.config import Settings
from mlcore.serving.artifact import skipped_artifact
from service.admin.app import create_admin_app
from service.admin.auth import is_loopback, key_problem, presented_key
from service.admin.csrf import CsrfTokens
from service.listeners import ListenerRouter, bind_port, local_port
from service.model_holder import ModelHolder
from service.trainer_control import REQUEST_FILE, TrainerControl, TrainerState
from tests.support.app_support import tiny_artifact
from tests.support.memory_store import MemoryModelStore

SECRET = b"s" * 32


class FakeSocket:
    def __init__(self, port: int) -> None:
        self.port = port

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def app_for(environ: dict[str, Any]) -> str:
    def api(env: dict[str, Any], start: Any) -> list[bytes]:
        return [b"api"]

    def admin(env: dict[str, Any], start: Any) -> list[bytes]:
        return [b"admin"]

    return b"".join(ListenerRouter(api, admin, 5001)(environ, lambda *a: None)).decode()


def test_the_accepting_socket_decides_never_the_host_header() -> None:
    assert app_for({"gunicorn.socket": FakeSocket(5001), "HTTP_HOST": "x:5000"}) == "admin"
    assert app_for({"gunicorn.socket": FakeSocket(5000), "HTTP_HOST": "127.0.0.1:5001"}) == "api"
    assert app_for({"SERVER_PORT": "5001", "HTTP_HOST": "127.0.0.1:5001"}) == "api"
    assert local_port({}) is None and bind_port("unix:/run/ml.sock") is None
    assert bind_port("*:5001") == 5001 and bind_port("[::1]:7") == 7


@pytest.mark.parametrize(
    ("bind", "loopback"),
    [
        ("127.0.0.1:5001", True),
        ("127.8.0.1:5001", True),
        ("localhost:5001", True),
        ("[::1]:5001", True),
        ("0.0.0.0:5001", False),
        ("*:5001", False),
        ("10.1.2.3:5001", False),
        ("admin.example:5001", False),
    ],
)
def test_a_key_is_required_beyond_loopback(bind: str, loopback: bool) -> None:
    assert is_loopback(bind) is loopback
    problem = key_problem(Settings(admin_bind=bind))
    assert (problem is None) is loopback
    assert key_problem(Settings(admin_bind=bind, admin_key="k")) is None
    if problem:
        assert "ML_ADMIN_KEY" in problem and "sesame-42" not in repr(
            Settings(admin_key="sesame-42")
        )


def test_presented_key_reads_bearer_and_basic() -> None:
    basic = base64.b64encode(b"anyone:sesame").decode()
    assert presented_key("Bearer sesame") == "sesame"
    assert presented_key(f"Basic {basic}") == "sesame"
    assert presented_key("Basic !!!") is None and presented_key(None) is None
    assert presented_key("Digest x") is None


def client(tmp_path: Path, key: str = "", **kwargs: Any) -> tuple[falcon.testing.TestClient, Any]:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0", seed=1))
    store.publish("0", tiny_artifact("0", seed=2))
    store.publish("<b>1</b>", skipped_artifact("<b>1</b>", "too <i>small</i>", algorithm="x"))
    settings = Settings(
        logs_dir=tmp_path / "logs",
        admin_key=key,
        tuning_report_dir=tmp_path / "report",
    )
    holder = ModelHolder(store, interval=0)
    control = TrainerControl(tmp_path / "logs")
    app = create_admin_app(settings, store, holder, control, CsrfTokens(SECRET, **kwargs))
    return falcon.testing.TestClient(app), store


def scheduler_running(tmp_path: Path, **state: Any) -> TrainerControl:
    control = TrainerControl(tmp_path / "logs")
    control.write_state(TrainerState(pid=os.getpid(), **state))
    return control


def test_with_a_key_every_request_needs_it(tmp_path: Path) -> None:
    test, _ = client(tmp_path, key="sesame")
    missing = test.simulate_get("/metrics")
    assert missing.status_code == 401 and "Basic" in missing.headers["www-authenticate"]
    assert "sesame" not in missing.text
    assert (
        test.simulate_get("/metrics", headers={"Authorization": "Bearer nope"}).status
        == "401 Unauthorized"
    )
    assert (
        test.simulate_get("/metrics", headers={"Authorization": "Bearer sesame"}).status_code == 200
    )
    basic = base64.b64encode(b"ops:sesame").decode()
    assert test.simulate_get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_retrain_one_at_a_time(tmp_path: Path) -> None:
    test, _ = client(tmp_path)
    script = {"X-Requested-By": "test"}
    assert test.simulate_post("/retrain", headers=script).status_code == 503
    control = scheduler_running(tmp_path)
    first = test.simulate_post("/retrain", params={"tenant": "0"}, headers=script)
    assert first.status_code == 202 and first.json["status"] == "accepted"
    assert control.pending() == {"tenant": "0", "requested_at": pytest.approx(time.time(), abs=5)}
    assert test.simulate_post("/retrain", headers=script).status_code == 409
    control.drop_request()
    scheduler_running(tmp_path, running=True)
    assert test.simulate_post("/retrain", headers=script).status_code == 409
    assert test.simulate_post("/retrain?tenant=../x", headers=script).status_code == 400


def test_posts_without_a_token_or_script_header_are_refused(tmp_path: Path) -> None:
    test, _ = client(tmp_path)
    control = scheduler_running(tmp_path)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = [
        test.simulate_post("/retrain", body="tenant=0", headers=form),
        test.simulate_post("/retrain", body="csrf_token=1.2.3", headers=form),
        test.simulate_post("/rollback", body="tenant=0", headers=form),
        test.simulate_post(
            "/retrain",
            headers={"X-Requested-By": "x", "Sec-Fetch-Site": "cross-site"},
        ),
        test.simulate_post(
            "/retrain",
            headers={"X-Requested-By": "x", "Origin": "http://evil.example", "Host": "a:5001"},
        ),
    ]
    assert [answer.status_code for answer in refused] == [403] * 5
    assert control.pending() is None and not (tmp_path / "logs" / REQUEST_FILE).exists()


def test_dashboard_forms_post_with_their_token_and_come_back(tmp_path: Path) -> None:
    test, store = client(tmp_path)
    scheduler_running(tmp_path)
    page = test.simulate_get("/").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = test.simulate_post("/retrain", body=f"csrf_token={token}", headers=form)
    assert answer.status_code == 303 and answer.headers["location"] == "/?flash=retrain-accepted"
    assert "Training requested" in test.simulate_get("/", params={"flash": "retrain-accepted"}).text
    versions = store.versions("0")
    answer = test.simulate_post("/rollback", body=f"csrf_token={token}&tenant=0", headers=form)
    assert answer.status_code == 303 and store.current_version("0") == versions[0]


def test_expired_or_forged_tokens_fail() -> None:
    now = [1000.0]
    tokens = CsrfTokens(SECRET, clock=lambda: now[0], lifetime=60)
    token = tokens.issue()
    assert tokens.valid(token)
    assert not CsrfTokens(b"other" * 8).valid(token)
    assert not tokens.valid(token[:-1] + ("0" if token[-1] != "0" else "1"))
    now[0] += 61
    assert not tokens.valid(token) and not tokens.valid("") and not tokens.valid("a.b.c")


def test_rollback_by_script_answers_json(tmp_path: Path) -> None:
    test, store = client(tmp_path)
    versions = store.versions("0")
    script = {"X-Requested-By": "test"}
    answer = test.simulate_post("/rollback", params={"tenant": "0"}, headers=script)
    assert answer.json == {"tenant": "0", "version": versions[0], "previous": versions[1]}
    again = test.simulate_post("/rollback", params={"tenant": "0"}, headers=script)
    assert again.status_code == 409 and "keeps no version older" in again.json["error"]


def test_metrics_carry_the_model_gauges(tmp_path: Path) -> None:
    test, store = client(tmp_path)
    text = test.simulate_get("/metrics").text
    version = store.current_version("0")
    assert (
        f'mlservice_model_info{{algorithm="hybrid",backend="x",tenant="0",version="{version}"}} 1.0'
        in text
    )
    assert 'mlservice_model_trained{tenant="0"} 1.0' in text
    assert 'mlservice_model_versions_kept{tenant="0"} 2.0' in text
    assert "mlservice_model_age_seconds" in text


def test_dashboard_escapes_what_it_shows(tmp_path: Path) -> None:
    test, _ = client(tmp_path)
    answer = test.simulate_get("/", params={"flash": "<script>alert(1)</script>"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "<b>1</b>" not in answer.text and "&lt;b&gt;1&lt;/b&gt;" in answer.text
    assert "too <i>small" not in answer.text and "<script>alert" not in answer.text
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "No trainer is running" in answer.text


def test_report_files_by_plain_name_only(tmp_path: Path) -> None:
    test, _ = client(tmp_path)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "summary.md").write_text("# hi")
    (tmp_path / "secret.md").write_text("no")
    assert test.simulate_get("/reports/summary.md").text == "# hi"
    assert "summary.md" in test.simulate_get("/").text
    for name in ("..%2Fsecret.md", ".hidden.md", "summary.txt", "missing.png"):
        assert test.simulate_get(f"/reports/{name}").status_code == 404
    assert json.loads(test.simulate_get("/nothing").text)["error"].startswith("404")

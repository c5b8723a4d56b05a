"""Authentication beyond ``test_auth.py``: malformed headers, replay, constant time, secrets in logs.

``test_auth.py`` already proves missing/wrong/uppercase/empty tokens, the inclusive ±30 s
window (±31 s is 401) and case-insensitive header names; ``test_token.py`` the digest.
Here: hostile header values, replay inside and outside the window (Totara's scheme has
no nonce, so a captured token is valid for up to 30 s more: TLS is what protects it),
that the digest comparison is :func:`hmac.compare_digest` and nothing else, and a real
``mlservice serve`` (gunicorn + trainer pulling from a fake Totara) whose every log line
and output is searched for the key and every token.
"""

from __future__ import annotations

import hmac
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import falcon.testing
import pytest
import requests

import mlcore.totara.token
from mlcore.config import Settings
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.totara.token import make_token
from service.app import create_app
from service.auth import REJECTED
from tests.support.app_support import NOW, tiny_artifact
from tests.support.fake_totara import FakeTotara
from tests.support.memory_store import MemoryModelStore
from tests.support.serve_process import free_port, start_serve, stop_serve

KEY = "Sec-key_H8-3d1f9a"
ROOT = Path(__file__).resolve().parents[2]
QUERY = "totara_user_id=2&item_type=engage_article&tenant=0&n_items=3"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def app_client(clock: Clock) -> falcon.testing.TestClient:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact())
    return falcon.testing.TestClient(create_app(Settings(totara_key=KEY), store, clock=clock))


def signed(time_string: str, key: str = KEY) -> dict[str, str]:
    return {"X-Totara-Time": time_string, "X-Totara-Ml-Key": make_token(time_string, key)}


GOOD = signed(str(int(NOW)))
MALFORMED = {
    "negative time": signed("-" + str(int(NOW))),
    "plus sign": signed("+" + str(int(NOW))),
    "arabic-indic digits": signed("١٧٠٠٠٠٠٠٠٠"),
    "fullwidth digits": signed("１７００００００００"),
    "exponent": signed("1.7e9"),
    "huge time": signed("9" * 400),
    # Python refuses int() of more than 4,300 digits (ValueError, once a 500): capped first.
    "time of 4,301 digits": signed("9" * 4301),
    "time of 100,000 digits": signed("1" * 100_000),
    "zero-padded time of 40 digits": signed(str(int(NOW)).zfill(40)),
    "key one char short": {**GOOD, "X-Totara-Ml-Key": GOOD["X-Totara-Ml-Key"][:-1]},
    "key one char long": {**GOOD, "X-Totara-Ml-Key": GOOD["X-Totara-Ml-Key"] + "0"},
    "key non-hex": {**GOOD, "X-Totara-Ml-Key": "z" * 64},
    "key non-ascii": {**GOOD, "X-Totara-Ml-Key": "é" * 64},
    "key of 100,000 characters": {**GOOD, "X-Totara-Ml-Key": GOOD["X-Totara-Ml-Key"] * 1563},
    "key is the secret": {**GOOD, "X-Totara-Ml-Key": KEY},
    "hmac instead of sha256": {
        **GOOD,
        "X-Totara-Ml-Key": hmac.new(KEY.encode(), str(int(NOW)).encode(), "sha256").hexdigest(),
    },
    "time and key swapped": {
        "X-Totara-Time": GOOD["X-Totara-Ml-Key"],
        "X-Totara-Ml-Key": GOOD["X-Totara-Time"],
    },
    "future 31 s": signed(str(int(NOW) + 31)),
    "stale 31 s": signed(str(int(NOW) - 31)),
    "key under another name": {
        "X-Totara-Time": str(int(NOW)),
        "X-Totara-Key": GOOD["X-Totara-Ml-Key"],
    },
}


@pytest.mark.parametrize("name", list(MALFORMED))
@pytest.mark.parametrize("path", ["/user-items", "/similar-items", "/health-check"])
def test_malformed_tokens_are_401_json(name: str, path: str) -> None:
    result = app_client(Clock(NOW)).simulate_get(path, query_string=QUERY, headers=MALFORMED[name])
    assert result.status_code == 401
    assert result.headers["content-type"].startswith("application/json")
    assert result.json == {"error": REJECTED}
    assert KEY not in result.text


def test_the_exact_time_string_is_what_is_signed() -> None:
    """A zero-padded time is another string: the digest of the unpadded one is refused,
    the digest of the padded string itself is accepted (it still needs the key)."""
    padded = "0" + str(int(NOW))
    client = app_client(Clock(NOW))
    mixed = {"X-Totara-Time": padded, "X-Totara-Ml-Key": GOOD["X-Totara-Ml-Key"]}
    assert client.simulate_get("/health-check", headers=mixed).status_code == 401
    assert client.simulate_get("/health-check", headers=signed(padded)).status_code == 200


def test_replay_within_the_window_is_accepted_and_rejected_after() -> None:
    """Totara's scheme has no nonce: the same headers stay valid for the whole ±30 s window."""
    clock = Clock(NOW)
    client = app_client(clock)
    captured = signed(str(int(NOW)))
    first = client.simulate_get("/user-items", query_string=QUERY, headers=captured)
    assert first.status_code == 200 and first.json["success"] is True
    for later in (1, 15, 30, 30.9):
        clock.now = NOW + later
        again = client.simulate_get("/user-items", query_string=QUERY, headers=captured)
        assert again.status_code == 200 and again.json == first.json, later
    clock.now = NOW + 31
    assert (
        client.simulate_get("/user-items", query_string=QUERY, headers=captured).status_code == 401
    )


class CompareSpy:
    """Stands in for the ``hmac`` module inside :mod:`mlcore.totara.token`; records comparisons."""

    def __init__(self, answer: bool | None = None) -> None:
        self.calls: list[tuple[bytes, bytes]] = []
        self.answer = answer

    def compare_digest(self, a: bytes, b: bytes) -> bool:
        self.calls.append((a, b))
        return hmac.compare_digest(a, b) if self.answer is None else self.answer


@pytest.mark.parametrize("valid", [True, False])
def test_digest_is_compared_with_hmac_compare_digest_only(
    monkeypatch: pytest.MonkeyPatch, valid: bool
) -> None:
    time_string = str(int(NOW))
    headers = signed(time_string) if valid else signed(time_string, "other")
    for forced in (None, not valid):
        spy = CompareSpy(forced)
        monkeypatch.setattr(
            mlcore.totara.token, "hmac", SimpleNamespace(compare_digest=spy.compare_digest)
        )
        result = app_client(Clock(NOW)).simulate_get("/health-check", headers=headers)
        assert spy.calls == [
            (make_token(time_string, KEY).encode(), headers["X-Totara-Ml-Key"].encode())
        ]
        # The spy's answer alone decides: no other comparison of the digest exists.
        decided = valid if forced is None else forced
        assert result.status_code == (200 if decided else 401)


def test_time_checks_come_before_any_digest_work(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = CompareSpy()
    monkeypatch.setattr(
        mlcore.totara.token, "hmac", SimpleNamespace(compare_digest=spy.compare_digest)
    )
    client = app_client(Clock(NOW))
    for name in ("stale 31 s", "future 31 s", "huge time", "negative time"):
        assert client.simulate_get("/health-check", headers=MALFORMED[name]).status_code == 401
    assert spy.calls == []


# -- a real service: nothing secret in any log ------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """``mlservice serve`` with debug logging and an access log, its trainer pulling from Totara."""
    tmp = tmp_path_factory.mktemp("auth-logs")
    export = tmp / "export"
    write_demo_export(
        export, DemoConfig(tenants=2, users=30, items=20, interactions=200, now=int(NOW))
    )
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ.update(
        ML_TOTARA_KEY=KEY,
        ML_MODELS_DIR=str(tmp / "models"),
        ML_LOGS_DIR=str(tmp / "logs"),
        ML_BIND=f"127.0.0.1:{port}",
        ML_ADMIN_BIND="",
        ML_WORKERS="1",
        ML_RECOMMENDER="popularity",
        ML_TUNING_TRIALS="0",
        ML_RELOAD_INTERVAL="0.2",
        GUNICORN_CMD_ARGS=f"--access-logfile {tmp / 'access.log'} --log-level debug",
    )
    with FakeTotara(export, key=KEY) as totara:
        environ["ML_TOTARA_URL"] = totara.url
        output = tmp / "serve-output.log"
        process = start_serve(output, environ)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for_training(base, process, output)
            yield SimpleNamespace(base=base, tmp=tmp, output=output, totara=totara)
        finally:
            stop_serve(process)


def _wait_for_training(base: str, process: subprocess.Popen[bytes], output: Path) -> None:
    """Until the trainer has published tenant 0 and the worker serves it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, output.read_text()
        try:
            now = str(int(time.time()))
            answer = requests.get(f"{base}/user-items?{QUERY}", headers=signed(now), timeout=2)
            if answer.status_code == 200 and answer.json().get("success") is True:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("service never served a trained model:\n" + output.read_text())


def test_key_and_tokens_never_reach_any_log(live: SimpleNamespace) -> None:
    sent: list[str] = []
    for offset in (0, -5, 5, -31, 31, 0):
        now = str(int(time.time()) + offset)
        headers = signed(now)
        sent.append(headers["X-Totara-Ml-Key"])
        for path in (
            f"/user-items?{QUERY}",
            "/health-check",
            "/nothing",
            "/similar-items?n_items=x",
        ):
            requests.get(live.base + path, headers=headers, timeout=5)
    wrong = signed(str(int(time.time())), "guess")
    sent.append(wrong["X-Totara-Ml-Key"])
    assert requests.get(live.base + "/health-check", headers=wrong, timeout=5).status_code == 401
    # A key sent as a parameter ends up in the access log by design of access logs:
    # only the header tokens and the configured key are secrets the service holds.
    downloads = [r.header("x-totara-ml-key") for r in live.totara.export_requests()]
    assert downloads and all(downloads)
    logs = [p for p in live.tmp.rglob("*") if p.is_file() and p.suffix in (".log", "")]
    logs = [p for p in logs if "models" not in p.parts]
    names = {p.name for p in logs}
    assert {"access.log", "serve-output.log", "trainer.log", "train_summary.log"} <= names
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    assert "GET /user-items" in text and "Booting worker" in text  # the logs are really there
    assert "training run: data from Totara" in text
    for secret in [KEY, *sent, *downloads]:
        assert secret not in text, "a secret reached a log"


def test_gunicorn_refuses_oversized_request_lines_without_a_traceback(
    live: SimpleNamespace,
) -> None:
    """Above gunicorn's ``limit_request_line`` (4094 bytes) the app never runs; below it
    the app's own limit answers 414 JSON."""
    now = str(int(time.time()))
    app_limit = requests.get(
        f"{live.base}/user-items?{QUERY}&p={'x' * 3000}", headers=signed(now), timeout=5
    )
    assert app_limit.status_code == 414
    assert app_limit.json()["error"].startswith("414 URI Too Long")
    server_limit = requests.get(f"{live.base}/user-items?{QUERY}&p={'x' * 5000}", timeout=5)
    assert server_limit.status_code in (400, 414)
    assert "Traceback" not in server_limit.text
    big_body = requests.get(
        f"{live.base}/user-items?{QUERY}", headers=signed(now), data=b"x" * 100_000, timeout=5
    )
    assert big_body.status_code == 413 and big_body.json()["error"].startswith("413")
    after = requests.get(
        f"{live.base}/user-items?{QUERY}", headers=signed(str(int(time.time()))), timeout=5
    )
    assert after.status_code == 200 and after.json()["success"] is True

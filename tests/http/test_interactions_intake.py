"""POST /interactions over real HTTP on 127.0.0.1: signed, validated, limited, durable."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

from mlcore.config import Settings
from mlcore.events.event_log import EventLog
from service.app import create_app
from tests.support.app_support import KEY, tiny_artifact, totara_headers
from tests.support.memory_store import MemoryModelStore

RECORD = {
    "tenant": "0",
    "user_id": "u1",
    "item_id": "container_course1",
    "rating": 1,
    "timestamp": 1_700_000_000,
}


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def without_hop_headers(app):
    """wsgiref refuses ``Connection`` (gunicorn sends it); drop it here."""

    def wrapped(environ, start_response):
        def start(status, headers, *rest):
            kept = [(k, v) for k, v in headers if k.lower() != "connection"]
            return start_response(status, kept, *rest)

        return app(environ, start)

    return wrapped


def serving(settings: Settings) -> Iterator[str]:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0"))
    app = without_hop_headers(create_app(settings, store))
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def base(tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        totara_key=KEY,
        models_dir=tmp_path,
        event_intake=True,
        event_max_bytes=4000,
        event_max_records=5,
    )
    yield from serving(settings)


def post(base: str, body: bytes | str, signed: bool = True, key: str = KEY) -> requests.Response:
    headers = totara_headers(key, time.time()) if signed else {}
    return requests.post(f"{base}/interactions", data=body, headers=headers, timeout=10)


def pending(tmp_path: Path) -> list[dict[str, object]]:
    return [vars(e.event) for e in EventLog.under(tmp_path).pending("0")]


def test_the_intake_is_off_by_default(tmp_path: Path) -> None:
    for base in serving(Settings(totara_key=KEY, models_dir=tmp_path)):
        assert post(base, json.dumps([RECORD])).status_code == 404
    assert pending(tmp_path) == []


def test_unsigned_or_wrongly_signed_posts_are_refused(base: str, tmp_path: Path) -> None:
    assert post(base, json.dumps([RECORD]), signed=False).status_code == 401
    assert post(base, json.dumps([RECORD]), key="not-the-key").status_code == 401
    assert pending(tmp_path) == []


def test_malformed_posts_get_a_400_naming_the_record(base: str, tmp_path: Path) -> None:
    bad = dict(RECORD, rating=3)
    answer = post(base, json.dumps([RECORD, bad]))
    assert answer.status_code == 400
    assert answer.json()["error"] == "record 2: rating must be 0 or 1"
    answer = post(base, "not json at all")
    assert answer.status_code == 400 and "line 1 is not valid JSON" in answer.json()["error"]
    answer = post(base, json.dumps([RECORD] * 6))
    assert answer.status_code == 400 and "at most 5" in answer.json()["error"]
    assert pending(tmp_path) == []


def test_a_body_over_the_limit_is_refused(base: str, tmp_path: Path) -> None:
    answer = post(base, json.dumps([dict(RECORD, user_id="x" * 250)] * 20))
    assert answer.status_code == 413
    assert "at most 4000 bytes" in answer.json()["error"]
    assert pending(tmp_path) == []


def test_valid_arrays_and_json_lines_are_logged(base: str, tmp_path: Path) -> None:
    answer = post(base, json.dumps([RECORD, dict(RECORD, user_id="u2", rating=0)]))
    assert answer.status_code == 202 and answer.json() == {"accepted": 2}
    lines = "\n".join(json.dumps(dict(RECORD, user_id=f"u{n}")) for n in (3, 4))
    assert post(base, lines).status_code == 202
    assert [e["user_id"] for e in pending(tmp_path)] == ["u1", "u2", "u3", "u4"]
    assert pending(tmp_path)[1]["rating"] == 0

"""gunicorn's own limits are explicit and its own errors are JSON (issue 14, item 10).

``service/gunicorn.conf.py`` states ``limit_request_line``, ``limit_request_fields`` and
``limit_request_field_size``. Requests over them, and malformed ones, are refused by
gunicorn before the app runs; they used to get gunicorn's ``text/html`` page and now
get the service's JSON error body with the same status (``service/gunicorn_errors.py``).
One real ``mlservice serve`` (2 workers, no trainer) on 127.0.0.1, raw sockets.
"""

from __future__ import annotations

import json
import runpy
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.filesystem_store.store import FilesystemModelStore
from tests.support.app_support import KEY, tiny_artifact
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_limits_are_stated_in_the_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_TOTARA_KEY", KEY)
    config = runpy.run_path(str(ROOT / "service" / "gunicorn.conf.py"))
    assert config["limit_request_line"] == 4094
    assert config["limit_request_fields"] == 100
    assert config["limit_request_field_size"] == 8190


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve")
    FilesystemModelStore(folder / "models").publish("0", tiny_artifact())
    port = free_port()
    environ = serve_environ(folder, port, KEY)
    process = start_serve(folder / "serve.log", environ, "--no-trainer")
    address = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(address, process, folder / "serve.log")
        yield address
    finally:
        stop_serve(process)


def _raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


HOST = b"Host: 127.0.0.1\r\n"
OVER_LIMIT = {
    "request line over 4094 bytes": (
        b"GET /user-items?" + b"x" * 5000 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
        414,
        "414 URI Too Long",
    ),
    "101 header fields": (
        b"GET / HTTP/1.1\r\n" + HOST + b"".join(b"X-F%d: 1\r\n" % i for i in range(101)) + b"\r\n",
        431,
        "431 Request Header Fields Too Large",
    ),
    "a header field over 8190 bytes": (
        b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"y" * 9000 + b"\r\n\r\n",
        431,
        "431 Request Header Fields Too Large",
    ),
    "malformed request line": (b"NONSENSE\r\n\r\n", 400, "400 Bad Request"),
}


@pytest.mark.parametrize("name", list(OVER_LIMIT))
def test_gunicorns_own_refusals_are_json(base: str, name: str) -> None:
    request, status, prefix = OVER_LIMIT[name]
    answer_status, headers, body = _raw(base, request)
    assert answer_status == status
    assert headers["content-type"] == "application/json"  # text/html before
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    payload = json.loads(body)
    assert payload["error"] == payload["msg"] and payload["error"].startswith(prefix)
    assert len(payload["error"]) < 300 and b"Traceback" not in body


def test_requests_within_the_limits_still_reach_the_app(base: str) -> None:
    status, headers, body = _raw(base, b"GET / HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body)

"""Debian's nginx with the repository's config (``deploy/nginx``) in front of ``mlservice serve``.

Shows what the proxy is for: 20 clients that send a header line every 5 s no longer
starve signed probes (gunicorn's sync workers only ever see complete requests), and
what nginx refuses itself is JSON in the service's error shape. Skips only when no
nginx binary can be had (``.ci/run`` installs it as root).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from mlcore.totara.token import make_token
from plugins.filesystem_store.store import FilesystemModelStore
from tests.support.app_support import KEY, tiny_artifact
from tests.support.nginx_support import nginx_binary, running_nginx
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)
from tests.support.slow_clients import SlowClients, probe_series

QUERY = "/user-items?totara_user_id=3&item_type=engage_article&tenant=0&n_items=5"


@dataclass
class Proxied:
    direct: str
    proxy: str
    folder: Path


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    nginx_binary()
    folder = tmp_path_factory.mktemp("nginx")
    FilesystemModelStore(folder / "models").publish("0", tiny_artifact("0"))
    port, proxy_port = free_port(), free_port()
    log = folder / "serve.log"
    process = start_serve(log, serve_environ(folder, port, KEY))
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process, log)
        with running_nginx(folder, proxy_port, port) as proxy:
            yield Proxied(f"http://127.0.0.1:{port}", proxy, folder)
    finally:
        stop_serve(process)


def signed() -> dict[str, str]:
    now = str(int(time.time()))
    return {"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, KEY)}


def test_answers_pass_through_unchanged(proxied: Proxied) -> None:
    direct = requests.get(proxied.direct + QUERY, headers=signed(), timeout=5)
    through = requests.get(proxied.proxy + QUERY, headers=signed(), timeout=5)
    assert through.status_code == direct.status_code == 200
    assert through.content == direct.content and through.json()["success"] is True
    unsigned = requests.get(proxied.proxy + "/health-check", timeout=5)
    assert unsigned.status_code == 401 and set(unsigned.json()) == {"error"}
    access = (proxied.folder / "access.log").read_text().splitlines()
    assert "totara_user_id" not in "\n".join(access)
    assert json.loads(access[-1])["path"] == "/health-check"


@pytest.mark.slow
def test_twenty_slow_clients_do_not_starve_signed_probes(proxied: Proxied) -> None:
    slow = SlowClients("127.0.0.1", int(proxied.proxy.rpartition(":")[2]), count=20, lines=3)
    slow.start()
    try:
        failures = probe_series(proxied.proxy, KEY, count=24, every=0.5, timeout=3.0)
    finally:
        slow.stop()
    assert failures == []


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status"),
    [
        ("POST", "/user-items", {}, b"x" * 100_000, 413),
        ("GET", "/user-items?q=" + "a" * 10_000, {}, b"", 414),
        ("GET", "/health-check", {"X-Big": "b" * 10_000}, b"", 400),
    ],
)
def test_over_limit_requests_get_json_errors(
    proxied: Proxied, method: str, path: str, headers: dict[str, str], body: bytes, status: int
) -> None:
    answer = requests.request(
        method, proxied.proxy + path, headers={**signed(), **headers}, data=body, timeout=5
    )
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    parsed = answer.json()
    assert parsed["error"] == parsed["msg"] and parsed["error"].startswith(str(status))


def test_a_service_that_is_down_is_a_json_502(tmp_path: Path) -> None:
    with running_nginx(tmp_path, free_port(), free_port()) as proxy:
        answer = requests.get(proxy + QUERY, headers=signed(), timeout=5)
    assert answer.status_code == 502 and answer.json()["error"].startswith("502 Bad Gateway")

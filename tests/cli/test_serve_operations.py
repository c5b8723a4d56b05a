"""A real ``mlservice serve``: metrics across workers, JSON logs, kill -9, clear start errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from mlcore.totara.token import make_token
from plugins.filesystem_store.store import FilesystemModelStore
from tests.support.app_support import KEY, tiny_artifact
from tests.support.serve_process import (
    ROOT,
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)

pytestmark = pytest.mark.slow
QUERY = "/user-items?totara_user_id=31337&item_type=engage_article&tenant=0&n_items=3"


def signed(offset: int = 0) -> dict[str, str]:
    now = str(int(time.time()) + offset)
    return {"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, KEY)}


def sample(metrics: str, name: str) -> float:
    """The value of the sample whose name and labels are ``name``."""
    return sum(
        float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name + " ")
    )


def test_metrics_count_every_worker_and_logs_are_json(tmp_path: Path) -> None:
    FilesystemModelStore(tmp_path / "models").publish("0", tiny_artifact("0"))
    port, admin_port = free_port(), free_port()
    environ = serve_environ(
        tmp_path, port, KEY, ML_ADMIN_BIND=f"127.0.0.1:{admin_port}", ML_LOG_FORMAT="json"
    )
    log = tmp_path / "serve.log"
    process = start_serve(log, environ)
    api, admin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}"
    try:
        wait_until_serving(admin, process, log)
        sent = 0
        while sent < 400 and (sent < 40 or len(serving_processes(log)) < 2):
            # New connections each time; go on until both sync workers answered some.
            assert requests.get(api + QUERY, headers=signed(), timeout=5).status_code == 200
            sent += 1
        stale = requests.get(api + "/health-check", headers=signed(offset=90), timeout=5)
        spoofed = requests.get(
            api + "/metrics", headers={"Host": f"127.0.0.1:{admin_port}"}, timeout=5
        )
        scrapes = [requests.get(admin + "/metrics", timeout=5).text for _ in range(6)]
    finally:
        stop_serve(process)
    assert stale.status_code == 401 and spoofed.status_code == 401  # never the admin app
    name = 'mlservice_http_requests_total{endpoint="/user-items",listener="api",method="GET",status="200"}'
    assert {sample(text, name) for text in scrapes} == {float(sent)}
    assert sample(scrapes[0], 'mlservice_auth_failures_total{listener="api",reason="stale"}') == 1.0
    assert 'mlservice_model_trained{tenant="0"} 1.0' in scrapes[0]
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = [
        line for line in lines if line.get("event") == "access" and line["path"] == "/user-items"
    ]
    assert len(access) == sent and len({line["process"] for line in access}) == 2
    assert all(line["query"].startswith("totara_user_id=-&") for line in access)
    assert "31337" not in log.read_text() and KEY not in log.read_text()
    rejected = [
        line
        for line in lines
        if line.get("event") == "auth_failure" and "stale by +90 s" in line["message"]
    ]
    assert len(rejected) == 1 and rejected[0]["reason"] == "stale"


def serving_processes(log: Path) -> set[int]:
    """Worker pids with an access-log line for /user-items so far."""
    found = set()
    for text in log.read_text().splitlines():
        if '"event": "access"' in text and '"/user-items"' in text:
            found.add(json.loads(text)["process"])
    return found


def children(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and ps")
def test_kill_9_of_serve_takes_gunicorn_along_and_a_restart_finds_the_port(tmp_path: Path) -> None:
    FilesystemModelStore(tmp_path / "models").publish("0", tiny_artifact("0"))
    port = free_port()
    environ = serve_environ(tmp_path, port, KEY)
    log = tmp_path / "serve.log"
    process = start_serve(log, environ)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process, log)
        (gunicorn,) = [
            pid
            for pid in children(process.pid)
            if "gunicorn" in Path(f"/proc/{pid}/cmdline").read_text()
        ]
        workers = children(gunicorn)
        assert len(workers) == 2
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in (gunicorn, *workers)):
            assert time.monotonic() < deadline, "gunicorn outlived mlservice serve"
            time.sleep(0.1)
        second = start_serve(tmp_path / "again.log", environ)
        try:
            wait_until_serving(f"http://127.0.0.1:{port}", second, tmp_path / "again.log")
            assert requests.get(f"http://127.0.0.1:{port}" + QUERY, headers=signed(), timeout=5).ok
        finally:
            stop_serve(second)
    finally:
        stop_serve(process)


def run_serve(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_taken_or_invalid_listeners_fail_at_once_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environ = serve_environ(tmp_path, port, KEY)
        busy = run_serve(environ)
    assert busy.returncode == 2
    assert busy.stderr.strip() == (
        f"mlservice serve: error: ML_BIND=127.0.0.1:{port}: the port is already in use (another "
        "mlservice or program listens there); stop it or choose another port"
    )
    bare = run_serve(environ, "--bind", "5000")
    assert (
        bare.returncode == 2
        and "must be host:port" in bare.stderr
        and "Traceback" not in bare.stderr
    )
    same = run_serve(environ, "--bind", "127.0.0.1:5999", "--admin-bind", "127.0.0.1:5999")
    assert same.returncode == 2 and "needs its own port" in same.stderr
    open_admin = run_serve(
        environ, "--bind", f"127.0.0.1:{free_port()}", "--admin-bind", "0.0.0.0:5998"
    )
    assert open_admin.returncode == 2 and "ML_ADMIN_KEY is not set" in open_admin.stderr
    assert not (tmp_path / "logs" / "prometheus").exists()

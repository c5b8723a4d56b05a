"""Start and stop a real ``mlservice serve`` (gunicorn) on 127.0.0.1 for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_environ(tmp_path: Path, port: int, key: str, **more: str) -> dict[str, str]:
    """This process's environment without ``ML_*``/``FLASK_*``, plus a 2-worker service on
    ``port`` with its models and logs under ``tmp_path`` and ``more`` on top."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # No admin listener unless a test asks: 127.0.0.1:5001 may be taken on a shared host.
    environ["ML_ADMIN_BIND"] = ""
    environ.update(
        ML_MODELS_DIR=str(tmp_path / "models"),
        ML_LOGS_DIR=str(tmp_path / "logs"),
        ML_BIND=f"127.0.0.1:{port}",
        ML_WORKERS="2",
        ML_TOTARA_KEY=key,
        ML_RELOAD_INTERVAL="0.5",
        **more,
    )
    return environ


def start_serve(log: Path, environ: Mapping[str, str], *args: str) -> subprocess.Popen[bytes]:
    """``mlservice serve *args`` in its own process group, output to ``log``."""
    with open(log, "wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", *args],
            cwd=ROOT,
            env=dict(environ),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_serve(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the whole process group (master, workers, trainer); SIGKILL after ``grace``."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_serving(
    base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0
) -> None:
    """Wait until ``GET base/`` answers 200.

    Raises:
        AssertionError: The process ended or ``timeout`` passed; the message holds ``log``.
    """
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(base + "/", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("service did not start:\n" + log.read_text())
        time.sleep(0.1)

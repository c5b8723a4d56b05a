"""Slow clients against ``mlservice serve``, direct and behind ``deploy/nginx``.

``python -m benchmarks.slow_clients_benchmark`` starts a real service (2 sync
workers, a tiny model) on loopback, then for each target opens 20 connections
that send one request header line every 5 s and, meanwhile, sends 24 signed
``/health-check`` probes, 2 per second, 3 s timeout each, and prints how many
failed. Uses the helpers of ``tests/deploy/test_nginx_proxy.py``; needs Debian's
nginx. All traffic stays on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from benchmarks.common import machine
from plugins.filesystem_store.store import FilesystemModelStore
from tests.support.app_support import KEY, tiny_artifact
from tests.support.nginx_support import running_nginx
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)
from tests.support.slow_clients import SlowClients, probe_series

PROBES, EVERY, TIMEOUT = 24, 0.5, 3.0


def measure(base: str, port: int) -> tuple[list[str], float]:
    """Failed probes and seconds, with 20 slow clients on ``port``."""
    slow = SlowClients("127.0.0.1", port, count=20, interval=5.0, lines=3)
    slow.start()
    started = time.monotonic()
    try:
        return probe_series(base, KEY, PROBES, EVERY, TIMEOUT), time.monotonic() - started
    finally:
        slow.stop()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    FilesystemModelStore(folder / "models").publish("0", tiny_artifact("0"))
    port = free_port()
    process = start_serve(folder / "serve.log", serve_environ(folder, port, KEY))
    print(machine())
    print("| target | failed probes | seconds |\n| --- | --- | --- |")
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process, folder / "serve.log")
        proxy_port = free_port()
        for name in ("gunicorn direct", "nginx (deploy/nginx)"):
            direct = name.startswith("gunicorn")
            context = nullcontext(None) if direct else running_nginx(folder, proxy_port, port)
            with context:
                target = port if direct else proxy_port
                failures, seconds = measure(f"http://127.0.0.1:{target}", target)
            print(f"| {name} | {len(failures)} of {PROBES} | {seconds:.1f} |")
    finally:
        stop_serve(process)


if __name__ == "__main__":
    main()

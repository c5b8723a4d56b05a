"""Run Debian's nginx with the repository's config in front of a local service."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "nginx"


def nginx_binary() -> str:
    """The nginx executable, or skip with how to get it."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does it as root)")
    return found


def write_config(folder: Path, listen_port: int, upstream_port: int) -> Path:
    """A top-level config: the repo's two includes, upstream and listener on loopback."""
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir(exist_ok=True)
    user = "user root root;" if os.geteuid() == 0 else ""
    text = f"""
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
daemon off;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {CONFIG}/mlservice-http.conf;
    access_log {folder}/access.log mlservice_json;
    upstream mlservice_api {{ server 127.0.0.1:{upstream_port}; }}
    server {{
        listen 127.0.0.1:{listen_port};
        include {CONFIG}/mlservice-server.conf;
    }}
}}
"""
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


@contextmanager
def running_nginx(folder: Path, listen_port: int, upstream_port: int) -> Iterator[str]:
    """nginx on ``127.0.0.1:listen_port`` until the block ends; yields its base URL."""
    binary = nginx_binary()
    config = write_config(folder, listen_port, upstream_port)
    with open(folder / "nginx.out", "wb") as log:
        process = subprocess.Popen(
            [binary, "-p", str(folder), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{listen_port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(base + "/", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "nginx did not start:\n"
                        + (folder / "nginx.out").read_text()
                        + (folder / "error.log").read_text()
                    ) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

"""moto's S3 server as a separate process on 127.0.0.1 for the tests (``moto[server]``).

``python -m tests.support.moto_s3 PORT`` serves moto's own WSGI application with
werkzeug's threaded server, as ``moto_server`` does, with one difference: conditional
PUTs (``If-Match``/``If-None-Match``) are handled one at a time. moto 5.2 checks the
condition and then stores the object in two steps with no lock between them, so two
racing conditional writes could both pass under its threaded server; AWS S3 performs a
conditional write atomically, and the race tests test our protocol, not that gap.
Every other request is concurrent, as with plain moto.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.serve_process import ROOT, free_port

#: A distinctive secret: tests assert it never shows up in a log or a message.
SECRET_KEY = "moto-secret-" + "Zq9vX2kLw8"
ACCESS_KEY = "AKIAMOTOTESTING0001"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


def missing() -> str | None:
    """Why the S3 tests cannot run here, or None."""
    needed = ("boto3", "moto", "flask", "werkzeug")
    absent = [name for name in needed if importlib.util.find_spec(name) is None]
    if absent:
        return f"{', '.join(absent)} not installed: pip install -e '.[test]' (moto[server], boto3)"
    return None


@dataclass
class MotoS3:
    """A running moto S3 server."""

    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> Any:
        import boto3

        session = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )
        return session.client("s3", endpoint_url=self.endpoint)

    def new_bucket(self) -> str:
        """A new empty bucket with a unique name."""
        name = f"test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name

    def options(self, bucket: str, **more: Any) -> dict[str, Any]:
        """``ML_MODEL_STORE_OPTIONS`` of an ``s3`` store on this server."""
        return {"bucket": bucket, "endpoint_url": self.endpoint, **more}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def start(log: Path, timeout: float = 30.0) -> MotoS3:
    """Start the server on a free port and wait until it answers."""
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.moto_s3", str(port)],
            cwd=ROOT,
            env={**os.environ, **CREDENTIALS},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = MotoS3(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.client().list_buckets()
            return server
        except Exception:  # noqa: BLE001 - not listening yet
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("moto did not start:\n" + log.read_text()) from None
            time.sleep(0.1)


class SerialConditionalWrites:
    """WSGI middleware: one conditional write at a time, as S3 does them atomically."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Mapping[str, Any], start_response: Any) -> Iterable[bytes]:
        conditional = environ.get("REQUEST_METHOD") in ("PUT", "POST") and (
            "HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ
        )
        if not conditional:
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


def main(port: int) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    os.environ["MOTO_PORT"] = str(port)
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1",
        port,
        SerialConditionalWrites(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))


def s3_store(options: Mapping[str, Any], cache: Path, *, keep_versions: int = 5) -> Any:
    """An ``s3`` model store built through the registry, as the service does.

    Args:
        options: ``ML_MODEL_STORE_OPTIONS`` (see :meth:`MotoS3.options`).
        cache: This host's cache folder.
    """
    from mlcore.config import Settings
    from mlcore.plugin_manager import make_plugin_manager
    from mlcore.registry import Registry

    settings = Settings(models_dir=cache.parent / "models", keep_versions=keep_versions)
    return Registry(make_plugin_manager()).create(
        "model store", "s3", {**options, "cache_dir": str(cache)}, settings=settings
    )

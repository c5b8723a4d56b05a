"""A small fake Totara site on 127.0.0.1 for tests: export endpoint and status query.

It answers ``GET /pluginfile.php/1/ml_recommender/export/<name>`` with Totara's
checks in the order of contract §6.2 (token missing/invalid/outside ±30 s -> 404,
unknown name -> 404, ``tenants.csv`` without multitenancy -> 204, export not
complete or file missing -> 202, else 200 ``text/csv``) and
``POST /totara/webapi/ajax.php`` with the status query of §6.3. Per-file
:class:`Behaviour` overrides simulate a slow, broken or not-ready server.
Every request is recorded in :attr:`FakeTotara.requests`.

Usage::

    with FakeTotara(folder, key="k") as totara:
        totara.behaviours["tenants.csv"] = Behaviour(forever=202)
        requests.get(totara.url + "/pluginfile.php/1/ml_recommender/export/tenants.csv")
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EXPORT_PREFIX = "/pluginfile.php/1/ml_recommender/export/"
STATUS_PATH = "/totara/webapi/ajax.php"
PER_TENANT = re.compile(r"^(user_interactions|user_data|item_data)_(\d+)\.csv$")


@dataclass
class Behaviour:
    """How the fake answers one file after the token and name checks pass.

    Attributes:
        statuses: Answered first, one per request, in order (e.g. ``[202, 202]``).
        forever: Answered to every later request (None: Totara's normal answer).
        delay: Seconds to sleep before answering.
        truncate_to: Send the full ``Content-Length`` but only this many bytes.
        body: Serve these bytes instead of the file.
        omit_length: Stream without ``Content-Length`` (connection closed at the end).
        location: ``Location`` header to send (with a 3xx status).
        gzip: Send the body gzip-compressed (``Content-Encoding: gzip``).
        trickle: Send the body one byte at a time, this many seconds apart (each read
            arrives well within any read timeout: only a total deadline ends it).
        trickle_headers: Send the status line and headers one byte at a time, this many
            seconds apart.
    """

    statuses: list[int] = field(default_factory=list)
    forever: int | None = None
    delay: float = 0.0
    truncate_to: int | None = None
    body: bytes | None = None
    omit_length: bool = False
    location: str = ""
    gzip: bool = False
    trickle: float = 0.0
    trickle_headers: float = 0.0

    def next_status(self) -> int | None:
        if self.statuses:
            return self.statuses.pop(0)
        return self.forever


@dataclass(frozen=True)
class SeenRequest:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    status: int

    def header(self, name: str) -> str | None:
        """A header's value, looked up case-insensitively."""
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())


class FakeTotara:
    """The fake site. Start with ``with`` (or :meth:`start`/:meth:`stop`).

    Args:
        folder: Export folder served (``tenants.csv`` and per-tenant files).
        key: The shared secret Totara checks tokens against.
        multitenancy: False answers 204 to ``tenants.csv`` and exports tenant 0 only.
        clock: Totara's clock (Unix seconds) for the ±30 s check.
        tls: Serve HTTPS with this server context (url then starts with https://).
    """

    def __init__(
        self,
        folder: Path,
        *,
        key: str,
        multitenancy: bool = True,
        clock: Callable[[], float] = time.time,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.folder = folder
        self.tls = tls
        #: Answers whose body could not be sent completely (the client hung up).
        self.aborted_writes = 0
        self.key = key
        self.multitenancy = multitenancy
        self.clock = clock
        self.export_complete = True
        self.status_answer: object = {"data": {"totara_webapi_status": {"status": "ok"}}}
        self.behaviours: dict[str, Behaviour] = {}
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Base URL, like ``ML_TOTARA_URL``, without a trailing slash."""
        assert self._server is not None, "FakeTotara not started"
        host, port = self._server.server_address[:2]
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host!s}:{port}"

    def start(self) -> FakeTotara:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTotara:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def export_requests(self, name: str | None = None) -> list[SeenRequest]:
        """Recorded export downloads (of ``name`` only, when given)."""
        with self._lock:
            seen = [r for r in self.requests if r.path.startswith(EXPORT_PREFIX)]
        return [r for r in seen if name is None or r.path == EXPORT_PREFIX + name]

    def record(self, request: SeenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def count_aborted_write(self) -> None:
        with self._lock:
            self.aborted_writes += 1

    def exported_tenants(self) -> list[str]:
        """Tenant ids of the export: ``0``, plus ``tenants.csv``'s with multitenancy."""
        if not self.multitenancy:
            return ["0"]
        try:
            lines = (self.folder / "tenants.csv").read_text(encoding="utf-8").splitlines()
        except OSError:
            return ["0"]
        return sorted({"0", *(line.strip() for line in lines[1:] if line.strip())})

    def token_ok(self, time_value: str, key_value: str) -> bool:
        """Totara's check (§3.3): both present, time within ±30 s, exact digest."""
        if not time_value or not key_value:
            return False
        try:
            seconds = float(time_value)
        except ValueError:
            return False
        if not (int(self.clock()) - 30 <= seconds <= int(self.clock()) + 30):
            return False
        time_string = str(int(seconds)) if seconds.is_integer() else time_value
        expected = hashlib.sha256(f"{time_string}{self.key}".encode()).hexdigest()
        return key_value == expected

    def export_answer(self, name: str, headers: dict[str, str]) -> tuple[int, bytes | None]:
        """Status and body for an export download, in the order of §6.2."""
        if "/" in name or not self.token_ok(
            headers.get("x-totara-time", ""), headers.get("x-totara-ml-key", "")
        ):
            return 404, None
        match = PER_TENANT.match(name)
        if name != "tenants.csv" and not (match and match.group(2) in self.exported_tenants()):
            return 404, None
        if name == "tenants.csv" and not self.multitenancy:
            return 204, None
        path = self.folder / name
        if not self.export_complete or not path.is_file():
            return 202, None
        return 200, path.read_bytes()


def _handler_for(totara: FakeTotara) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Silence the default stderr access log."""

        def do_GET(self) -> None:
            headers = dict(self.headers.items())
            if not self.path.startswith(EXPORT_PREFIX):
                self._answer(404, b"", headers)
                return
            name = self.path[len(EXPORT_PREFIX) :]
            behaviour = totara.behaviours.get(name, Behaviour())
            lowered = {k.lower(): v for k, v in headers.items()}
            status, body = totara.export_answer(name, lowered)
            if status in (200, 202, 204):
                override = behaviour.next_status()
                if override is not None:
                    status, body = override, None
            if behaviour.body is not None and status == 200:
                body = behaviour.body
            time.sleep(behaviour.delay)
            if behaviour.gzip and status == 200:
                body = gzip.compress(body or b"")
            self._answer(status, body or b"", headers, behaviour)

        def do_POST(self) -> None:
            headers = dict(self.headers.items())
            length = int(self.headers.get("Content-Length", "0") or 0)
            request = json.loads(self.rfile.read(length) or b"null")
            if self.path != STATUS_PATH or not isinstance(request, dict):
                self._answer(404, b"", headers)
                return
            if request.get("operationName") != "totara_webapi_status_nosession":
                self._answer(400, b"{}", headers)
                return
            answer = totara.status_answer
            if isinstance(answer, int):
                self._answer(answer, b"", headers)
                return
            self._answer(200, json.dumps(answer).encode(), headers, content_type="application/json")

        def _answer(
            self,
            status: int,
            body: bytes,
            headers: dict[str, str],
            behaviour: Behaviour | None = None,
            content_type: str = "text/csv",
        ) -> None:
            totara.record(SeenRequest(self.command, self.path, headers, status))
            behaviour = behaviour or Behaviour()
            if behaviour.trickle_headers:
                self._trickle_headers(status, body, behaviour.trickle_headers)
                return
            self.send_response(status)
            if status == 200:
                self.send_header("Content-Type", content_type)
            if behaviour.gzip and status == 200:
                self.send_header("Content-Encoding", "gzip")
            if behaviour.location:
                self.send_header("Location", behaviour.location)
            if behaviour.omit_length and status == 200:
                self.send_header("Connection", "close")
                self.close_connection = True
            elif status != 204:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status == 204:
                return
            sent = body if behaviour.truncate_to is None else body[: behaviour.truncate_to]
            piece = 1 if behaviour.trickle else 256 * 1024
            try:
                for start in range(0, len(sent), piece):
                    self.wfile.write(sent[start : start + piece])
                    if behaviour.trickle:
                        self.wfile.flush()
                        time.sleep(behaviour.trickle)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                totara.count_aborted_write()
                self.close_connection = True
                return
            if behaviour.truncate_to is not None:
                self.close_connection = True

        def _trickle_headers(self, status: int, body: bytes, seconds: float) -> None:
            head = (
                f"HTTP/1.1 {status} OK\r\nContent-Type: text/csv\r\n"
                f"X-Padding: {'p' * 40}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode("ascii")
            self.close_connection = True
            try:
                for byte in range(len(head)):
                    self.wfile.write(head[byte : byte + 1])
                    self.wfile.flush()
                    time.sleep(seconds)
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                totara.count_aborted_write()

    return Handler

"""Slow clients (a header line every few seconds) and signed probes, for proxy tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field

import requests

from mlcore.totara.token import make_token


@dataclass
class SlowClients:
    """``count`` connections that send a request's headers one line per ``interval`` s.

    They never finish their request; :meth:`stop` closes them. Bounded: each sends at
    most ``lines`` header lines.
    """

    host: str
    port: int
    count: int = 20
    interval: float = 5.0
    lines: int = 12
    sockets: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        for _ in range(self.count):
            connection = socket.create_connection((self.host, self.port), timeout=5)
            connection.sendall(b"GET /health-check HTTP/1.1\r\nHost: slow\r\n")
            self.sockets.append(connection)
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self) -> None:
        for line in range(self.lines):
            if self._stop.wait(self.interval):
                return
            for connection in self.sockets:
                with contextlib.suppress(OSError):
                    connection.sendall(f"X-Slow-{line}: 1\r\n".encode())

    def stop(self) -> None:
        self._stop.set()
        for connection in self.sockets:
            connection.close()
        if self._thread is not None:
            self._thread.join(5)


def signed_probe(base: str, key: str, timeout: float) -> str | None:
    """One signed ``GET /health-check``; None when it answered 200, else what went wrong."""
    now = str(int(time.time()))
    headers = {"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, key)}
    try:
        answer = requests.get(base + "/health-check", headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return type(exc).__name__
    return None if answer.status_code == 200 else f"HTTP {answer.status_code}"


def probe_series(base: str, key: str, count: int, every: float, timeout: float) -> list[str]:
    """``count`` probes ``every`` seconds apart; the failures (empty when all answered)."""
    failures = []
    for _ in range(count):
        started = time.monotonic()
        problem = signed_probe(base, key, timeout)
        if problem is not None:
            failures.append(problem)
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    return failures

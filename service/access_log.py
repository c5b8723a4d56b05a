"""Access log and request metrics around a WSGI app (one line per request, info level).

Each request gets a request id (``X-Request-Id`` from the proxy when it is a
plain token, else a fresh one) in ``environ["mlservice.request_id"]``, is counted
and timed (``mlservice_http_requests_total``, ``..._duration_seconds``) and logged
with method, path, query string, status, bytes, latency, client and tenant.
``totara_user_id`` values are replaced by ``-`` unless ``ML_LOG_USER_IDS=1``.
Nothing is added to the response, so the Totara-facing answers stay byte-exact.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from service.metrics import recorders

log = logging.getLogger("service.access")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

USER_PARAMETER = "totara_user_id"
MAX_LOGGED_QUERY = 512
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def logged_query(query: str, user_ids: bool) -> str:
    """The query string as logged: user ids replaced by ``-`` unless ``user_ids``."""
    if not user_ids:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(name == USER_PARAMETER for name, _ in pairs):
            query = urlencode([(n, "-" if n == USER_PARAMETER else v) for n, v in pairs])
    return query[:MAX_LOGGED_QUERY]


def request_id(environ: dict[str, Any]) -> str:
    """The proxy's ``X-Request-Id`` when it is a plain token, else a new random id."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]


class AccessLog:
    """Wraps ``app``; logs and counts every request it answers.

    Args:
        app: The WSGI app.
        listener: ``api`` (the Totara port) or ``admin``: a label and a log field.
        endpoints: Paths counted under their own name; anything else is ``other``.
        enabled: Write the log line (metrics are recorded regardless).
        user_ids: Keep ``totara_user_id`` values in the logged query.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        app: WsgiApp,
        *,
        listener: str,
        endpoints: frozenset[str],
        enabled: bool = True,
        user_ids: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self.listener = listener
        self.endpoints = endpoints
        self.enabled = enabled
        self.user_ids = user_ids
        self.clock = clock

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = self.clock()
        environ["mlservice.request_id"] = request_id(environ)
        seen: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen[:] = [status]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        try:
            body = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self._done(environ, seen[0] if seen else "500", sum(map(len, body)), started)
        return body

    def _done(self, environ: dict[str, Any], status: str, size: int, started: float) -> None:
        seconds = self.clock() - started
        path = environ.get("PATH_INFO", "")
        endpoint = path if path in self.endpoints else "other"
        method = environ.get("REQUEST_METHOD", "")
        code = status.split(" ", 1)[0]
        recorders.request(self.listener, endpoint, method, code, seconds)
        if not self.enabled:
            return
        query = logged_query(environ.get("QUERY_STRING", ""), self.user_ids)
        tenant = dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("tenant", "")
        log.info(
            '%s "%s %s%s" %s %d %.1fms',
            environ.get("REMOTE_ADDR", "-"),
            method,
            path,
            f"?{query}" if query else "",
            code,
            size,
            seconds * 1000.0,
            extra={
                "event": "access",
                "listener": self.listener,
                "request_id": environ["mlservice.request_id"],
                "method": method,
                "path": path,
                "query": query,
                "status": int(code) if code.isdigit() else code,
                "bytes": size,
                "latency_ms": round(seconds * 1000.0, 3),
                "tenant": tenant[:64],
                "client": environ.get("REMOTE_ADDR", ""),
            },
        )

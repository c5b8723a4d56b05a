"""JSON bodies for the errors gunicorn answers itself, before the app runs.

gunicorn refuses a request line over ``limit_request_line``, more than
``limit_request_fields`` header fields, a field over ``limit_request_field_size``
and malformed requests with its own ``text/html`` page, written by
``gunicorn.util.write_error`` from the worker's ``handle_error``. Every worker class
(sync, gthread) calls that one function, so :func:`install` replaces it, in each
worker after it started, with one that writes the service's JSON error body
(``{"error": ..., "msg": ...}``, as :mod:`service.errors`) with the same status and
``Connection: close``.
"""

from __future__ import annotations

import logging
from typing import Any

from mlcore.errors import shortened
from service.errors import error_body

log = logging.getLogger(__name__)

#: Longest part of gunicorn's message kept (it may quote the request line).
MESSAGE_LIMIT = 200


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """``gunicorn.util.write_error`` with a JSON body instead of HTML."""
    from gunicorn import util  # noqa: PLC0415 - only inside a gunicorn worker

    detail = f": {shortened(mesg, MESSAGE_LIMIT)}" if mesg else ""
    body = error_body(f"{status_int} {reason}{detail}").encode("utf-8")
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


def install() -> bool:
    """Make gunicorn answer its own errors with JSON in this process; False if it cannot."""
    try:
        from gunicorn import util  # noqa: PLC0415
    except ImportError:
        return False
    if not callable(getattr(util, "write_error", None)):
        log.warning("this gunicorn has no util.write_error: its own errors stay text/html")
        return False
    util.write_error = write_json_error
    return True

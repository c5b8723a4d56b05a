"""JSON bodies for errors outside the Totara envelope (contract §4.2, §13.9).

Every error carries a readable ``error`` string and the same text in ``msg``;
uncaught exceptions become a 500 without a traceback (it goes to the log only).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon

log = logging.getLogger(__name__)

INTERNAL = "500 Internal Server Error: the service failed to answer; see its log"

_READABLE = {
    404: "404 Not Found: The requested URL was not found on the server.",
    405: "405 Method Not Allowed: The method is not allowed for the requested URL.",
}


def error_body(text: str) -> str:
    """``{"error": text, "msg": text}`` as JSON."""
    return json.dumps({"error": text, "msg": text})


def serialize_http_error(req: falcon.Request, resp: falcon.Response, error: Any) -> None:
    """Falcon error serializer: every :class:`falcon.HTTPError` as the JSON above."""
    text = _READABLE.get(error.status_code)
    if text is None:
        detail = f": {error.description}" if error.description else ""
        text = f"{error.status}{detail}"
    resp.content_type = falcon.MEDIA_JSON
    resp.text = error_body(text)


def handle_uncaught(
    req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]
) -> None:
    """Last-resort handler: log the traceback, answer a 500 JSON without it."""
    log.exception("uncaught error on %s %s", req.method, req.path)
    resp.status = falcon.HTTP_500
    resp.content_type = falcon.MEDIA_JSON
    resp.text = error_body(INTERNAL)

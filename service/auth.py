"""Token authentication of Totara's requests (contract §3.4)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import falcon

from mlcore.totara.token import KEY_HEADER, TIME_HEADER, token_problem
from service.rate_limit import RateLimit

log = logging.getLogger(__name__)

#: Paths that expose no data and stay open (contract §3.4).
OPEN_PATHS = frozenset({"/", "/favicon.ico", "/openapi.yaml"})

REJECTED = "Missing or invalid X-Totara-Ml-Key/X-Totara-Time headers"


class TokenAuthMiddleware:
    """Rejects requests without a valid ``X-Totara-Time``/``X-Totara-Ml-Key`` pair.

    Args:
        key: The shared secret; never logged or echoed.
        clock: Current Unix time in seconds.
        open_paths: Paths served without a token.
        rate_limit: How many rejections per period are logged (all are counted).
    """

    def __init__(
        self,
        key: str,
        clock: Callable[[], float],
        open_paths: frozenset[str] = OPEN_PATHS,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self._key = key
        self._clock = clock
        self._open_paths = open_paths
        self._rate_limit = rate_limit or RateLimit()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path in self._open_paths:
            return
        # Falcon header lookup is case-insensitive.
        reason = token_problem(
            req.get_header(TIME_HEADER), req.get_header(KEY_HEADER), self._key, self._clock()
        )
        if reason is None:
            return
        log_rejection(req, "api", reason, self._rate_limit)
        resp.status = falcon.HTTP_401
        resp.content_type = falcon.MEDIA_JSON
        resp.text = json.dumps({"error": REJECTED})
        resp.complete = True


#: What to check, by reason, in the log line of a rejected Totara request.
HINTS = {
    "missing": "X-Totara-Time or X-Totara-Ml-Key header absent",
    "malformed": "X-Totara-Time is not whole Unix seconds",
    "stale": "clocks differ by more than 30 s: check NTP on both hosts",
    "wrong_key": "ML_TOTARA_KEY differs from Totara's $CFG->ml_service_key",
}


def log_rejection(req: falcon.Request, listener: str, reason: str, limit: RateLimit) -> None:
    """Count every rejection; log it (with its reason, never a secret) unless rate-limited."""
    from service.metrics import recorders

    label = "stale" if reason.startswith("stale") else reason.replace(" ", "_")
    recorders.auth_failure(listener, label)
    allowed, suppressed = limit.allow()
    if not allowed:
        return
    hint = HINTS.get(label, "") if listener == "api" else ""
    log.warning(
        "rejected %s %s from %s: %s%s%s",
        req.method,
        req.path,
        req.remote_addr,
        reason,
        f" ({hint})" if hint else "",
        f"; {suppressed} more rejections were not logged" if suppressed else "",
        extra={
            "event": "auth_failure",
            "listener": listener,
            "reason": label,
            "request_id": req.env.get("mlservice.request_id", ""),
        },
    )

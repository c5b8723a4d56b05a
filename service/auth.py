"""Token authentication of Totara's requests (contract §3.4)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import falcon

from mlcore.totara.token import KEY_HEADER, TIME_HEADER, token_is_valid

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
    """

    def __init__(
        self,
        key: str,
        clock: Callable[[], float],
        open_paths: frozenset[str] = OPEN_PATHS,
    ) -> None:
        self._key = key
        self._clock = clock
        self._open_paths = open_paths

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path in self._open_paths:
            return
        # Falcon header lookup is case-insensitive.
        if token_is_valid(
            req.get_header(TIME_HEADER), req.get_header(KEY_HEADER), self._key, self._clock()
        ):
            return
        log.info("rejected %s %s from %s: bad token", req.method, req.path, req.remote_addr)
        resp.status = falcon.HTTP_401
        resp.content_type = falcon.MEDIA_JSON
        resp.text = json.dumps({"error": REJECTED})
        resp.complete = True

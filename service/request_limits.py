"""Request limits checked before authentication: query-string size, bodies, methods.

Totara sends short GET requests without a body (contract §4.1, §5.2: about 100
bytes of query string). Anything far outside that shape is refused early with
a JSON error through the app's error serializer, so it never reaches a
resource:

* a query string longer than ``max_query_bytes`` -> 414 ``URI Too Long``;
* a declared body (``Content-Length``) longer than ``max_body_bytes`` -> 413;
  smaller bodies are never read (GET parameters come from the query string only);
* ``OPTIONS`` on an endpoint -> 405 like every other method but GET (Falcon
  would otherwise answer its default empty 200).

gunicorn refuses even larger request lines (``limit_request_line``, 4094 bytes)
and header blocks itself, with its own 414/431 page, before the app runs.
"""

from __future__ import annotations

import falcon

#: Longest accepted query string in bytes (Totara's are about 100).
MAX_QUERY_BYTES = 2048
#: Largest declared request body in bytes; bodies are ignored, never parsed.
MAX_BODY_BYTES = 64 * 1024


class RequestLimitsMiddleware:
    """Refuses oversized or unsupported requests with JSON errors.

    Args:
        max_query_bytes: Longest accepted raw (percent-encoded) query string.
        max_body_bytes: Largest accepted ``Content-Length``.
        body_limits: Paths that take bodies (``POST /interactions``), with their own
            largest ``Content-Length``.
    """

    def __init__(
        self,
        max_query_bytes: int = MAX_QUERY_BYTES,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_limits: dict[str, int] | None = None,
    ) -> None:
        self.max_query_bytes = max_query_bytes
        self.max_body_bytes = max_body_bytes
        self.body_limits = body_limits or {}

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if len(req.query_string) > self.max_query_bytes:
            raise falcon.HTTPUriTooLong(
                description=f"the query string is longer than {self.max_query_bytes} bytes"
            )
        length = req.content_length
        limit = self.body_limits.get(req.path, self.max_body_bytes)
        if length is not None and length > limit:
            # The unread body must not be drained for the next request of this connection.
            resp.set_header("Connection", "close")
            raise falcon.HTTPContentTooLarge(
                description=f"at most {limit} bytes are accepted"
                if req.path in self.body_limits
                else f"request bodies are not used; at most {limit} bytes are accepted"
            )

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict
    ) -> None:
        if req.method == "OPTIONS":
            raise falcon.HTTPMethodNotAllowed(["POST"] if req.path in self.body_limits else ["GET"])

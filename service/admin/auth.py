"""Who may use the admin listener: loopback freely, anything else with ``ML_ADMIN_KEY``.

With a key, every request needs it, as ``Authorization: Bearer <key>`` (Prometheus
``authorization``, curl) or HTTP basic with any user name and the key as password
(browsers, Prometheus ``basic_auth``); compared in constant time, never logged.
Without a key the listener must be bound to loopback: ``mlservice serve`` refuses
to start otherwise (:func:`key_problem`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json

import falcon

from mlcore.config import Settings
from service.auth import log_rejection
from service.rate_limit import RateLimit

REALM = 'Basic realm="mlservice admin", charset="UTF-8"'
REJECTED = "the admin listener needs ML_ADMIN_KEY (Authorization: Bearer, or basic auth)"


def is_loopback(bind: str) -> bool:
    """Whether ``host:port`` listens on loopback only (``localhost``, 127.0.0.0/8, ``[::1]``)."""
    host = bind.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def key_problem(settings: Settings) -> str | None:
    """Why the admin listener must not start as configured, or None."""
    if not settings.admin_bind or settings.admin_key or is_loopback(settings.admin_bind):
        return None
    return (
        f"ML_ADMIN_BIND={settings.admin_bind} is not loopback and ML_ADMIN_KEY is not set: "
        "set ML_ADMIN_KEY (a long random string) or bind the admin listener to 127.0.0.1"
    )


def presented_key(authorization: str | None) -> str | None:
    """The key in a bearer or basic ``Authorization`` header; None when absent or garbled."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


class AdminAuthMiddleware:
    """Requires ``key`` on every admin request when a key is set.

    Args:
        key: ``ML_ADMIN_KEY`` (empty: open, loopback only).
        rate_limit: How many rejections per period are logged.
    """

    def __init__(self, key: str, rate_limit: RateLimit | None = None) -> None:
        self._key = key.encode()
        self._rate_limit = rate_limit or RateLimit()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self._key:
            return
        given = presented_key(req.get_header("Authorization"))
        if given is not None and hmac.compare_digest(given.encode(), self._key):
            return
        reason = "missing" if req.get_header("Authorization") is None else "wrong key"
        log_rejection(req, "admin", reason, self._rate_limit)
        resp.status = falcon.HTTP_401
        resp.set_header("WWW-Authenticate", REALM)
        resp.content_type = falcon.MEDIA_JSON
        resp.text = json.dumps({"error": REJECTED})
        resp.complete = True

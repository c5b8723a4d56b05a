"""Cross-site request forgery protection of the admin listener's POST endpoints.

A browser that is logged in (basic auth) or on the admin host (loopback) sends
those credentials with any form another site makes it submit. So a POST passes
only when it cannot have come from another site:

* it carries the dashboard's form token (an HMAC of a time and a nonce under the
  service's secret, valid for ``lifetime`` seconds, the same in every worker), or
* it carries a header a cross-site form cannot set without a CORS preflight, which
  this listener never grants: ``Authorization: Bearer`` or ``X-Requested-By``
  (what ``curl -X POST -H 'X-Requested-By: me'`` sends);

and never when the browser says it is cross-site (``Sec-Fetch-Site``) or sends an
``Origin`` other than the host it talks to.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable

import falcon

#: Set by the gunicorn master so every worker signs and checks with one secret.
SECRET_VARIABLE = "MLSERVICE_ADMIN_CSRF_SECRET"
FIELD = "csrf_token"


def shared_secret() -> bytes:
    """The secret of this service (from the master), else one for this process."""
    text = os.environ.get(SECRET_VARIABLE, "")
    return text.encode() if text else secrets.token_bytes(32)


class CsrfTokens:
    """Issues and checks form tokens.

    Args:
        secret: Signing secret shared by the workers.
        clock: Unix time.
        lifetime: Seconds a token stays valid.
    """

    def __init__(
        self, secret: bytes, clock: Callable[[], float] = time.time, lifetime: float = 8 * 3600
    ) -> None:
        self._secret = secret
        self._clock = clock
        self._lifetime = lifetime

    def issue(self) -> str:
        """A fresh token ``<time>.<nonce>.<mac>``."""
        payload = f"{int(self._clock())}.{secrets.token_hex(8)}"
        return f"{payload}.{self._mac(payload)}"

    def valid(self, token: str | None) -> bool:
        """Whether ``token`` was issued here and has not expired."""
        if not token or token.count(".") != 2:
            return False
        payload, _, mac = token.rpartition(".")
        issued = payload.partition(".")[0]
        if not issued.isdigit() or not hmac.compare_digest(mac, self._mac(payload)):
            return False
        return 0 <= self._clock() - int(issued) <= self._lifetime

    def _mac(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()


def check_post(req: falcon.Request, form_token: str | None, tokens: CsrfTokens) -> None:
    """Raise 403 unless this POST cannot be a cross-site forgery (module docstring)."""
    if (req.get_header("Sec-Fetch-Site") or "").lower() in ("cross-site", "same-site"):
        raise falcon.HTTPForbidden(description="cross-site requests are refused")
    origin, host = req.get_header("Origin"), req.get_header("Host") or ""
    if origin and origin not in (f"http://{host}", f"https://{host}"):
        raise falcon.HTTPForbidden(description=f"Origin {origin[:100]} is not this host")
    if tokens.valid(form_token):
        return
    authorization = (req.get_header("Authorization") or "").lower()
    if authorization.startswith("bearer ") or req.get_header("X-Requested-By"):
        return
    raise falcon.HTTPForbidden(
        description="missing or expired form token: reload the dashboard, or send "
        "X-Requested-By (or Authorization: Bearer) from scripts"
    )

"""One gunicorn, two listeners: route each connection by the socket that accepted it.

gunicorn binds ``ML_BIND`` (Totara) and ``ML_ADMIN_BIND`` (admin) and hands every
connection to the same WSGI callable. :class:`ListenerRouter` asks the accepted
connection's own socket (``environ["gunicorn.socket"].getsockname()``) for its
local port: the kernel's answer, not the client's ``Host`` header, which gunicorn
also uses for ``SERVER_PORT`` on Unix sockets. Only connections accepted on the
admin port reach the admin app; everything else, including servers that give no
socket, gets the Totara app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def bind_port(bind: str) -> int | None:
    """The port of ``host:port`` (None for a Unix socket or an unparsable value)."""
    if bind.startswith(("unix:", "fd://")):
        return None
    port = bind.rpartition(":")[2]
    return int(port) if port.isdigit() else None


def local_port(environ: dict[str, Any]) -> int | None:
    """The local port of the connection that carried this request, None when unknown."""
    connection = environ.get("gunicorn.socket")
    try:
        name = connection.getsockname() if connection is not None else None
    except OSError:
        return None
    return int(name[1]) if isinstance(name, tuple) and len(name) >= 2 else None


class ListenerRouter:
    """Sends admin-port connections to ``admin``, all others to ``api``.

    Args:
        api: The Totara-facing app.
        admin: The admin app, None when the admin listener is disabled.
        admin_port: The port of ``ML_ADMIN_BIND``.
    """

    def __init__(self, api: WsgiApp, admin: WsgiApp | None, admin_port: int | None) -> None:
        self.api = api
        self.admin = admin if admin_port is not None else None
        self.admin_port = admin_port

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self.admin is not None and local_port(environ) == self.admin_port:
            return self.admin(environ, start_response)
        return self.api(environ, start_response)

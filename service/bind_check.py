"""Listen addresses checked before anything slow starts (training, gunicorn).

``mlservice serve`` and ``mlservice demo`` call :func:`check_listeners` first, so
``--bind 5000`` or a port already in use is one clear line at once, not a raw
gunicorn message after a minute of training.
"""

from __future__ import annotations

import errno
import socket

from mlcore.config import Settings
from mlcore.errors import ConfigError
from service.admin.auth import key_problem
from service.listeners import bind_port


def parse_bind(bind: str, variable: str) -> tuple[str, int]:
    """``host:port`` -> ``(host, port)``; ``*`` means all interfaces.

    Raises:
        ConfigError: Not ``host:port`` with a port in 1-65535.
    """
    host, separator, port = bind.rpartition(":")
    host = host.strip("[]")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"{variable}={bind!r} must be host:port, e.g. 127.0.0.1:5000 (or *:5000 for all "
            "interfaces)"
        )
    return ("0.0.0.0" if host == "*" else host), int(port)


def check_free(bind: str, variable: str) -> None:
    """Bind ``bind`` once and let go: raises a clear :class:`ConfigError` when that fails."""
    if bind.startswith("unix:"):
        return
    host, port = parse_bind(bind, variable)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"{variable}={bind}: cannot resolve {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(f"{variable}={bind}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            "the port is already in use (another mlservice or program listens there); "
            "stop it or choose another port"
        )
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges); use a port above 1024"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "not an address of this machine"
    return exc.strerror or str(exc)


def check_listeners(settings: Settings) -> None:
    """Both listeners: valid, distinct ports, admin key rule, free now.

    Raises:
        ConfigError: Naming the variable and what to do.
    """
    check_free(settings.bind, "ML_BIND")
    if not settings.admin_bind:
        return
    parse_bind(settings.admin_bind, "ML_ADMIN_BIND")
    if bind_port(settings.admin_bind) == bind_port(settings.bind):
        raise ConfigError(
            f"ML_ADMIN_BIND={settings.admin_bind} uses the Totara port of ML_BIND={settings.bind}: "
            "the admin listener needs its own port (or set ML_ADMIN_BIND= to disable it)"
        )
    problem = key_problem(settings)
    if problem:
        raise ConfigError(problem)
    check_free(settings.admin_bind, "ML_ADMIN_BIND")

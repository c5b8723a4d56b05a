"""gunicorn entry point: ``service.wsgi:application``.

Everything is built lazily in the worker process, after the fork: settings,
model store, holder, the Falcon apps of both listeners (Totara API and admin,
:mod:`service.listeners`) with their access logs. The gunicorn master imports
nothing heavy and never touches a model. ``gunicorn.conf.py`` calls :func:`warm`
from ``post_worker_init`` so the first request does not pay for loading.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

_lock = threading.Lock()
_app: Callable[..., Iterable[bytes]] | None = None

#: Totara-port paths with their own label in the request metrics.
API_ENDPOINTS = frozenset(
    {"/user-items", "/similar-items", "/health-check", "/", "/favicon.ico", "/openapi.yaml"}
)


def build() -> Callable[..., Iterable[bytes]]:
    """Settings from the environment, the configured model store, both apps; models loaded."""
    from mlcore.config import load_settings
    from mlcore.configured import configured_plugins
    from service.access_log import AccessLog
    from service.admin.app import ENDPOINTS, create_admin_app
    from service.app import create_app
    from service.listeners import ListenerRouter, bind_port
    from service.metrics import recorders
    from service.model_holder import ModelHolder

    settings = load_settings()
    store = configured_plugins(settings).model_store()
    holder = ModelHolder(store, interval=settings.reload_interval, on_reload=recorders.model_reload)
    holder.refresh()
    logged = {"enabled": settings.access_log, "user_ids": settings.log_user_ids}
    api = AccessLog(
        create_app(settings, store, holder=holder),
        listener="api",
        endpoints=API_ENDPOINTS,
        **logged,
    )
    admin = None
    if settings.admin_bind:
        admin = AccessLog(
            create_admin_app(settings, store, holder), listener="admin", endpoints=ENDPOINTS, **logged
        )
    return ListenerRouter(api, admin, bind_port(settings.admin_bind))


def warm() -> None:
    """Build this worker's apps now (idempotent)."""
    global _app
    with _lock:
        if _app is None:
            _app = build()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The WSGI callable gunicorn serves."""
    if _app is None:
        warm()
    assert _app is not None
    return _app(environ, start_response)

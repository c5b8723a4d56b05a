"""gunicorn entry point: ``service.wsgi:application``.

Everything is built lazily in the worker process, after the fork: settings,
model store, holder and Falcon app. The gunicorn master imports nothing heavy
and never touches a model. ``gunicorn.conf.py`` calls :func:`warm` from
``post_worker_init`` so the first request does not pay for loading.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

_lock = threading.Lock()
_app: Callable[..., Iterable[bytes]] | None = None


def build() -> Callable[..., Iterable[bytes]]:
    """Settings from the environment, the configured model store, the app; models loaded."""
    from mlcore.config import load_settings
    from mlcore.configured import configured_plugins
    from service.app import create_app
    from service.model_holder import ModelHolder

    settings = load_settings()
    store = configured_plugins(settings).model_store()
    holder = ModelHolder(store, interval=settings.reload_interval)
    holder.refresh()
    return create_app(settings, store, holder=holder)


def warm() -> None:
    """Build this worker's app now (idempotent)."""
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

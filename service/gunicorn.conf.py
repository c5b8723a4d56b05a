"""gunicorn configuration of ``mlservice serve`` (read by the gunicorn master).

Listen address and worker count come from ``ML_BIND`` and ``ML_WORKERS``; ``*``
as host means all interfaces. The master imports only the settings module:
models are loaded in each worker after the fork (``service.wsgi``), memory-mapped
so the workers share one copy. Training never runs here (``mlservice serve``
starts it in its own process). Override anything else with ``GUNICORN_CMD_ARGS``.
"""

from __future__ import annotations

import os
from typing import Any

from mlcore.config import load_settings

# Each request is one small matrix-vector product: BLAS threads would only spin and
# compete with the other workers. Set before any worker imports numpy.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

_settings = load_settings()


def listen_address(bind: str) -> str:
    """``*:5000`` -> ``0.0.0.0:5000``; anything else unchanged."""
    host, separator, port = bind.rpartition(":")
    if separator and host == "*":
        return f"0.0.0.0:{port}"
    return bind


wsgi_app = "service.wsgi:application"
bind = [listen_address(_settings.bind)]
workers = 1 if _settings.dev else _settings.workers
# Sync workers measured fastest for these sub-millisecond requests (benchmarks/README.md).
worker_class = "sync"
timeout = 30
graceful_timeout = 10
keepalive = 2
preload_app = False
accesslog = "-" if _settings.dev else None
errorlog = "-"
loglevel = "info"
proc_name = "mlservice"
# One control socket path per user would collide between instances; nothing uses it.
control_socket_disable = True


def post_worker_init(worker: Any) -> None:
    """Build the app and load the models in the new worker, before it accepts requests."""
    from service.wsgi import warm

    warm()

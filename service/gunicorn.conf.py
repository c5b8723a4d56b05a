"""gunicorn configuration of ``mlservice serve`` (read by the gunicorn master).

Listen addresses and worker count come from ``ML_BIND``, ``ML_ADMIN_BIND`` (the
admin listener, routed by :mod:`service.listeners`) and ``ML_WORKERS``; ``*``
as host means all interfaces. Logs go to stderr in ``ML_LOG_FORMAT``; the app
writes the access log itself (without user ids). The hooks below empty the
Prometheus multiprocess folder at start (unless ``mlservice serve`` already
did), share one CSRF secret with the workers, drop dead workers' gauges, and end
gunicorn when ``mlservice serve`` dies. The master imports only the settings module:
models are loaded in each worker after the fork (``service.wsgi``), memory-mapped
so the workers share one copy. Training never runs here (``mlservice serve``
starts it in its own process). Override anything else with ``GUNICORN_CMD_ARGS``.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from mlcore.config import load_settings
from service.logging_setup import gunicorn_logconfig

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
bind = [listen_address(_settings.bind)] + (
    [listen_address(_settings.admin_bind)] if _settings.admin_bind else []
)
workers = 1 if _settings.dev else _settings.workers
# Sync workers measured fastest for these sub-millisecond requests (benchmarks/README.md).
worker_class = "sync"
timeout = 30
graceful_timeout = 10
keepalive = 2
# gunicorn's own request limits, stated explicitly (these are its defaults). A longer
# request line is 414, more or longer header fields are 431, before the app runs;
# post_worker_init makes those answers JSON (service/gunicorn_errors.py). Totara's
# requests are about 200 bytes of request line and a handful of headers.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
preload_app = False
accesslog = None
errorlog = "-"
logconfig_dict = gunicorn_logconfig(_settings.log_format)
loglevel = "info"
proc_name = "mlservice"
# One control socket path per user would collide between instances; nothing uses it.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Master start: parent watch, metrics folder, the workers' shared CSRF secret."""
    from service.admin.csrf import SECRET_VARIABLE
    from service.metrics import multiprocess
    from service.parent_watch import exit_with_parent

    exit_with_parent()
    if not multiprocess.enabled():
        multiprocess.prepare(_settings.prometheus_dir, os.environ)
    os.environ.setdefault(SECRET_VARIABLE, secrets.token_hex(32))


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: its live gauges no longer count."""
    from service.metrics.multiprocess import mark_dead

    mark_dead(worker.pid)


def post_worker_init(worker: Any) -> None:
    """Build the app and load the models in the new worker, before it accepts requests;
    gunicorn's own error pages become JSON."""
    from service.gunicorn_errors import install
    from service.wsgi import warm

    install()
    warm()

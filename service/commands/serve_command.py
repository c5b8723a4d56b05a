"""``mlservice serve``: gunicorn web workers plus the scheduled trainer process.

gunicorn runs in its own process with the configuration file in this repository
(``service/gunicorn.conf.py``): ``ML_BIND`` (``*`` = all interfaces) and
``ML_WORKERS`` apply, and ``ML_ADMIN_BIND`` adds the admin listener. Training
runs in a separate trainer process on the ``ML_RECOMMENDATION_RETRAIN_FREQ``
schedule, never in a web worker or the gunicorn master. The command refuses to
start without ``ML_TOTARA_KEY`` (except in testing mode), with a listener that
is taken or invalid, or with a non-loopback admin listener without
``ML_ADMIN_KEY``; it never prints or logs a key. gunicorn and every training
run end when this process dies, even by ``kill -9``
(:mod:`service.parent_watch`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Protocol

from mlcore.config import Settings, load_settings
from mlcore.errors import ConfigError
from service.bind_check import check_listeners
from service.metrics import multiprocess
from service.parent_watch import PARENT_VARIABLE

log = logging.getLogger(__name__)

CONFIG_FILE = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
NO_KEY = (
    "ML_TOTARA_KEY is not set: the service refuses to start without the shared key. "
    "Set it to the value of Totara's $CFG->ml_service_key."
)


class Trainer(Protocol):
    """What serve needs of the trainer process."""

    def start(self) -> bool: ...

    def stop(self) -> None: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", help="listen address host:port (default: ML_BIND)")
    parser.add_argument(
        "--admin-bind",
        help="admin listener host:port, '' disables it (default: ML_ADMIN_BIND)",
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: ML_WORKERS)")
    parser.add_argument(
        "--no-trainer",
        action="store_true",
        help="serve the published models only; do not start the scheduled trainer",
    )


def run(args: argparse.Namespace) -> int:
    overrides = {}
    if args.bind:
        overrides["ML_BIND"] = args.bind
    if args.admin_bind is not None:
        overrides["ML_ADMIN_BIND"] = args.admin_bind
    if args.workers is not None:
        overrides["ML_WORKERS"] = str(args.workers)
    environ = {**os.environ, **overrides}
    return serve(environ, trainer=not args.no_trainer)


def serve(environ: Mapping[str, str], *, trainer: bool = True) -> int:
    """Run gunicorn (and the trainer) until gunicorn exits or a signal arrives.

    Args:
        environ: The environment of the service; passed to gunicorn unchanged.
        trainer: Start the scheduled trainer (never in testing mode).

    Returns:
        gunicorn's exit status.

    Raises:
        ConfigError: Invalid settings, or no ``ML_TOTARA_KEY`` outside testing mode.
    """
    settings = load_settings(environ)
    if not settings.totara_key and not settings.testing:
        raise ConfigError(NO_KEY)
    check_listeners(settings)
    for folder in (settings.models_dir, settings.logs_dir):
        Path(folder).mkdir(parents=True, exist_ok=True)
    environ = prepared_environment(settings, environ)
    scheduled = _trainer(settings, environ) if trainer and not settings.testing else None
    if scheduled is not None:
        scheduled.start()
    try:
        return _run_gunicorn(settings, environ)
    finally:
        if scheduled is not None:
            scheduled.stop()


def prepared_environment(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` plus the metrics folder (emptied now) and this process as the parent.

    The folder is also set in this process before the trainer records a metric.
    """
    prepared = dict(environ)
    prepared[PARENT_VARIABLE] = str(os.getpid())
    try:
        folder = multiprocess.prepare(settings.prometheus_dir, prepared)
    except OSError as exc:
        raise ConfigError(f"metrics folder {settings.prometheus_dir}: {exc.strerror}") from None
    os.environ[multiprocess.ENVIRONMENT_VARIABLE] = str(folder)
    return prepared


def _trainer(settings: Settings, environ: Mapping[str, str]) -> Trainer:
    from service.trainer_control import TrainerControl
    from service.trainer_process import TrainerProcess

    control = TrainerControl(settings.logs_dir)
    control.clear()
    trainer: Trainer = TrainerProcess(settings, environ=environ, control=control)
    return trainer


def _run_gunicorn(settings: Settings, environ: Mapping[str, str]) -> int:
    command = [sys.executable, "-m", "gunicorn", "--config", str(CONFIG_FILE)]
    log.info(
        "serving on %s with %d worker(s); model store %s (ML_MODELS_DIR %s); admin listener %s",
        settings.bind,
        1 if settings.dev else settings.workers,
        settings.model_store,
        settings.models_dir,
        settings.admin_bind or "disabled",
    )
    root = str(Path(__file__).resolve().parents[2])
    child_env = dict(environ)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, child_env.get("PYTHONPATH", "")) if p
    )
    process = subprocess.Popen(command, env=child_env)

    def forward(signum: int, frame: FrameType | None) -> None:
        process.send_signal(signal.SIGTERM if signum == signal.SIGINT else signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)

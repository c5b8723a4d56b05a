"""Log output of every mlservice process: text lines or one JSON object per line.

``ML_LOG_FORMAT=json`` switches the service (gunicorn master and workers), the
trainer scheduler and every training run to :class:`JsonFormatter`: ``time``,
``level``, ``logger``, ``message``, ``process``, plus whatever the call passed in
``extra`` (``tenant``, ``request_id``, ``latency_ms``, ``event``, ...). Text is the
default. Command-line tools print tracebacks only with ``-v``
(``tracebacks=False``); the files and the service log always keep them.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"

#: Attributes every LogRecord has; anything else came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record.

    Args:
        tracebacks: Add ``traceback`` for records logged with exception info.
    """

    def __init__(self, tracebacks: bool = True) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info and self.tracebacks:
            body["traceback"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The usual text line; tracebacks can be left out (``mlservice`` without ``-v``)."""

    def __init__(self, fmt: str = TEXT_FORMAT, tracebacks: bool = True) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks or not record.exc_info:
            return super().format(record)
        bare = logging.makeLogRecord(vars(record))
        bare.exc_info = None
        bare.exc_text = None
        return super().format(bare)


def make_formatter(
    log_format: str, *, text: str = TEXT_FORMAT, tracebacks: bool = True
) -> logging.Formatter:
    """:class:`JsonFormatter` for ``"json"``, else :class:`TextFormatter` with ``text``."""
    if log_format == "json":
        return JsonFormatter(tracebacks=tracebacks)
    return TextFormatter(text, tracebacks=tracebacks)


def configure_root(
    log_format: str,
    level: int = logging.INFO,
    *,
    tracebacks: bool = True,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Replace the root logger's handlers with one stream handler; return it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(log_format, tracebacks=tracebacks))
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def gunicorn_logconfig(log_format: str) -> dict[str, Any]:
    """``logconfig_dict`` for gunicorn: its messages and the app's on stderr, one format.

    gunicorn's own access log stays off: the app writes its own (without user ids,
    :mod:`service.access_log`).
    """
    formatter: dict[str, Any] = (
        {"()": "service.logging_setup.JsonFormatter"}
        if log_format == "json"
        else {"format": TEXT_FORMAT, "class": "logging.Formatter"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": ["error_console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "generic",
                "stream": "ext://sys.stderr",
            },
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "generic",
                "stream": "ext://sys.stdout",
            },
        },
        "formatters": {"generic": formatter},
    }

"""Children of ``mlservice serve`` end when it dies, even by ``kill -9``.

``serve`` names itself in ``MLSERVICE_PARENT_PID`` for gunicorn and every
training run. Each child calls :func:`exit_with_parent` early: on Linux the
kernel sends it SIGTERM when its parent exits (``PR_SET_PDEATHSIG``), elsewhere a
daemon thread polls ``getppid()``. A parent that died before the call is noticed
at once. So a supervisor restarting ``serve`` finds the port free instead of an
orphaned gunicorn still listening.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping

PARENT_VARIABLE = "MLSERVICE_PARENT_PID"
PR_SET_PDEATHSIG = 1


def exit_with_parent(environ: Mapping[str, str] | None = None, poll_seconds: float = 1.0) -> bool:
    """Arrange SIGTERM for this process when the parent named in the environment exits.

    Returns:
        Whether a parent is watched (False when the variable is unset).
    """
    text = (os.environ if environ is None else environ).get(PARENT_VARIABLE, "")
    if not text.isdigit():
        return False
    parent = int(text)
    if not _set_death_signal():
        threading.Thread(
            target=_watch, args=(parent, poll_seconds), name="parent-watch", daemon=True
        ).start()
    if os.getppid() != parent:
        # The parent died before the death signal was armed.
        os.kill(os.getpid(), signal.SIGTERM)
    return True


def _set_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, poll_seconds: float) -> None:
    while os.getppid() == parent:
        time.sleep(poll_seconds)
    os.kill(os.getpid(), signal.SIGTERM)

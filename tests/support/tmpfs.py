"""A tiny tmpfs for disk-full tests, or a skip with the reason (mounting needs root)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(mount_point: Path, size: str, instead: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (e.g. ``"64k"``) on ``mount_point``; unmount after.

    Args:
        mount_point: An empty folder, created if missing.
        size: The ``size=`` mount option.
        instead: The test that covers the same path without a mount, for the skip.
    """
    mount_point.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here (needs root); {instead} covers the same path: "
            f"{done.stderr.strip()}"
        )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill_up(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to its last byte with one file; return that file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 1024)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    assert os.statvfs(folder).f_bavail == 0
    return filler

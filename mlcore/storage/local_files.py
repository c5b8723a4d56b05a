"""Durable local file operations of model stores and caches: fsync, replace, remove."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

#: Temporary folders older than this are left-overs of a crashed writer.
STALE_TEMP_SECONDS = 3600.0


def fsync_file(path: Path) -> None:
    """Make a written file's content durable."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_directory(path: Path) -> None:
    """Make a directory's entries (new, renamed or removed files) durable."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_file(path: Path, content: bytes, mode: int | None = None) -> None:
    """Atomically replace ``path`` with ``content``: temporary file, fsync, rename, fsync dir.

    Args:
        path: The file to replace.
        content: Its new bytes.
        mode: Permission bits of the new file (e.g. read-only); default: the umask's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{path.name}-{uuid.uuid4().hex}")
    try:
        with open(temporary, "xb") as handle:
            handle.write(content)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def install_folder(temporary: Path, final: Path) -> bool:
    """Rename a complete, fsynced folder to its final name (atomic); False if taken.

    On False, ``temporary`` is left for the caller (another writer installed ``final``).
    """
    try:
        os.rename(temporary, final)
    except OSError:
        if final.exists():
            return False
        raise
    fsync_directory(final.parent)
    return True


def remove_folder(folder: Path, temporary_prefix: str) -> None:
    """Remove ``folder``: renamed to ``<temporary_prefix><random>`` first, so a half-removed
    folder never looks like a complete one; missing is fine."""
    doomed = folder.with_name(f"{temporary_prefix}{uuid.uuid4().hex}")
    try:
        os.rename(folder, doomed)
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def remove_stale(folder: Path, pattern: str, older_than: float = STALE_TEMP_SECONDS) -> None:
    """Remove the entries of ``folder`` matching ``pattern`` last changed ``older_than``
    seconds ago or earlier (a younger one may be another process's work in progress)."""
    limit = time.time() - older_than  # file times are wall-clock times
    for path in folder.glob(pattern):
        try:
            if path.stat().st_mtime < limit:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink()
        except FileNotFoundError:
            continue

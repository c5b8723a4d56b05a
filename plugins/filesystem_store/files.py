"""Durable file helpers of the ``filesystem`` model store: fsynced writes and checked loads."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.errors import ModelStoreError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class WrittenArray:
    """What was written for one array: its dtype string, shape and content hash."""

    dtype: str
    shape: tuple[int, ...]
    sha256: str


class _HashingWriter:
    """A write-only file object that hashes what passes through it."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return int(self._handle.write(data))


def write_array(path: Path, array: np.ndarray) -> WrittenArray:
    """``np.save`` an array (no pickle) to a new file, fsync it, return its description."""
    contiguous = np.ascontiguousarray(array)
    with open(path, "xb") as handle:
        writer = _HashingWriter(handle)
        np.save(writer, contiguous, allow_pickle=False)  # type: ignore[arg-type]
        handle.flush()
        os.fsync(handle.fileno())
    return WrittenArray(contiguous.dtype.str, tuple(contiguous.shape), writer.digest.hexdigest())


def array_entry(name: str, written: WrittenArray) -> dict[str, Any]:
    """The manifest's ``files`` entry of one array."""
    return {
        "file": f"{name}.npy",
        "dtype": written.dtype,
        "shape": list(written.shape),
        "sha256": written.sha256,
    }


def check_array_file(folder: Path, name: str, entry: Any, *, verify: bool = False) -> np.ndarray:
    """Memory-map one listed array read-only and check it against its manifest entry.

    Raises:
        ModelStoreError: Missing file, unreadable header, wrong dtype or shape, or
            (with ``verify``) a different sha256.
    """
    where = f"version {folder}, array {name!r}"
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise ModelStoreError(f"{where}: bad manifest entry {entry!r}")
    path = folder / entry["file"]
    if path.parent != folder:
        raise ModelStoreError(f"{where}: file name {entry['file']!r} leaves the version folder")
    if verify:
        actual = file_sha256(path, where)
        if actual != entry.get("sha256"):
            raise ModelStoreError(f"{where}: {path.name} is corrupt (sha256 differs)")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise ModelStoreError(f"{where}: {path.name} is missing") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ModelStoreError(f"{where}: {path.name} is unreadable: {exc}") from None
    if array.dtype.str != entry.get("dtype") or list(array.shape) != entry.get("shape"):
        raise ModelStoreError(
            f"{where}: {path.name} holds {array.dtype.str} {list(array.shape)}, "
            f"the manifest says {entry.get('dtype')} {entry.get('shape')}"
        )
    return array


def file_sha256(path: Path, where: str) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise ModelStoreError(f"{where}: {path.name} is missing") from None
    except OSError as exc:
        raise ModelStoreError(f"{where}: cannot read {path.name}: {exc}") from None
    return digest.hexdigest()


def fsync_directory(path: Path) -> None:
    """Make a directory's entries (new, renamed or removed files) durable."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_file(path: Path, content: bytes) -> None:
    """Atomically replace ``path`` with ``content``: temporary file, fsync, rename, fsync dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{path.name}-{uuid.uuid4().hex}")
    try:
        with open(temporary, "xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)

"""One model version as a folder: ``<array>.npy`` files plus ``manifest.json``.

The manifest is the trainer's manifest plus ``"tenant"``, ``"version"`` and a ``"files"``
table: ``{"item_factors": {"file": "item_factors.npy", "dtype": "<f4", "shape": [150, 32],
"sha256": "..."}, ...}``. Arrays are written with ``np.save(allow_pickle=False)`` and
loaded as read-only memory maps with ``allow_pickle=False``; the manifest is plain JSON
(``allow_nan=False``). Nothing here can execute code when loading.

Published files are never changed: they are written once, fsynced and made read-only.
A file changed in place (truncated, extended, rewritten) while a worker has it
memory-mapped can crash that worker (SIGBUS) or feed it other numbers, so every file's
size is checked against its ``.npy`` header before it is mapped, and a version with a
wrong file is refused (the worker then serves the newest kept version that loads).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.errors import ModelStoreError, quoted
from mlcore.interfaces import ModelArtifact

MANIFEST = "manifest.json"
_CHUNK = 1 << 20
#: Mode of every published file: never changed once written.
READ_ONLY = 0o444


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
    """``np.save`` an array (no pickle) to a new read-only file, fsync it, describe it."""
    contiguous = np.ascontiguousarray(array)
    with open(path, "xb") as handle:
        writer = _HashingWriter(handle)
        np.save(writer, contiguous, allow_pickle=False)  # type: ignore[arg-type]
        handle.flush()
        os.fchmod(handle.fileno(), READ_ONLY)
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


def write_arrays(folder: Path, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Write every array into ``folder`` (fsynced); return the manifest's ``files`` table."""
    return {
        name: array_entry(name, write_array(folder / f"{name}.npy", array))
        for name, array in arrays.items()
    }


def stored_manifest(
    manifest: Mapping[str, Any], tenant: str, version: str, files: Mapping[str, Any]
) -> dict[str, Any]:
    """The manifest as stored with a version: the trainer's plus tenant, version and files."""
    return {**manifest, "tenant": tenant, "version": version, "files": dict(files)}


def dump_manifest(manifest: Mapping[str, Any]) -> bytes:
    """Encode a manifest as plain JSON.

    Raises:
        ModelStoreError: It holds something JSON cannot say (objects, NaN).
    """
    try:
        return json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ModelStoreError(f"the manifest is not plain JSON: {exc}") from None


def parse_manifest(data: bytes, where: str) -> dict[str, Any]:
    """Decode a stored manifest and check that it has a ``files`` table.

    Raises:
        ModelStoreError: ``where`` is broken (bad JSON, no files table).
    """
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelStoreError(f"{where} is broken: bad {MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ModelStoreError(f"{where} is broken: {MANIFEST} has no files table")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """The checked manifest of the version in ``folder``."""
    where = f"version {folder}"
    try:
        data = (folder / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise ModelStoreError(f"{where} is broken: {MANIFEST} is missing") from None
    except OSError as exc:
        raise ModelStoreError(f"{where} is broken: bad {MANIFEST}: {exc}") from None
    return parse_manifest(data, where)


def entry_file(entry: Any, where: str) -> str:
    """The file name of a ``files`` entry, checked to stay inside the version folder.

    Raises:
        ModelStoreError: The entry is malformed or its file name has a path in it.
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise ModelStoreError(f"{where}: bad manifest entry {quoted(entry)}")
    name = entry["file"]
    if Path(name).name != name or name in ("", ".", ".."):
        raise ModelStoreError(f"{where}: file name {name!r} leaves the version folder")
    return name


def check_array_file(folder: Path, name: str, entry: Any, *, verify: bool = False) -> np.ndarray:
    """Memory-map one listed array read-only and check it against its manifest entry.

    Raises:
        ModelStoreError: Missing file, unreadable header, wrong dtype or shape, or
            (with ``verify``) a different sha256.
    """
    where = f"version {folder}, array {name!r}"
    path = folder / entry_file(entry, where)
    if verify and file_sha256(path, where) != entry.get("sha256"):
        raise ModelStoreError(f"{where}: {path.name} is corrupt (sha256 differs)")
    _check_size(path, where)
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


def _check_size(path: Path, where: str) -> None:
    """Refuse a file whose size differs from what its ``.npy`` header describes.

    Reads the header only, before anything is memory-mapped.
    """
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            shape, _fortran, dtype = _read_header(handle, version)
            expected = handle.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise ModelStoreError(f"{where}: {path.name} is missing") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ModelStoreError(f"{where}: {path.name} is unreadable: {exc}") from None
    if size != expected:
        raise ModelStoreError(
            f"{where}: {path.name} is {size} bytes, its header describes {expected}: it was "
            "changed after publishing (published files are never changed; publish a new "
            "version or roll back)"
        )


def _read_header(handle: Any, version: tuple[int, int]) -> tuple[Any, bool, np.dtype]:
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)  # type: ignore[no-any-return]
    return np.lib.format.read_array_header_2_0(handle)  # type: ignore[no-any-return]


def load_version_folder(folder: Path, *, verify: bool = False) -> ModelArtifact:
    """The version in ``folder``: its manifest and every listed array, memory-mapped.

    Raises:
        ModelStoreError: The version is broken (manifest, missing or wrong file).
    """
    manifest = read_manifest(folder)
    arrays = {
        name: check_array_file(folder, name, entry, verify=verify)
        for name, entry in manifest["files"].items()
    }
    return ModelArtifact(manifest=manifest, arrays=arrays)


def file_sha256(path: Path, where: str) -> str:
    """Hex sha256 of a file's bytes.

    Raises:
        ModelStoreError: The file is missing or unreadable.
    """
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

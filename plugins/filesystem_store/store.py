"""Model store plugin ``filesystem``: versioned ``.npy`` arrays plus a JSON manifest per tenant.

Layout under the root (``ML_MODELS_DIR`` by default)::

    generation                      replaced after every publish or rollback (change token)
    tenants/<tenant>/current        the current version id, one line
    tenants/<tenant>/versions/<version>/manifest.json
    tenants/<tenant>/versions/<version>/<array>.npy

A version is written into a temporary directory next to ``versions/``, every file
and the directory are fsynced, the directory is renamed to its final name, and
only then is ``current`` replaced (temporary file, fsync, ``os.replace``, fsync of
the directory). A crash at any moment leaves ``current`` naming a complete version.
No pickle: arrays are saved and loaded with ``allow_pickle=False``. See
``docs/model-store.md``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.errors import ModelNotFoundError, ModelStoreError
from mlcore.interfaces import ModelArtifact
from plugins.filesystem_store.files import (
    array_entry,
    check_array_file,
    fsync_directory,
    replace_file,
    write_array,
)

_TENANT = re.compile(r"[A-Za-z0-9_-]{1,100}")
_ARRAY_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")
_VERSION = re.compile(r"(\d{8}T\d{6}Z)-(\d{6,})")
_TEMP_PREFIX = ".tmp-"
#: Temporary directories older than this are left-overs of a crashed publisher.
STALE_TEMP_SECONDS = 3600.0
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class FilesystemStoreOptions:
    """Options of the ``filesystem`` model store.

    Attributes:
        path: Root folder; empty means ``ML_MODELS_DIR``.
        keep_versions: Versions kept per tenant; 0 means ``ML_KEEP_VERSIONS``.
        verify: Check every file's sha256 when loading (reads the whole file, so
            memory-mapping stops being lazy).
    """

    path: str = ""
    keep_versions: int = 0
    verify: bool = False


class FilesystemModelStore:
    """A :class:`mlcore.interfaces.ModelStore` on a local (or shared) filesystem.

    Args:
        root: Store folder (created on first publish).
        keep_versions: Versions kept per tenant (the current one is never deleted).
        verify: Check sha256 of every file on load.
        clock: Seconds since the epoch, for version ids.
    """

    def __init__(
        self,
        root: Path,
        *,
        keep_versions: int = 5,
        verify: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if keep_versions < 1:
            raise ModelStoreError(f"keep_versions must be >= 1, got {keep_versions}")
        self.root = Path(root)
        self.keep_versions = keep_versions
        self.verify = verify
        self.clock = clock

    # -- reading -------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        """Tenants with a current version, numeric ids in numeric order."""
        folder = self.root / "tenants"
        if not folder.is_dir():
            return []
        names = [p.name for p in folder.iterdir() if _TENANT.fullmatch(p.name)]
        found = [name for name in names if (folder / name / "current").is_file()]
        return sorted(found, key=lambda t: (not t.isdigit(), int(t) if t.isdigit() else 0, t))

    def versions(self, tenant: str) -> list[str]:
        """Complete versions of ``tenant``, oldest first (temporary directories ignored)."""
        folder = self._tenant_dir(tenant) / "versions"
        if not folder.is_dir():
            return []
        return sorted((p.name for p in folder.iterdir() if _VERSION.fullmatch(p.name)), key=_order)

    def current_version(self, tenant: str) -> str | None:
        """The current version id (one small file read), or None."""
        try:
            text = (self._tenant_dir(tenant) / "current").read_text(encoding="ascii").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelStoreError(
                f"cannot read current version of tenant {tenant!r}: {exc}"
            ) from None
        if not _VERSION.fullmatch(text):
            raise ModelStoreError(f"current pointer of tenant {tenant!r} is corrupt: {text!r}")
        return text

    def change_token(self) -> tuple[int, int, int] | None:
        """Changes whenever any tenant gets a new current version; one ``stat`` call.

        The ``generation`` file is replaced (new inode) after every publish and
        rollback, so ``(inode, mtime_ns, size)`` differs even within one clock tick.
        None when nothing was ever published.
        """
        try:
            stat = os.stat(self.root / "generation")
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def load(self, tenant: str, version: str | None = None) -> ModelArtifact:
        """Load a version (default: current); arrays are read-only memory maps.

        Raises:
            ModelNotFoundError: No current version, or no such version.
            ModelStoreError: The version is broken (manifest, missing or wrong file).
        """
        chosen = version or self.current_version(tenant)
        if chosen is None:
            raise ModelNotFoundError(f"tenant {tenant!r} has no published model in {self.root}")
        if not _VERSION.fullmatch(chosen):
            raise ModelNotFoundError(f"{chosen!r} is not a version id")
        folder = self._tenant_dir(tenant) / "versions" / chosen
        if not folder.is_dir():
            raise ModelNotFoundError(f"tenant {tenant!r} has no version {chosen}")
        manifest = _read_manifest(folder)
        arrays = {
            name: check_array_file(folder, name, entry, verify=self.verify)
            for name, entry in manifest["files"].items()
        }
        return ModelArtifact(manifest=manifest, arrays=arrays)

    # -- writing -------------------------------------------------------------------------

    def publish(self, tenant: str, artifact: ModelArtifact) -> str:
        """Write a new version, make it current, prune old versions; return its id.

        Raises:
            ModelStoreError: Bad tenant id, array name or dtype (object arrays are
                refused: no pickle), or the filesystem failed.
        """
        tenant_dir = self._tenant_dir(tenant)
        _check_arrays(artifact.arrays)
        versions_dir = tenant_dir / "versions"
        versions_dir.mkdir(parents=True, exist_ok=True)
        temporary = tenant_dir / f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
        temporary.mkdir()
        try:
            files = {
                name: array_entry(name, write_array(temporary / f"{name}.npy", array))
                for name, array in artifact.arrays.items()
            }
            version = self._install(tenant, temporary, artifact.manifest, files)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        self._point_to(tenant, version)
        self._prune(tenant, version)
        return version

    def rollback(self, tenant: str, version: str) -> None:
        """Make a kept version current again (checked to load first).

        Raises:
            ModelNotFoundError: The version is not kept.
            ModelStoreError: The version is broken.
        """
        if version not in self.versions(tenant):
            kept = ", ".join(self.versions(tenant)) or "none"
            raise ModelNotFoundError(
                f"tenant {tenant!r} has no kept version {version!r} (kept: {kept})"
            )
        self.load(tenant, version)
        self._point_to(tenant, version)

    def _install(
        self, tenant: str, temporary: Path, manifest: Mapping[str, Any], files: dict[str, Any]
    ) -> str:
        versions_dir = temporary.parent / "versions"
        for _attempt in range(100):
            version = self._next_version(tenant)
            stored = {**manifest, "tenant": tenant, "version": version, "files": files}
            replace_file(temporary / MANIFEST, _dump_json(stored))
            fsync_directory(temporary)
            try:
                os.rename(temporary, versions_dir / version)
            except OSError:
                if (versions_dir / version).exists():
                    continue  # another publisher took this id: take the next one
                raise
            fsync_directory(versions_dir)
            return version
        raise ModelStoreError(f"cannot find a free version id for tenant {tenant!r}")

    def _next_version(self, tenant: str) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))
        existing = self.versions(tenant)
        if not existing:
            return f"{stamp}-000001"
        last = _VERSION.fullmatch(existing[-1])
        assert last is not None
        # Never go back in time, so ids sort as strings too when the clock jumps back.
        return f"{max(stamp, last.group(1))}-{int(last.group(2)) + 1:06d}"

    def _point_to(self, tenant: str, version: str) -> None:
        tenant_dir = self._tenant_dir(tenant)
        replace_file(tenant_dir / "current", (version + "\n").encode("ascii"))
        replace_file(self.root / "generation", f"{tenant} {version}\n".encode())

    def _prune(self, tenant: str, current: str) -> None:
        tenant_dir = self._tenant_dir(tenant)
        old = [v for v in self.versions(tenant)[: -self.keep_versions] if v != current]
        for version in old:
            # Rename first so a half-deleted directory never looks like a version.
            doomed = tenant_dir / f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
            try:
                os.rename(tenant_dir / "versions" / version, doomed)
            except FileNotFoundError:
                continue  # pruned concurrently
            shutil.rmtree(doomed, ignore_errors=True)
        self._remove_stale_temporaries(tenant_dir)

    def _remove_stale_temporaries(self, tenant_dir: Path) -> None:
        limit = time.time() - STALE_TEMP_SECONDS  # file times are wall-clock times
        for path in tenant_dir.glob(f"{_TEMP_PREFIX}*"):
            try:
                if path.stat().st_mtime < limit:
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink()
            except FileNotFoundError:
                continue

    def _tenant_dir(self, tenant: str) -> Path:
        if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
            raise ModelStoreError(
                f"tenant id {tenant!r} is not allowed: use 1-100 characters of A-Z, a-z, 0-9, _ or -"
            )
        return self.root / "tenants" / tenant


def _order(version: str) -> tuple[int, str]:
    match = _VERSION.fullmatch(version)
    assert match is not None
    return (int(match.group(2)), version)


def _check_arrays(arrays: Mapping[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        if not _ARRAY_NAME.fullmatch(name):
            raise ModelStoreError(f"array name {name!r} is not allowed: use A-Z, a-z, 0-9 and _")
        if not isinstance(array, np.ndarray) or array.dtype.hasobject:
            raise ModelStoreError(
                f"array {name!r} has dtype {getattr(array, 'dtype', type(array))}: only "
                "numeric, boolean and fixed-width string arrays are stored (no pickle)"
            )


def _dump_json(manifest: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ModelStoreError(f"the manifest is not plain JSON: {exc}") from None


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelStoreError(f"version {folder} is broken: {MANIFEST} is missing") from None
    except (OSError, ValueError) as exc:
        raise ModelStoreError(f"version {folder} is broken: bad {MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ModelStoreError(f"version {folder} is broken: {MANIFEST} has no files table")
    return manifest

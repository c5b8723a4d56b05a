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
Published files are read-only and never changed; loading checks each file's size
against its ``.npy`` header before mapping it.
No pickle: arrays are saved and loaded with ``allow_pickle=False``. See
``docs/model-store.md``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcore.errors import ModelNotFoundError, ModelStoreError, quoted
from mlcore.interfaces import ModelArtifact
from mlcore.storage.local_files import (
    fsync_directory,
    install_folder,
    remove_folder,
    remove_stale,
    replace_file,
)
from mlcore.storage.names import (
    check_arrays,
    check_tenant,
    is_tenant,
    is_version,
    next_version,
    sorted_versions,
    tenant_order,
)
from mlcore.storage.version_folder import (
    MANIFEST,
    READ_ONLY,
    dump_manifest,
    load_version_folder,
    stored_manifest,
    write_arrays,
)

_TEMP_PREFIX = ".tmp-"


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
        names = [p.name for p in folder.iterdir() if is_tenant(p.name)]
        found = [name for name in names if (folder / name / "current").is_file()]
        return sorted(found, key=tenant_order)

    def versions(self, tenant: str) -> list[str]:
        """Complete versions of ``tenant``, oldest first (temporary directories ignored)."""
        folder = self._tenant_dir(tenant) / "versions"
        if not folder.is_dir():
            return []
        return sorted_versions(p.name for p in folder.iterdir())

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
        if not is_version(text):
            raise ModelStoreError(
                f"current pointer of tenant {tenant!r} is corrupt: {quoted(text)}"
            )
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
        if not is_version(chosen):
            raise ModelNotFoundError(f"{chosen!r} is not a version id")
        folder = self._tenant_dir(tenant) / "versions" / chosen
        if not folder.is_dir():
            raise ModelNotFoundError(f"tenant {tenant!r} has no version {chosen}")
        return load_version_folder(folder, verify=self.verify)

    # -- writing -------------------------------------------------------------------------

    def publish(self, tenant: str, artifact: ModelArtifact) -> str:
        """Write a new version, make it current, prune old versions; return its id.

        Raises:
            ModelStoreError: Bad tenant id, array name or dtype (object arrays are
                refused: no pickle), or the filesystem failed.
        """
        tenant_dir = self._tenant_dir(tenant)
        check_arrays(artifact.arrays)
        versions_dir = tenant_dir / "versions"
        versions_dir.mkdir(parents=True, exist_ok=True)
        temporary = tenant_dir / f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
        temporary.mkdir()
        try:
            files = write_arrays(temporary, artifact.arrays)
            version = self._install(tenant, temporary, artifact.manifest, files)
        except BaseException:
            remove_folder(temporary, _TEMP_PREFIX)
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
            version = next_version(self.versions(tenant), self.clock())
            stored = stored_manifest(manifest, tenant, version, files)
            replace_file(temporary / MANIFEST, dump_manifest(stored), mode=READ_ONLY)
            fsync_directory(temporary)
            if install_folder(temporary, versions_dir / version):
                return version
            # another publisher took this id: take the next one
        raise ModelStoreError(f"cannot find a free version id for tenant {tenant!r}")

    def _point_to(self, tenant: str, version: str) -> None:
        tenant_dir = self._tenant_dir(tenant)
        replace_file(tenant_dir / "current", (version + "\n").encode("ascii"))
        replace_file(self.root / "generation", f"{tenant} {version}\n".encode())

    def _prune(self, tenant: str, current: str) -> None:
        tenant_dir = self._tenant_dir(tenant)
        old = [v for v in self.versions(tenant)[: -self.keep_versions] if v != current]
        for version in old:
            # Renamed first so a half-deleted directory never looks like a version.
            remove_folder(tenant_dir / "versions" / version, _TEMP_PREFIX)
        remove_stale(tenant_dir, f"{_TEMP_PREFIX}*")

    def _tenant_dir(self, tenant: str) -> Path:
        return self.root / "tenants" / check_tenant(tenant)

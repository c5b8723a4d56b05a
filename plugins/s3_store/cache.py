"""The local cache of a serving host: one folder per version, shared by its processes.

Layout under the cache folder (by default ``<ML_MODELS_DIR>/s3-cache/<bucket>/<prefix>``)::

    tenants/<tenant>/versions/<version>/manifest.json, <array>.npy    complete copies
    tenants/<tenant>/current                                          the last version read as current
    tenants/<tenant>/.lock                                            download lock (flock)
    tenants/<tenant>/.download-<random>/                              a download in progress
    tenants/<tenant>/.publish-<random>/                               a publish in progress

Versions are immutable, so a complete folder is never rewritten. A version is fetched
into ``.download-<random>``, every file fsynced, then renamed into ``versions/`` (atomic):
a folder there is always complete. Fetches take an exclusive ``flock`` on the tenant's
``.lock``, so when several worker processes of the host want the same new version, one
downloads and the others wait and then find it (one copy per host). The kernel releases
the lock of a killed process, so any ``.download-*`` seen while holding the lock is a
dead process's left-over and is removed. The cache must be on a local filesystem.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mlcore.storage.local_files import (
    fsync_directory,
    install_folder,
    remove_folder,
    remove_stale,
    replace_file,
)
from mlcore.storage.names import check_tenant, is_tenant, is_version, sorted_versions, tenant_order

log = logging.getLogger(__name__)

_DOWNLOAD = ".download-"
_PUBLISH = ".publish-"


class VersionCache:
    """Complete local copies of versions under ``root``.

    Args:
        root: The cache folder (created when needed).
        keep_versions: Cached versions kept per tenant besides the one just used.
    """

    def __init__(self, root: Path, *, keep_versions: int = 5) -> None:
        self.root = Path(root)
        self.keep_versions = keep_versions

    def folder(self, tenant: str, version: str) -> Path:
        """Where a complete copy of ``version`` lives (it may not exist)."""
        return self._tenant_dir(tenant) / "versions" / version

    def fetch(self, tenant: str, version: str, download: Callable[[Path], None]) -> Path:
        """The folder of a complete copy of ``version``, downloaded once per host if absent.

        Args:
            download: Fills an empty folder with the version's files (and checks them).
        """
        final = self.folder(tenant, version)
        if final.is_dir():
            return final
        with self._locked(tenant):
            if final.is_dir():
                return final  # another process of this host fetched it meanwhile
            remove_stale(self._tenant_dir(tenant), f"{_DOWNLOAD}*", older_than=0.0)
            temporary = self._new_folder(tenant, _DOWNLOAD)
            try:
                download(temporary)
                fsync_directory(temporary)
                final.parent.mkdir(parents=True, exist_ok=True)
                install_folder(temporary, final)
            finally:
                shutil.rmtree(temporary, ignore_errors=True)
            self._evict(tenant, version)
        return final

    def staging(self, tenant: str) -> Path:
        """A new empty folder to build a version in before it is published."""
        remove_stale(self._tenant_dir(tenant), f"{_PUBLISH}*")
        return self._new_folder(tenant, _PUBLISH)

    def install(self, tenant: str, version: str, staged: Path) -> None:
        """Move a published version's staged folder into the cache (dropped if present)."""
        final = self.folder(tenant, version)
        final.parent.mkdir(parents=True, exist_ok=True)
        fsync_directory(staged)
        if not install_folder(staged, final):
            shutil.rmtree(staged, ignore_errors=True)
        with self._locked(tenant):
            self._evict(tenant, version)

    def discard_version(self, tenant: str, version: str) -> None:
        """Remove a cached copy (found broken), so the next fetch copies it again."""
        with self._locked(tenant):
            remove_folder(self.folder(tenant, version), _DOWNLOAD)

    def discard(self, staged: Path) -> None:
        """Remove a staged folder whose publish failed."""
        shutil.rmtree(staged, ignore_errors=True)

    def cached_versions(self, tenant: str) -> list[str]:
        """Versions with a complete copy here, oldest first."""
        folder = self._tenant_dir(tenant) / "versions"
        return sorted_versions(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def remember_current(self, tenant: str, version: str) -> None:
        """Note the version last read as current (for :meth:`remembered_current`)."""
        if self.remembered_current(tenant) != version:
            replace_file(self._tenant_dir(tenant) / "current", f"{version}\n".encode("ascii"))

    def remembered_current(self, tenant: str) -> str | None:
        """The version this host last read as current, if it still has a copy of it."""
        try:
            text = (self._tenant_dir(tenant) / "current").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text if is_version(text) and self.folder(tenant, text).is_dir() else None

    def remembered_tenants(self) -> list[str]:
        """Tenants with a remembered current version, numeric ids in numeric order."""
        folder = self.root / "tenants"
        names = [p.name for p in folder.iterdir() if is_tenant(p.name)] if folder.is_dir() else []
        return sorted((t for t in names if self.remembered_current(t)), key=tenant_order)

    def _evict(self, tenant: str, used: str) -> None:
        """Keep the newest ``keep_versions`` copies and ``used``; remove the others.

        A worker still mapping a removed version keeps its pages until it lets go.
        """
        cached = self.cached_versions(tenant)
        newest = set(cached[-self.keep_versions :])
        for version in cached:
            if version != used and version not in newest:
                remove_folder(self.folder(tenant, version), _DOWNLOAD)
                log.info("tenant %s: version %s removed from the local cache", tenant, version)

    def _new_folder(self, tenant: str, prefix: str) -> Path:
        folder = self._tenant_dir(tenant) / f"{prefix}{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        return folder

    @contextmanager
    def _locked(self, tenant: str) -> Iterator[None]:
        """An exclusive lock on the tenant's cache, held across processes of this host."""
        path = self._tenant_dir(tenant) / ".lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _tenant_dir(self, tenant: str) -> Path:
        return self.root / "tenants" / check_tenant(tenant)

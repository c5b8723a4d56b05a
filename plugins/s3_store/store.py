"""Model store plugin ``s3``: versions as immutable prefixes in a bucket, served from a
local cache.

A publish builds the version folder locally (the format of
:mod:`mlcore.storage.version_folder`), claims the next version id with a create-only
write, uploads the arrays, then the manifest, and only then moves ``current/<tenant>``
with a conditional write (:mod:`plugins.s3_store.conditional`). A publisher killed
before that leaves the previous version current. Serving hosts copy a version into
their local cache once (:mod:`plugins.s3_store.cache`) and memory-map it. Nothing is
unpickled. Keys: :mod:`plugins.s3_store.keys`; see ``docs/model-store.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from mlcore.errors import ModelNotFoundError, ModelStoreError
from mlcore.interfaces import ModelArtifact
from mlcore.storage.local_files import STALE_TEMP_SECONDS
from mlcore.storage.names import check_arrays, check_tenant, is_tenant, is_version, tenant_order
from mlcore.storage.version_folder import (
    MANIFEST,
    dump_manifest,
    load_version_folder,
    stored_manifest,
    write_arrays,
)
from plugins.s3_store.bucket import Listed, S3Bucket
from plugins.s3_store.cache import VersionCache
from plugins.s3_store.conditional import check_conditional_writes, claim_version, move_pointer
from plugins.s3_store.keys import (
    CURRENT,
    GENERATION,
    by_version,
    complete_versions,
    pointer_key,
    version_key,
    versions_prefix,
)
from plugins.s3_store.last_known import LastKnown
from plugins.s3_store.transfer import download_version, prune_versions, upload_version

log = logging.getLogger(__name__)


class PublishSuperseded(ModelStoreError):
    """A newer version of the tenant was made current while this one was uploaded.

    Attributes:
        version: The uploaded version, complete and kept but not current.
    """

    def __init__(self, message: str, version: str) -> None:
        super().__init__(message)
        self.version = version


class S3ModelStore:
    """A :class:`mlcore.interfaces.ModelStore` (and ``ChangeTracking``) on S3.

    Args:
        bucket: The bucket and prefix, through boto3.
        cache: This host's local copies of versions.
        keep_versions: Complete versions kept per tenant (the current one is never deleted).
        verify: Also check every cached file's sha256 on each load (downloads always are).
        clock: Seconds since the epoch, for version ids and abandoned uploads.
    """

    def __init__(
        self,
        bucket: S3Bucket,
        cache: VersionCache,
        *,
        keep_versions: int = 5,
        verify: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if keep_versions < 1:
            raise ModelStoreError(f"keep_versions must be >= 1, got {keep_versions}")
        self.bucket = bucket
        self.cache = cache
        self.keep_versions = keep_versions
        self.verify = verify
        self.clock = clock
        self._conditional_writes_checked = False
        self._last_known = LastKnown()
        self._last_token: str | None = None
        self._pointers: dict[str, str] = {}  # the pointer values this process last read

    def describe(self) -> str:
        """Where the models are, for logs (never a credential)."""
        return f"{self.bucket.describe()}, cache {self.cache.root}"

    # -- reading -------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        """Tenants with a current version, numeric ids in numeric order (one LIST)."""

        def listed() -> list[str]:
            names = (item.key[len(CURRENT) :] for item in self.bucket.list_keys(CURRENT))
            return sorted((name for name in names if is_tenant(name)), key=tenant_order)

        return self._last_known.read(
            "list the tenants", listed, lambda: self.cache.remembered_tenants() or None
        )

    def versions(self, tenant: str) -> list[str]:
        """Complete versions (their manifest exists), oldest first (one LIST)."""
        return complete_versions(self._grouped(tenant))

    def current_version(self, tenant: str) -> str | None:
        """The current version id (one GET of a small object), or None."""
        check_tenant(tenant)
        return self._last_known.read(
            f"read the current version of tenant {tenant}",
            lambda: self._read_pointer(tenant),
            lambda: self.cache.remembered_current(tenant),
        )

    def change_token(self) -> str | None:
        """The ETag of ``generation`` (one HEAD); None when nothing was ever published."""

        def read() -> str | None:
            self._last_token = self.bucket.etag(GENERATION)
            return self._last_token

        return self._last_known.read(
            "read the change token", read, lambda: self._last_token or "unreachable"
        )

    def _read_pointer(self, tenant: str) -> str | None:
        pointer = self.bucket.get(pointer_key(tenant))
        if pointer is None:
            return None
        text = pointer.body.decode("ascii", "replace").strip()
        if not is_version(text):
            raise ModelStoreError(f"current pointer of tenant {tenant!r} is corrupt: {text!r}")
        self._pointers[tenant] = text
        if self.cache.folder(tenant, text).is_dir():
            self.cache.remember_current(tenant, text)
        return text

    def load(self, tenant: str, version: str | None = None) -> ModelArtifact:
        """Load a version (default: current) from the local cache, fetched once per host.

        Raises:
            ModelNotFoundError: No current version, or no such version.
            ModelStoreError: S3 failed, or the version is broken or corrupt.
        """
        chosen = version or self.current_version(tenant)
        if chosen is None:
            raise ModelNotFoundError(
                f"tenant {tenant!r} has no published model in {self.bucket.describe()}"
            )
        if not is_version(chosen):
            raise ModelNotFoundError(f"{chosen!r} is not a version id")
        try:
            artifact = load_version_folder(self._fetch(tenant, chosen), verify=self.verify)
        except ModelNotFoundError:
            raise
        except ModelStoreError as exc:
            if not self.cache.folder(tenant, chosen).is_dir():
                raise
            log.warning(
                "tenant %s: the cached copy of %s is broken (%s); copying it again",
                *(tenant, chosen, exc),
            )
            self.cache.discard_version(tenant, chosen)
            artifact = load_version_folder(self._fetch(tenant, chosen), verify=self.verify)
        if self._pointers.get(tenant) == chosen:
            self.cache.remember_current(tenant, chosen)
        return artifact

    def _fetch(self, tenant: str, version: str) -> Path:
        return self.cache.fetch(
            tenant, version, lambda into: download_version(self.bucket, tenant, version, into)
        )

    # -- writing -------------------------------------------------------------------------

    def publish(self, tenant: str, artifact: ModelArtifact) -> str:
        """Upload a new version, then make it current with a conditional write; prune.

        Raises:
            PublishSuperseded: A newer version was made current meanwhile; this one is kept.
            ModelStoreError: Bad tenant id, array or manifest, S3 failed, or the service
                ignores conditional writes. The previous version stays current.
        """
        check_tenant(tenant)
        check_arrays(artifact.arrays)
        dump_manifest(artifact.manifest)  # refuse a manifest that is not JSON before uploading
        self._check_conditional_writes()
        started = time.monotonic()
        version = self._upload(tenant, artifact)
        moved = move_pointer(self.bucket, tenant, version, newer_wins=True)
        if moved:
            self._announce(tenant, version)
        self._prune(tenant)
        if not moved:
            raise PublishSuperseded(
                f"tenant {tenant!r}: version {version} was uploaded, but a newer version "
                "published meanwhile stays current",
                version,
            )
        seconds = time.monotonic() - started
        log.info("tenant %s: version %s published in %.2f s", tenant, version, seconds)
        return version

    def rollback(self, tenant: str, version: str) -> None:
        """Make a kept version current again (fetched and checked first).

        Raises:
            ModelNotFoundError: The version is not kept.
            ModelStoreError: The version is broken, or S3 failed.
        """
        kept = self.versions(tenant)
        if version not in kept:
            raise ModelNotFoundError(
                f"tenant {tenant!r} has no kept version {version!r} "
                f"(kept: {', '.join(kept) or 'none'})"
            )
        self.load(tenant, version)
        self._check_conditional_writes()
        previous = self._read_pointer(tenant)
        move_pointer(self.bucket, tenant, version, newer_wins=False)
        if self.bucket.etag(version_key(tenant, version, MANIFEST)) is None and previous:
            # A concurrent publish pruned it meanwhile: put the pointer back.
            move_pointer(self.bucket, tenant, previous, newer_wins=False)
            raise ModelNotFoundError(f"tenant {tenant!r}: version {version} was pruned meanwhile")
        self._announce(tenant, version)

    def _upload(self, tenant: str, artifact: ModelArtifact) -> str:
        """Stage locally, claim an id, upload the arrays then the manifest; cache the copy."""
        staged = self.cache.staging(tenant)
        version = ""
        try:
            files = write_arrays(staged, artifact.arrays)
            version = claim_version(self.bucket, tenant, self.clock)
            manifest = stored_manifest(artifact.manifest, tenant, version, files)
            upload_version(self.bucket, tenant, version, staged, manifest)
        except BaseException:
            self.cache.discard(staged)
            if version:
                self._abandon(tenant, version)
            raise
        self.cache.install(tenant, version, staged)
        return version

    def _announce(self, tenant: str, version: str) -> None:
        """Rewrite ``generation`` (a new ETag every time) so serving hosts notice."""
        self.bucket.put(GENERATION, f"{tenant} {version} {time.time_ns()}\n".encode())

    def _prune(self, tenant: str) -> None:
        """Delete versions beyond ``keep_versions`` and uploads abandoned over an hour ago."""
        prune_versions(
            self.bucket,
            tenant,
            self._grouped(tenant),
            current=self._read_pointer(tenant),
            keep=self.keep_versions,
            abandoned_before=self.clock() - STALE_TEMP_SECONDS,
        )

    def _abandon(self, tenant: str, version: str) -> None:
        """Best effort: delete what a failed publish uploaded (a later prune would too)."""
        try:
            listed = self.bucket.list_keys(version_key(tenant, version, ""))
            self.bucket.delete([item.key for item in listed])
        except ModelStoreError as exc:
            log.warning("tenant %s: cannot remove the failed upload %s: %s", tenant, version, exc)

    def _check_conditional_writes(self) -> None:
        if not self._conditional_writes_checked:
            check_conditional_writes(self.bucket)
            self._conditional_writes_checked = True

    def _grouped(self, tenant: str) -> dict[str, list[Listed]]:
        prefix = versions_prefix(check_tenant(tenant))
        return by_version(tenant, self.bucket.list_keys(prefix))

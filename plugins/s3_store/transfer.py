"""Moving whole versions between a local folder and the bucket, and deleting old ones.

The upload writes ``manifest.json`` last and the deletion removes it first, so a key
prefix with a manifest is always a complete version. A download checks every file's
sha256 against the manifest before the folder is used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlcore.errors import ModelNotFoundError, ModelStoreError
from mlcore.storage.local_files import fsync_file
from mlcore.storage.version_folder import (
    MANIFEST,
    dump_manifest,
    entry_file,
    file_sha256,
    load_version_folder,
    parse_manifest,
)
from plugins.s3_store.bucket import Listed, S3Bucket
from plugins.s3_store.keys import abandoned_versions, complete_versions, version_key

log = logging.getLogger(__name__)


def upload_version(
    bucket: S3Bucket, tenant: str, version: str, staged: Path, manifest: Mapping[str, Any]
) -> None:
    """Upload the array files of a staged version folder, then its manifest (written into
    the folder too), which makes the version complete."""
    encoded = dump_manifest(manifest)
    for entry in manifest["files"].values():
        bucket.upload_file(version_key(tenant, version, entry["file"]), staged / entry["file"])
    (staged / MANIFEST).write_bytes(encoded)
    fsync_file(staged / MANIFEST)
    bucket.put(version_key(tenant, version, MANIFEST), encoded)


def download_version(bucket: S3Bucket, tenant: str, version: str, into: Path) -> None:
    """Copy a complete version into an empty folder; check every file's sha256, dtype and shape.

    Raises:
        ModelNotFoundError: The version has no manifest in the bucket.
        ModelStoreError: A file is missing or differs from the manifest.
    """
    started = time.monotonic()
    stored = bucket.get(version_key(tenant, version, MANIFEST))
    if stored is None:
        raise ModelNotFoundError(f"tenant {tenant!r} has no version {version}")
    where = f"version {version} of tenant {tenant!r} in {bucket.describe()}"
    manifest = parse_manifest(stored.body, where)
    for name, entry in manifest["files"].items():
        file = entry_file(entry, f"{where}, array {name!r}")
        bucket.download_file(version_key(tenant, version, file), into / file)
        fsync_file(into / file)
        if file_sha256(into / file, where) != entry.get("sha256"):
            raise ModelStoreError(f"{where}: {file} is corrupt (sha256 differs)")
    (into / MANIFEST).write_bytes(stored.body)
    fsync_file(into / MANIFEST)
    load_version_folder(into)  # dtypes and shapes match the manifest
    size = sum(path.stat().st_size for path in into.iterdir()) / 2**20
    seconds = time.monotonic() - started
    log.info(
        "tenant %s: version %s copied into the local cache (%.1f MiB in %.2f s)",
        *(tenant, version, size, seconds),
    )


def prune_versions(
    bucket: S3Bucket,
    tenant: str,
    grouped: dict[str, list[Listed]],
    *,
    current: str | None,
    keep: int,
    abandoned_before: float,
) -> None:
    """Delete complete versions beyond the newest ``keep`` (never ``current``), manifest
    first, and incomplete ones with nothing written since ``abandoned_before``."""
    old = [v for v in complete_versions(grouped)[:-keep] if v != current]
    bucket.delete([version_key(tenant, version, MANIFEST) for version in old])
    doomed = old + abandoned_versions(grouped, abandoned_before)
    bucket.delete([item.key for version in doomed for item in grouped[version]])

"""Where things are in the bucket, relative to the store's prefix.

::

    generation                                    rewritten after every pointer move (change token)
    conditional-write-probe                       proves the service enforces conditional writes
    current/<tenant>                              the current version id, one line
    tenants/<tenant>/versions/<version>/claim     written first, create-only: the id is taken
    tenants/<tenant>/versions/<version>/<array>.npy
    tenants/<tenant>/versions/<version>/manifest.json    written last: the version is complete
"""

from __future__ import annotations

from collections import defaultdict

from mlcore.storage.names import sorted_versions
from mlcore.storage.version_folder import MANIFEST
from plugins.s3_store.bucket import Listed

GENERATION = "generation"
PROBE = "conditional-write-probe"
CURRENT = "current/"
CLAIM = "claim"


def pointer_key(tenant: str) -> str:
    """The key of a tenant's current-version pointer."""
    return CURRENT + tenant


def versions_prefix(tenant: str) -> str:
    """The prefix of every version of a tenant."""
    return f"tenants/{tenant}/versions/"


def version_key(tenant: str, version: str, name: str) -> str:
    """The key of one file (``name``) of a version."""
    return f"{versions_prefix(tenant)}{version}/{name}"


def by_version(tenant: str, listing: list[Listed]) -> dict[str, list[Listed]]:
    """The listed keys of a tenant's versions prefix, grouped by version id."""
    start = len(versions_prefix(tenant))
    grouped: dict[str, list[Listed]] = defaultdict(list)
    for item in listing:
        grouped[item.key[start:].split("/", 1)[0]].append(item)
    return dict(grouped)


def complete_versions(grouped: dict[str, list[Listed]]) -> list[str]:
    """Versions whose manifest is listed, oldest first."""
    return sorted_versions(
        version
        for version, items in grouped.items()
        if any(item.key.endswith("/" + MANIFEST) for item in items)
    )


def abandoned_versions(grouped: dict[str, list[Listed]], before: float) -> list[str]:
    """Incomplete versions (no manifest) with nothing written since ``before``."""
    complete = set(complete_versions(grouped))
    return [
        version
        for version, items in grouped.items()
        if version not in complete and max(item.modified for item in items) < before
    ]

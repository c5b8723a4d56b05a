"""The conditional writes of the ``s3`` store: version claims, the current pointer, and
the check that the service enforces ``If-None-Match``/``If-Match`` at all.

S3 (since 2024) refuses a ``PutObject`` with ``If-None-Match: *`` when the key exists and
one with ``If-Match: <etag>`` when the object's ETag differs (412), or answers 409 when a
concurrent conditional write to the key is in flight. Both are retried here after
reading the object again, so two publishers never take the same version id, and a
pointer move is never lost to a concurrent writer.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable

from mlcore.errors import ModelStoreError
from mlcore.storage.names import is_version, next_version, version_order
from plugins.s3_store.bucket import ConditionFailed, S3Bucket
from plugins.s3_store.keys import (
    CLAIM,
    PROBE,
    by_version,
    pointer_key,
    version_key,
    versions_prefix,
)

log = logging.getLogger(__name__)

ATTEMPTS = 50
_NO_SUCH_ETAG = '"00000000000000000000000000000000"'


def claim_version(bucket: S3Bucket, tenant: str, now: Callable[[], float]) -> str:
    """Take the next free version id of ``tenant`` with a create-only write of its claim.

    Raises:
        ModelStoreError: No id could be taken in :data:`ATTEMPTS` tries.
    """
    body = json.dumps(
        {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}
    ).encode()
    for _attempt in range(ATTEMPTS):
        taken = by_version(tenant, bucket.list_keys(versions_prefix(tenant)))
        version = next_version(taken, now())
        key = version_key(tenant, version, CLAIM)
        try:
            bucket.put(key, body, if_none_match=True)
            return version
        except ConditionFailed:
            held = bucket.get(key)
            if held is not None and held.body == body:
                return version  # a retried request of ours had landed
            log.info("tenant %s: version id %s was taken by another publisher", tenant, version)
    raise ModelStoreError(f"tenant {tenant!r}: cannot claim a free version id in {ATTEMPTS} tries")


def move_pointer(bucket: S3Bucket, tenant: str, version: str, *, newer_wins: bool) -> bool:
    """Point ``current/<tenant>`` at ``version``: read it, then write only if unchanged.

    Args:
        newer_wins: Leave the pointer alone if it names a newer version (publishing);
            False for a rollback, which goes back on purpose.

    Returns:
        True when the pointer names ``version``; False when a newer version stays current.

    Raises:
        ModelStoreError: The pointer kept changing for :data:`ATTEMPTS` tries.
    """
    key = pointer_key(tenant)
    for attempt in range(ATTEMPTS):
        pointer = bucket.get(key)
        if pointer is not None:
            named = pointer.body.decode("ascii", "replace").strip()
            if named == version:
                return True
            if newer_wins and is_version(named) and version_order(named) > version_order(version):
                return False
        try:
            bucket.put(
                key,
                f"{version}\n".encode("ascii"),
                if_match=pointer.etag if pointer is not None else None,
                if_none_match=pointer is None,
            )
            return True
        except ConditionFailed:
            log.info("tenant %s: the current pointer moved meanwhile; reading it again", tenant)
            time.sleep(random.uniform(0.0, 0.02 * (attempt + 1)))
    raise ModelStoreError(
        f"tenant {tenant!r}: the current pointer kept moving; {version} was not made current"
    )


def check_conditional_writes(bucket: S3Bucket) -> None:
    """Prove on the probe object that the service refuses what it must refuse.

    Raises:
        ModelStoreError: The service ignores ``If-None-Match: *`` or ``If-Match``.
    """
    body = b"mlservice checks that conditional writes are enforced\n"

    def create() -> object:
        return bucket.put(PROBE, body, if_none_match=True)

    if _accepted(create) and _accepted(create):
        raise ModelStoreError(_ignored("If-None-Match: *", bucket.describe()))
    if _accepted(lambda: bucket.put(PROBE, body, if_match=_NO_SUCH_ETAG)):
        raise ModelStoreError(_ignored("If-Match", bucket.describe()))


def _accepted(write: Callable[[], object]) -> bool:
    try:
        write()
    except ConditionFailed:
        return False
    return True


def _ignored(header: str, where: str) -> str:
    return (
        f"{where} ignores conditional writes ({header} was not enforced), so two trainers "
        "could overwrite each other's publish. Use a service that enforces them (AWS S3 "
        "does since 2024)."
    )

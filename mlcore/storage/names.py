"""Tenant ids, array names and version ids that model stores accept, and version order.

Tenant ids and array names become folder, file or object names, so only
``A-Z a-z 0-9 _ -`` (tenants, 1-100 characters) and ``A-Z a-z 0-9 _`` (arrays) are
allowed: no id can leave the store. Version ids are ``<UTC time>-<counter>``, e.g.
``20261127T161200Z-000007``; the counter increases by one per publish of a tenant.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping

import numpy as np

from mlcore.errors import ModelStoreError, quoted

_TENANT = re.compile(r"[A-Za-z0-9_-]{1,100}")
_ARRAY_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")
_VERSION = re.compile(r"(\d{8}T\d{6}Z)-(\d{6,})")


def is_tenant(text: str) -> bool:
    """Whether ``text`` is an allowed tenant id."""
    return isinstance(text, str) and _TENANT.fullmatch(text) is not None


def check_tenant(tenant: str) -> str:
    """Return ``tenant`` if allowed.

    Raises:
        ModelStoreError: The id has other characters or is too long or empty.
    """
    if not is_tenant(tenant):
        raise ModelStoreError(
            f"tenant id {quoted(tenant)} is not allowed: use 1-100 characters of A-Z, a-z, 0-9, _ or -"
        )
    return tenant


def tenant_order(tenant: str) -> tuple[bool, int, str]:
    """Sort key: numeric ids first, in numeric order, then the others by name."""
    numeric = tenant.isdigit()
    return (not numeric, int(tenant) if numeric else 0, tenant)


def check_arrays(arrays: Mapping[str, np.ndarray]) -> None:
    """Refuse array names that are not ``[A-Za-z0-9_]`` and arrays that would need pickle.

    Raises:
        ModelStoreError: Naming the array.
    """
    for name, array in arrays.items():
        if not isinstance(name, str) or not _ARRAY_NAME.fullmatch(name):
            raise ModelStoreError(f"array name {name!r} is not allowed: use A-Z, a-z, 0-9 and _")
        if not isinstance(array, np.ndarray) or array.dtype.hasobject:
            raise ModelStoreError(
                f"array {name!r} has dtype {getattr(array, 'dtype', type(array))}: only "
                "numeric, boolean and fixed-width string arrays are stored (no pickle)"
            )


def is_version(text: str) -> bool:
    """Whether ``text`` is a version id."""
    return isinstance(text, str) and _VERSION.fullmatch(text) is not None


def version_order(version: str) -> tuple[int, str]:
    """Sort key of a version id: its counter, then the id."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ModelStoreError(f"{version!r} is not a version id")
    return (int(match.group(2)), version)


def sorted_versions(names: Iterable[str]) -> list[str]:
    """The version ids among ``names``, oldest first (other names are dropped)."""
    return sorted({name for name in names if is_version(name)}, key=version_order)


def next_version(existing: Iterable[str], now: float) -> str:
    """The id after every id in ``existing``, stamped with ``now`` (seconds since the epoch).

    The time part never goes back (the newest id's time is kept if the clock did), so ids
    sort as strings too.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    ordered = sorted_versions(existing)
    if not ordered:
        return f"{stamp}-000001"
    last = _VERSION.fullmatch(ordered[-1])
    assert last is not None
    return f"{max(stamp, last.group(1))}-{int(last.group(2)) + 1:06d}"

"""Rolling a tenant back to a kept version (``mlservice models rollback`` and the dashboard)."""

from __future__ import annotations

from mlcore.errors import ModelNotFoundError
from mlcore.interfaces import ModelStore


def roll_back(store: ModelStore, tenant: str, version: str | None = None) -> tuple[str, str]:
    """Make ``version`` (default: the one before the current) current again.

    Returns:
        ``(previous current version, new current version)``.

    Raises:
        ModelNotFoundError: The tenant has no model, or nothing older is kept.
    """
    current = store.current_version(tenant)
    if current is None:
        raise ModelNotFoundError(f"tenant {tenant!r} has no published model to roll back")
    if version is None:
        kept = store.versions(tenant)
        older = kept[: kept.index(current)] if current in kept else []
        if not older:
            raise ModelNotFoundError(
                f"tenant {tenant!r} keeps no version older than {current} to roll back to"
            )
        version = older[-1]
    store.rollback(tenant, version)
    return current, version

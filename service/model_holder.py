"""Per-worker holder of the served tenant models, refreshed from the model store.

Each gunicorn worker owns one holder. Between requests it asks the store for
every tenant's current version at most every ``interval`` seconds (a cheap
check) and loads only the versions that changed. Loaded arrays are memory-mapped
by the store, so N workers share one copy through the page cache. Every loaded
model is checked (:meth:`TenantModel.check`: the serving kind's check plus ids,
offsets and positives) before it serves. A current version that fails to load or
check is logged and the previous model keeps serving; a worker without one (just
started) serves the newest kept version older than the current that loads and
checks. Either way the model carries a :class:`Fallback` that ``/health-check``
reports, and the broken version is tried again only when the tenants are next
listed in full (at most every ``full_check_interval`` seconds). A store that is
:class:`~mlcore.interfaces.ChangeTracking` (one ``stat``, like the filesystem store) is asked that first,
and the tenants are listed only when the token moved, or at least every
``full_check_interval`` seconds: a publisher killed after switching a tenant's
version but before moving the token must not leave a running worker on the old
version until the next publish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np

from mlcore.errors import shortened
from mlcore.interfaces import ChangeTracking, ModelArtifact, ModelStore
from mlcore.serving.tenant_model import Fallback, TenantModel

log = logging.getLogger(__name__)


class ModelHolder:
    """The tenant models one worker serves.

    Args:
        store: The model store (``ML_MODEL_STORE``).
        interval: Seconds between checks for new versions (``ML_RELOAD_INTERVAL``).
        clock: Monotonic seconds (injectable for tests).
        full_check_interval: Seconds after which the tenants are listed even when the
            change token did not move.
        on_reload: Called with ``(tenant, loaded)`` for every new version tried
            (metrics).
    """

    def __init__(
        self,
        store: ModelStore,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        full_check_interval: float = 60.0,
        on_reload: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._store = store
        self._interval = interval
        self._clock = clock
        self._full_check_interval = full_check_interval
        self._listed_at: float | None = None
        self._models: Mapping[str, TenantModel] = MappingProxyType({})
        self._checked_at: float | None = None
        self._lock = threading.Lock()
        self._token: object = None
        self._on_reload = on_reload or (lambda tenant, loaded: None)
        self._retried_at = clock()

    def models(self) -> Mapping[str, TenantModel]:
        """The current tenant -> model mapping; checks the store when the interval is due."""
        checked = self._checked_at
        if checked is None or self._clock() - checked >= self._interval:
            self.refresh(block=checked is None)
        return self._models

    def refresh(self, block: bool = True) -> None:
        """Check the store now and load the versions that changed.

        Args:
            block: Wait for a refresh running in another thread; otherwise return
                at once and keep serving the current snapshot.
        """
        if not self._lock.acquire(blocking=block):
            return
        try:
            token = self._change_token()
            listed = self._listed_at
            overdue = listed is None or self._clock() - listed >= self._full_check_interval
            if token is None or token != self._token or overdue:
                self._listed_at = self._clock()
                models, complete = self._reloaded(dict(self._models))
                self._models = MappingProxyType(models)
                # Remember the token only when everything loaded, so failures are retried.
                self._token = token if complete else None
            self._checked_at = self._clock()
        finally:
            self._lock.release()

    def _change_token(self) -> object:
        if not isinstance(self._store, ChangeTracking):
            return None
        try:
            return self._store.change_token()
        except Exception:  # noqa: BLE001 - fall back to listing the tenants
            log.exception("cannot read the model store's change token")
            return None

    def _reloaded(self, models: dict[str, TenantModel]) -> tuple[dict[str, TenantModel], bool]:
        """The refreshed mapping, and whether every current version is served."""
        try:
            tenants = self._store.tenants()
        except Exception:  # noqa: BLE001 - a store hiccup must not break serving
            log.exception("cannot list tenants of the model store; keeping current models")
            return models, False
        retry = self._clock() - self._retried_at >= self._full_check_interval
        if retry:
            self._retried_at = self._clock()
        fresh: dict[str, TenantModel] = {}
        for tenant in tenants:
            model = self._tenant_model(tenant, models.get(tenant), retry)
            if model is not None:
                fresh[tenant] = model
        complete = all(model.fallback is None for model in fresh.values())
        return fresh, complete

    def _tenant_model(
        self, tenant: str, previous: TenantModel | None, retry: bool
    ) -> TenantModel | None:
        """The model to serve for ``tenant``: its current version, or a stand-in."""
        try:
            version = self._store.current_version(tenant)
        except Exception:  # noqa: BLE001 - keep the previous model (contract §13.11)
            log.exception(
                "tenant %s: cannot read its current version; keeping the previous", tenant
            )
            return previous
        if version is None:
            return None
        if previous is not None:
            fallback = previous.fallback
            if version == previous.version:
                return previous
            if fallback is not None and fallback.current == version and not retry:
                return previous  # tried recently: do not reload a broken version each time
        try:
            model = _loaded(self._store, tenant, version)
        except Exception as exc:  # noqa: BLE001 - serve something else (contract §13.11)
            self._on_reload(tenant, False)
            return self._stand_in(tenant, previous, Fallback(version, _reason(exc)))
        log.info("tenant %s: serving model version %s", tenant, version)
        self._on_reload(tenant, True)
        return model

    def _stand_in(
        self, tenant: str, previous: TenantModel | None, fallback: Fallback
    ) -> TenantModel | None:
        """The previous model, else the newest kept version older than the broken one."""
        if previous is not None:
            log.error(
                "tenant %s: current version %s cannot be served (%s); keeping version %s",
                *(tenant, fallback.current, fallback.reason, previous.version),
            )
            return previous.with_fallback(fallback)
        kept = self._store.versions(tenant)
        older = kept[: kept.index(fallback.current)] if fallback.current in kept else kept
        for version in reversed(older):
            try:
                model = _loaded(self._store, tenant, version)
            except Exception as exc:  # noqa: BLE001 - try the next older one
                log.warning(
                    "tenant %s: kept version %s cannot be served either: %s",
                    tenant,
                    version,
                    _reason(exc),
                )
                continue
            log.warning(
                "tenant %s: current version %s cannot be served (%s); serving kept version %s",
                *(tenant, fallback.current, fallback.reason, version),
            )
            return model.with_fallback(fallback)
        log.error(
            "tenant %s: current version %s cannot be served (%s) and no kept version can",
            *(tenant, fallback.current, fallback.reason),
        )
        return None


def _reason(exc: BaseException) -> str:
    return shortened(str(exc) or type(exc).__name__, 500)


def _loaded(store: ModelStore, tenant: str, version: str) -> TenantModel:
    """Load, check and index one version.

    Raises:
        Exception: Whatever the store raises, or ``ValueError`` from the check.
    """
    artifact = store.load(tenant, version)
    # Plain ndarray views of the memory maps: same shared pages, but slicing skips
    # np.memmap's per-call Python overhead.
    arrays = {name: np.asarray(array) for name, array in artifact.arrays.items()}
    model = TenantModel(ModelArtifact(artifact.manifest, arrays), version=version)
    model.check()
    # Build the id lookups now, not inside the first request.
    model.user_row("")
    model.item_row("")
    return model

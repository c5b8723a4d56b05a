"""The refresh cycle: fold new activity into the served models between full retrains.

For each tenant with a model, :meth:`Refresher.refresh_tenant`

1. asks the data source cheaply whether the tenant's export files changed
   (:class:`~mlcore.interfaces.ChangeChecked`: sizes and modification times; a
   source without it, e.g. Totara's, is downloaded once through its own retry,
   timeout and deadline rules and hashed, and the refresh reuses those bytes), and
   whether events were posted (:mod:`mlcore.events`);
2. when something changed since the last check of the same served version, loads
   the export, merges the events and folds changed users into the served model
   (:class:`~mlcore.training.refresh_build.RefreshBuilder`);
3. publishes the result as a normal new version (``"refresh": true``), unless a
   newer version (a full retrain) was published meanwhile. Any failure publishes
   nothing: the current model keeps serving and the next cycle tries again.

The full retrain keeps its schedule and replaces everything; the next refresh
folds into whatever is current.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcore.events.event_log import EventLog, StoredEvent
from mlcore.events.merge import MergedEvents, merge_events
from mlcore.interfaces import ChangeChecked, DataSource, ModelStore, Recommender
from mlcore.totara.dataset_builder import load_tenant_dataset
from mlcore.training.refresh_build import RefreshBuilder, RefreshUnsupported, check_refreshable
from mlcore.training.refresh_state import RefreshState

log = logging.getLogger(__name__)

PUBLISHED, UNCHANGED, SKIPPED, FAILED = "published", "unchanged", "skipped", "failed"
#: The export files of one tenant a refresh reads.
TENANT_FILES = ("user_interactions_{}.csv", "user_data_{}.csv", "item_data_{}.csv")


@dataclass(frozen=True)
class RefreshOutcome:
    """What one tenant's refresh did.

    Attributes:
        tenant: The tenant.
        status: ``published``, ``unchanged``, ``skipped`` or ``failed``.
        message: Why, for logs and ``mlservice refresh``.
        version: The published version.
        base_version: The version the refresh started from.
        counts: Users and items changed (see :class:`~mlcore.training.refresh_build.RefreshedModel`).
        seconds: Wall time of the whole tenant.
        fold_in_seconds: Time in the backends' fold-in.
        lag_seconds: From the earliest moment the change could have happened (the
            oldest folded event's receipt, else the previous check that saw no change)
            to publication; None when unknown.
    """

    tenant: str
    status: str
    message: str
    version: str | None = None
    base_version: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    fold_in_seconds: float = 0.0
    lag_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


class SourceSnapshot:
    """One tenant's export files, each read at most once per refresh.

    Args:
        source: The data source.
        names: The files of the tenant.
    """

    def __init__(self, source: DataSource, names: tuple[str, ...]) -> None:
        self.source = source
        self.names = names
        self._bytes: dict[str, bytes] = {}

    def fingerprint(self) -> str:
        """Cheap when the source can tell (stat), else the SHA-256 of the downloaded files."""
        if isinstance(self.source, ChangeChecked):
            return "stat:" + self.source.fingerprint(self.names)
        digest = hashlib.sha256()
        for name in self.names:
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.read_file(name)).digest())
        return "sha256:" + digest.hexdigest()

    def read_file(self, name: str) -> bytes:
        if name not in self._bytes:
            self._bytes[name] = self.source.read_file(name)
        return self._bytes[name]

    def describe(self) -> str:
        return self.source.describe()


class Refresher:
    """Runs refresh cycles for the tenants of a model store.

    Args:
        source: Where the export files come from.
        store: Where the served models are and refreshed ones are published.
        make_recommender: Builds an unfitted recommender by plugin name.
        state: What the last check of each tenant saw.
        events: The posted-event log (None: no intake).
        seed: Seed of the backends' sampling.
        clock: Unix seconds.
    """

    def __init__(
        self,
        source: DataSource,
        store: ModelStore,
        make_recommender: Callable[[str], Recommender],
        state: RefreshState,
        events: EventLog | None = None,
        *,
        seed: int = 42,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.store = store
        self.builder = RefreshBuilder(make_recommender, seed)
        self.state = state
        self.events = events
        self.clock = clock

    def run(self, only: str | None = None) -> list[RefreshOutcome]:
        """Refresh every tenant with a model (or ``only``)."""
        tenants = [only] if only is not None else sorted(self.store.tenants())
        return [self.refresh_tenant(tenant) for tenant in tenants]

    def refresh_tenant(self, tenant: str) -> RefreshOutcome:
        """One tenant's refresh; never raises for the tenant's own problems."""
        started = self.clock()
        base_version = self.store.current_version(tenant)
        if base_version is None:
            return RefreshOutcome(tenant, SKIPPED, "no model yet; the full training publishes one")
        try:
            outcome = self._refresh(tenant, base_version, started)
        except RefreshUnsupported as exc:
            outcome = RefreshOutcome(tenant, SKIPPED, str(exc), base_version=base_version)
        except Exception as exc:  # noqa: BLE001 - a failed refresh keeps the current model
            log.exception(
                "tenant %s: refresh failed; version %s keeps serving", tenant, base_version
            )
            message = f"refresh failed, version {base_version} keeps serving: {exc}"
            outcome = RefreshOutcome(tenant, FAILED, message, base_version=base_version)
        seconds = self.clock() - started
        return RefreshOutcome(**{**outcome.as_dict(), "seconds": seconds})

    def _refresh(self, tenant: str, base_version: str, started: float) -> RefreshOutcome:
        snapshot = SourceSnapshot(self.source, tuple(n.format(tenant) for n in TENANT_FILES))
        fingerprint = snapshot.fingerprint()
        events = self.events.pending(tenant) if self.events is not None else []
        key = _key(base_version, fingerprint, events)
        previous = self.state.get(tenant)
        if previous is not None and previous.key == key:
            self.state.put(tenant, key, started)
            return RefreshOutcome(tenant, UNCHANGED, "nothing changed", base_version=base_version)
        base = self.store.load(tenant, base_version)
        try:
            check_refreshable(base, base_version)
            merged = merge_events(load_tenant_dataset(snapshot, tenant), events)
            refreshed = self.builder.build(base, base_version, merged.dataset)
        except RefreshUnsupported:
            self.state.put(tenant, key, started)  # said once, not every cycle
            raise
        remaining = self._absorb(merged, events)
        if refreshed.artifact is None:
            self.state.put(tenant, _key(base_version, fingerprint, remaining), started)
            return RefreshOutcome(
                tenant,
                UNCHANGED,
                "no user's data changed",
                base_version=base_version,
                counts=dict(refreshed.counts),
            )
        if self.store.current_version(tenant) != base_version:
            return RefreshOutcome(
                tenant,
                SKIPPED,
                "a newer version was published meanwhile; the next cycle folds into it",
                base_version=base_version,
            )
        version = self.store.publish(tenant, refreshed.artifact)
        published = self.clock()
        self.state.put(tenant, _key(version, fingerprint, remaining), started)
        counts = dict(refreshed.counts)
        log.info("tenant %s: refreshed %s -> %s (%s)", tenant, base_version, version, counts)
        left_out = counts.get("items_left_out", 0)
        message = f"{counts['users_changed']} users folded in" + (
            f"; {left_out} new items stay out until the next full retrain (this model "
            "cannot place items from features)"
            if left_out
            else ""
        )
        return RefreshOutcome(
            tenant,
            PUBLISHED,
            message,
            version=version,
            base_version=base_version,
            counts=counts,
            fold_in_seconds=refreshed.fold_in_seconds,
            lag_seconds=_lag(published, events, previous.checked_at if previous else None),
        )

    def _absorb(self, merged: MergedEvents, events: list[StoredEvent]) -> list[StoredEvent]:
        """Drop the events the export caught up with from the log; the others remain."""
        if self.events is not None and merged.absorbed:
            self.events.remove(merged.absorbed)
        gone = set(merged.absorbed)
        return [e for e in events if e.id not in gone]


def _key(version: str, fingerprint: str, events: list[StoredEvent]) -> str:
    """What a check saw: the served version, the export, the pending events."""
    last = events[-1].id if events else 0
    return f"{version}|{fingerprint}|{len(events)}:{last}"


def _lag(published: float, events: list[StoredEvent], checked_at: float | None) -> float | None:
    moments = [e.received for e in events]
    if checked_at is not None:
        moments.append(checked_at)
    return published - min(moments) if moments else None

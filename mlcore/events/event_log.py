"""The durable log of posted interaction events: SQLite in WAL mode under ``ML_MODELS_DIR``.

Web workers append (one transaction per accepted request, ``synchronous=FULL``,
so an accepted POST is on disk before the 202 answer and survives a ``kill -9``);
the refresh reads a tenant's pending events, merges them into the export, and
removes those the export has caught up with (the same user and item with a
timestamp at least as new). SQLite serialises the writers of every process.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlcore.events.records import InteractionEvent

#: The log's file under ``ML_MODELS_DIR``.
RELATIVE_PATH = Path("events") / "events.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    rating INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    received REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant, id);
"""


@dataclass(frozen=True)
class StoredEvent:
    """A logged event with its log id and the Unix time it was received."""

    id: int
    event: InteractionEvent
    received: float


class EventLog:
    """Appends and reads posted events.

    Args:
        path: The SQLite file (its folder is created).
        clock: Unix seconds, recorded as each event's receipt time.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock

    @classmethod
    def under(cls, models_dir: Path) -> EventLog:
        """The log of a service whose ``ML_MODELS_DIR`` is ``models_dir``."""
        return cls(models_dir / RELATIVE_PATH)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.executescript(_SCHEMA)
        return connection

    def append(self, events: Sequence[InteractionEvent]) -> None:
        """Write ``events`` in one durable transaction."""
        received = self.clock()
        rows = [(e.tenant, e.user_id, e.item_id, e.rating, e.timestamp, received) for e in events]
        connection = self._connect()
        try:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(
                    "INSERT INTO events (tenant, user_id, item_id, rating, timestamp, received) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
        finally:
            connection.close()

    def pending(self, tenant: str) -> list[StoredEvent]:
        """The logged events of ``tenant``, oldest first (none when there is no log)."""
        if not self.path.exists():
            return []
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT id, tenant, user_id, item_id, rating, timestamp, received FROM events "
                "WHERE tenant = ? ORDER BY id",
                (tenant,),
            ).fetchall()
        finally:
            connection.close()
        return [StoredEvent(r[0], InteractionEvent(*r[1:6]), float(r[6])) for r in rows]

    def tenants(self) -> list[str]:
        """Tenants with logged events."""
        if not self.path.exists():
            return []
        connection = self._connect()
        try:
            return [r[0] for r in connection.execute("SELECT DISTINCT tenant FROM events")]
        finally:
            connection.close()

    def remove(self, ids: Iterable[int]) -> None:
        """Delete the events ``ids`` (absorbed by the export)."""
        chosen = [(int(i),) for i in ids]
        if not chosen or not self.path.exists():
            return
        connection = self._connect()
        try:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany("DELETE FROM events WHERE id = ?", chosen)
        finally:
            connection.close()

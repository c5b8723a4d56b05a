"""What the last refresh check of each tenant saw, kept in one small JSON file.

The refresh cycle runs in short-lived processes; this file (under ``ML_MODELS_DIR``)
lets each cycle skip a tenant whose served version, export fingerprint and
pending events are all as the previous check saw them. Losing it costs one
extra load per tenant, never a wrong model: the user digests decide what changed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from mlcore.storage.local_files import replace_file

log = logging.getLogger(__name__)

#: The state file under ``ML_MODELS_DIR``.
RELATIVE_PATH = Path("refresh") / "state.json"


@dataclass(frozen=True)
class Checked:
    """One tenant's last check: what it saw (``key``) and when (Unix seconds)."""

    key: str
    checked_at: float


class RefreshState:
    """Reads and writes the state file.

    Args:
        path: The JSON file (its folder is created on the first write).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def under(cls, models_dir: Path) -> RefreshState:
        """The state of a service whose ``ML_MODELS_DIR`` is ``models_dir``."""
        return cls(models_dir / RELATIVE_PATH)

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable refresh state %s: %s", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, tenant: str) -> Checked | None:
        """The last check of ``tenant``, or None."""
        entry = self._read().get(tenant)
        if not isinstance(entry, dict):
            return None
        try:
            return Checked(str(entry["key"]), float(entry["checked_at"]))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, tenant: str, key: str, checked_at: float) -> None:
        """Record a check of ``tenant`` (atomic replace of the file)."""
        data = self._read()
        data[tenant] = {"key": key, "checked_at": checked_at}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(self.path, json.dumps(data, sort_keys=True).encode("utf-8"))

"""Each tenant's latest row of ``train_summary.log``: what the last training did.

The health check, the dashboard and the trainer's retry all ask the same
question: did a tenant's latest training fail? Rows carry no flag, so failures are
recognised by the messages the trainer writes for them (``mlcore.training``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlcore.interfaces import ModelStore
from mlcore.serving.artifact import SUCCESS
from mlcore.training.train_log import FETCH_FAILED, read_rows

#: Message starts of failed trainings (the trainer, trainer_run).
FAILURE_PREFIXES = ("Training failed", "Training could not start", FETCH_FAILED)
#: The tenant id of rows about the whole run (tenant list unreadable, run not started).
WHOLE_RUN = "all"


@dataclass(frozen=True)
class LastTraining:
    """A tenant's latest training as logged.

    Attributes:
        tenant: Tenant id, or ``all`` for a run that failed before any tenant.
        timestamp: The run's TIMESTAMP column (the original's local-time format).
        message: The MSG column.
    """

    tenant: str
    timestamp: str
    message: str

    @property
    def failed(self) -> bool:
        """Whether this training failed (skips for too little data are not failures)."""
        return self.message.startswith(FAILURE_PREFIXES)

    @property
    def succeeded(self) -> bool:
        """Whether a model was trained and published."""
        return self.message == SUCCESS


def last_trainings(path: Path) -> dict[str, LastTraining]:
    """Tenant -> its latest logged training (later rows win); empty without a log.

    A whole-run failure (``all``) that is newer than a tenant's row is that tenant's
    latest training too: nothing was trained for it in that run.
    """
    latest: dict[str, LastTraining] = {}
    for row in read_rows(path):
        timestamp, _, tenant, message = row[:4]
        if tenant == WHOLE_RUN:
            for known in list(latest):
                latest[known] = LastTraining(known, timestamp, message)
        latest[tenant] = LastTraining(tenant, timestamp, message)
    return latest


def tenant_left_without_model(path: Path, store: ModelStore) -> bool:
    """Whether a tenant whose latest training failed has no model (or nothing has one)."""
    failed = [t for t in last_trainings(path).values() if t.failed]
    if not failed:
        return False
    if any(t.tenant == WHOLE_RUN for t in failed) and not store.tenants():
        return True
    return any(t.tenant != WHOLE_RUN and store.current_version(t.tenant) is None for t in failed)

"""What the dashboard shows, gathered from the served models, the store and the logs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlcore.interfaces import ModelStore
from mlcore.serving.tenant_model import TenantModel
from service.model_summary import ModelSummary
from service.trainer_control import TrainerControl, TrainerState
from service.training_status import WHOLE_RUN, LastTraining, last_trainings

#: Report files the dashboard shows and serves.
REPORT_SUFFIXES = (".png", ".md")


@dataclass(frozen=True)
class TenantStatus:
    """One tenant's row.

    Attributes:
        tenant: Tenant id.
        model: The served model, None when the tenant has none.
        kept: Versions the store keeps, oldest first.
        last_training: Its latest ``train_summary.log`` row.
    """

    tenant: str
    model: ModelSummary | None
    kept: tuple[str, ...]
    last_training: LastTraining | None

    @property
    def can_roll_back(self) -> bool:
        """Whether a version older than the current one is kept."""
        if self.model is None or self.model.version not in self.kept:
            return False
        return self.kept.index(self.model.version) > 0


@dataclass(frozen=True)
class Status:
    """Everything on the dashboard."""

    tenants: tuple[TenantStatus, ...]
    trainer: TrainerState | None
    pending_request: bool
    report_files: tuple[str, ...]


def gather(
    models: Mapping[str, TenantModel],
    store: ModelStore,
    train_log: Path,
    control: TrainerControl,
    report_dir: Path,
) -> Status:
    """The dashboard's data now."""
    trainings = last_trainings(train_log)
    names = sorted((set(models) | set(trainings)) - {WHOLE_RUN}, key=_tenant_order)
    if WHOLE_RUN in trainings and not names:
        names = [WHOLE_RUN]
    tenants = tuple(
        TenantStatus(
            tenant,
            ModelSummary.of(models[tenant]) if tenant in models else None,
            tuple(_kept(store, tenant)),
            trainings.get(tenant),
        )
        for tenant in names
    )
    return Status(tenants, control.state(), control.pending() is not None, report_files(report_dir))


def report_files(folder: Path) -> tuple[str, ...]:
    """Names of the PNG plots and Markdown summary in the tuning report folder."""
    try:
        return tuple(sorted(p.name for p in Path(folder).iterdir() if p.suffix in REPORT_SUFFIXES))
    except OSError:
        return ()


def _kept(store: ModelStore, tenant: str) -> list[str]:
    if tenant == WHOLE_RUN:
        return []
    try:
        return store.versions(tenant)
    except Exception:  # noqa: BLE001 - the dashboard shows what it can
        return []


def _tenant_order(tenant: str) -> tuple[int, str]:
    return (int(tenant), "") if tenant.isdigit() else (1 << 62, tenant)

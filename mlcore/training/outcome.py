"""What happened to one tenant in a training run, as the CLI, log and health check see it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mlcore.interfaces import TuningReport
from mlcore.training.candidates import CandidateRecord
from mlcore.training.train_log import LogRow
from mlcore.training.validation import Validation


@dataclass(frozen=True)
class TenantOutcome:
    """What happened to one tenant in a run.

    Attributes:
        tenant: Tenant id.
        message: ``"success"``, the reason it was skipped, or why it failed.
        algorithm: The mode or plugin name recorded with the model.
        version: The published version, None when nothing was published.
        failed: Training failed; the previous model keeps serving.
        tuning: The tuning report, when tuned.
        validation: Validation metrics, when a model was validated.
        promoted: The backend that serves (the requested one or ``popularity``).
        seconds: Wall time of the tenant, loading included.
        candidates: Every candidate trained for the tenant (blend or ``auto``):
            validation NDCG@10, weight, seconds, or why it was skipped.
    """

    tenant: str
    message: str
    algorithm: str
    version: str | None = None
    failed: bool = False
    tuning: TuningReport | None = None
    validation: Validation | None = None
    promoted: str | None = None
    seconds: float = 0.0
    candidates: tuple[CandidateRecord, ...] = ()

    def published(self, version: str, seconds: float) -> TenantOutcome:
        """This outcome with the published version and the tenant's total seconds."""
        return replace(self, version=version, seconds=seconds)

    def log_row(self, timestamp: str) -> LogRow:
        """The ``train_summary.log`` row of this outcome."""
        tuning = self.tuning
        return LogRow(
            timestamp,
            self.algorithm,
            self.tenant,
            self.message,
            tuning.epochs if tuning else (),
            tuning.n_components if tuning else (),
            tuning.scores if tuning else (),
        )

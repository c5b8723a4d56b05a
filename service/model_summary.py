"""What a served model's manifest says, in one record (health check, dashboard, metrics)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlcore.serving.tenant_model import TenantModel
from mlcore.training.baseline import BASELINE


@dataclass(frozen=True)
class ModelSummary:
    """One tenant's current model.

    Attributes:
        tenant: Tenant id.
        version: The served version.
        trained: Whether it has arrays (False: skipped, e.g. too little data).
        trained_at: Unix time of the (full) training, None when unknown.
        backend: The backend that serves (``popularity`` when it won the gate).
        algorithm: The mode or plugin name recorded with the model.
        message: The manifest's message (``success`` or why it was skipped).
        served_ndcg: Validation NDCG@10 of what serves, None without validation.
        model_ndcg: Validation NDCG@10 of the requested recommender.
        popularity_ndcg: Validation NDCG@10 of the popularity baseline.
        gate_reason: Why popularity replaced the requested recommender, if it did.
    """

    tenant: str
    version: str
    trained: bool
    trained_at: float | None
    backend: str
    algorithm: str
    message: str
    served_ndcg: float | None
    model_ndcg: float | None
    popularity_ndcg: float | None
    gate_reason: str | None
    refresh: str | None = None

    @classmethod
    def of(cls, model: TenantModel) -> ModelSummary:
        """The summary of a loaded model."""
        manifest = model.manifest
        validation = manifest.get("validation")
        validation = validation if isinstance(validation, Mapping) else {}
        # A refresh keeps the time of the full training it descends from: model age
        # alerts still fire when full retrains stop.
        trained_at = manifest.get("full_trained_at", manifest.get("trained_at"))
        reason = validation.get("reason")
        return cls(
            tenant=model.tenant,
            version=model.version,
            trained=model.trained,
            trained_at=float(trained_at) if isinstance(trained_at, int | float) else None,
            backend=str(manifest.get("backend", "")),
            algorithm=model.algorithm,
            message=model.message,
            served_ndcg=served_ndcg(manifest),
            model_ndcg=_ndcg(validation.get("model")),
            popularity_ndcg=_ndcg(validation.get(BASELINE)),
            gate_reason=str(reason) if reason else None,
            refresh=refresh_note(manifest),
        )


def refresh_note(manifest: Mapping[str, Any]) -> str | None:
    """``"refresh of <base>: N users folded in"`` for a refreshed version, else None."""
    if manifest.get("refresh") is not True:
        return None
    counts = manifest.get("refresh_counts")
    users = counts.get("users_changed", 0) if isinstance(counts, Mapping) else 0
    return f"refresh of {manifest.get('base_version', '?')}: {users} users folded in"


def served_ndcg(manifest: Mapping[str, Any]) -> float | None:
    """Validation NDCG@10 of what serves (the model or blend, or popularity after the gate)."""
    validation = manifest.get("validation")
    if not isinstance(validation, Mapping):
        return None
    promoted = validation.get("promoted")
    requested = manifest.get("requested_recommender", promoted)
    # "model" is what the trainer chose (the requested backend, a blend, or with
    # ML_RECOMMENDER=auto another backend); popularity has its own entry after the gate.
    key = BASELINE if promoted == BASELINE and requested != BASELINE else "model"
    return _ndcg(validation.get(key))


def _ndcg(metrics: Any) -> float | None:
    if not isinstance(metrics, Mapping) or "ndcg" not in metrics:
        return None
    return float(metrics["ndcg"])

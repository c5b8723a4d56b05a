"""One validation procedure for the trainer and ``mlservice tune``.

A candidate fitted on the training part of the temporal split is scored beside
the popularity baseline on the validation part, with the same evaluation code
and cut-off; the result is a frozen :class:`Validation` record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlcore.interfaces import Recommender
from mlcore.training.baseline import BASELINE, PopularityRecommender
from mlcore.training.evaluation import Metrics, evaluate, serving_scores
from mlcore.training.splits import Split

#: What the manifest records as the validation protocol.
PROTOCOL = "temporal per-user, last 20%"


@dataclass(frozen=True)
class Validation:
    """Validation metrics of a candidate and of popularity on one split.

    Attributes:
        model: The candidate's metrics.
        baseline: Popularity's metrics on the same split.
        k: Cut-off of every metric.
        protocol: How the split was made.
        tuning_best: The best tuning score (on the tuner's own validation sample), if tuned.
    """

    model: Metrics
    baseline: Metrics
    k: int = 10
    protocol: str = PROTOCOL
    tuning_best: float | None = None

    def beats_baseline(self) -> bool:
        """Whether the candidate's NDCG@k is strictly above popularity's."""
        return self.model.ndcg > self.baseline.ndcg

    def as_manifest(self, promoted: str, reason: str | None = None) -> dict[str, Any]:
        """The JSON recorded in the model manifest under ``validation``."""
        result: dict[str, Any] = {
            "protocol": self.protocol,
            "k": self.k,
            BASELINE: self.baseline.as_dict(),
            "model": self.model.as_dict(),
        }
        if self.tuning_best is not None:
            result["tuning_best"] = self.tuning_best
        result["promoted"] = promoted
        if reason is not None:
            result["reason"] = reason
        return result


def validate(
    candidate: Recommender,
    split: Split,
    *,
    k: int = 10,
    with_auc: bool = False,
    tuning_best: float | None = None,
) -> Validation:
    """Score ``candidate`` (already fitted on ``split.train``) and popularity on ``split.test``.

    Args:
        candidate: A recommender fitted on the training part (by ``fit`` or ``tune``).
        split: The temporal split.
        k: Cut-off.
        with_auc: Also compute AUC (a full sort per user; the trainer skips it).
        tuning_best: Recorded as is.
    """
    baseline = PopularityRecommender().fit(split.train)
    return Validation(
        model=_metrics(candidate, split, k, with_auc),
        baseline=_metrics(baseline, split, k, with_auc),
        k=k,
        tuning_best=tuning_best,
    )


def _metrics(recommender: Recommender, split: Split, k: int, with_auc: bool) -> Metrics:
    scores = serving_scores(recommender.export())
    return evaluate(scores, split.train, split.test, k=k, with_auc=with_auc)


def manifest_ndcg(validation: Mapping[str, Any], which: str) -> float | None:
    """NDCG@k of ``which`` (``"model"`` or ``"popularity"``) from a manifest's validation."""
    metrics = validation.get(which)
    value = metrics.get("ndcg") if isinstance(metrics, Mapping) else None
    return float(value) if isinstance(value, int | float) else None

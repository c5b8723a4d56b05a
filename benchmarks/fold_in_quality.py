"""Quality of folded-in users against a full retrain, on ml-latest-small.

``python -m benchmarks.fold_in_quality [--models default,lightfm,...] [--budget 120]``

Temporal protocol: each user's newest 20% of ratings are held out (``test``); the
rest is ``train``. A seeded 20% of the users are the *folded* users. The base model
is trained on ``train`` with the folded users' histories cut to a prefix (the
oldest ``--prefix`` of their train interactions; ``0`` leaves them out entirely,
as brand-new learners); then :class:`~mlcore.training.refresh_build.RefreshBuilder`
folds their whole train history in against the base's frozen items. The reference
is a full retrain on ``train``. Both are scored by NDCG@10 on the folded users'
held-out interactions only (train items excluded from the candidates), and the
ratio fold-in / full retrain is the measure (target >= 0.95).

``default`` is the default configuration (``ML_BLEND=auto``: LightFM tuned, blended
with EASE and ALS when that wins on validation) trained by the trainer's own
:class:`~mlcore.training.fitting.TenantFitter` within ``--budget`` CPU seconds; the
single backends use their untuned defaults. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from benchmarks.common import command_line, load_average, machine
from benchmarks.movielens import protocol_split
from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.dataset import Dataset
from mlcore.interfaces import ModelArtifact
from mlcore.serving.artifact import build_artifact
from mlcore.serving.kinds import serving_kind
from mlcore.training.evaluation import evaluate
from mlcore.training.fitting import TenantFitter
from mlcore.training.fold_in import with_users
from mlcore.training.refresh_build import RefreshBuilder

MODELS = (
    "default",
    "lightfm",
    "implicit-als",
    "implicit-bpr",
    "item-knn",
    "ease",
    "sequence",
    "popularity",
)


def prefix_of(train: Dataset, folded: np.ndarray, prefix: float) -> Dataset:
    """``train`` with each folded user's interactions cut to the oldest ``prefix`` share
    (``0``: without the folded users at all, as learners the model never saw)."""
    if prefix == 0:
        return with_users(train, np.setdiff1d(np.arange(train.n_users), folded))
    order = np.lexsort((train.item_index, train.timestamps, train.user_index))
    users = train.user_index[order]
    counts = np.bincount(users, minlength=train.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(order.shape[0]) - starts[users]
    keep_sorted = ~np.isin(users, folded) | (position < np.floor(counts[users] * prefix))
    keep = np.empty_like(keep_sorted)
    keep[order] = keep_sorted
    return train.with_interactions(keep)


def artifact_of(dataset: Dataset, model: str, settings: Settings) -> ModelArtifact:
    parts = configured_plugins(settings)
    if model == "default":
        return TenantFitter(settings, parts.recommender).fit_tenant(dataset).artifact
    serving = parts.recommender(model).fit(dataset).export()
    return build_artifact(dataset, serving, backend=model, algorithm=model, details={})


def ndcg(artifact: ModelArtifact, train: Dataset, test: Dataset) -> float:
    kind = serving_kind(str(artifact.manifest.get("kind", "factors")))(artifact.arrays)
    return evaluate(kind.batch_scores, train, test, with_auc=False).ndcg


def compare(model: str, prefix: float, settings: Settings, seed: int) -> dict[str, object]:
    split = protocol_split("temporal")
    train, test = split.train, split.test
    rng = np.random.default_rng(seed)
    folded = np.sort(rng.choice(train.n_users, size=train.n_users // 5, replace=False))
    test_folded = test.with_interactions(np.isin(test.user_index, folded))
    started = time.perf_counter()
    full = artifact_of(train, model, settings)
    full_seconds = time.perf_counter() - started
    base = artifact_of(prefix_of(train, folded, prefix), model, settings)
    result = RefreshBuilder(configured_plugins(settings).recommender, seed=seed).build(
        base, "base", train
    )
    assert result.artifact is not None
    full_ndcg, folded_ndcg = (
        ndcg(full, train, test_folded),
        ndcg(result.artifact, train, test_folded),
    )
    return {
        "model": model,
        "serving": str(full.manifest.get("backend", model)),
        "prefix": prefix,
        "folded_users": int(result.counts["users_changed"]),
        "ndcg_full_retrain": round(full_ndcg, 4),
        "ndcg_fold_in": round(folded_ndcg, 4),
        "ratio": round(folded_ndcg / full_ndcg, 3) if full_ndcg else None,
        "fold_in_ms_per_user": round(
            1000 * result.fold_in_seconds / max(result.counts["users_changed"], 1), 2
        ),
        "full_retrain_seconds": round(full_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--prefixes", default="0.5,0")
    parser.add_argument(
        "--budget", type=float, default=120.0, help="ML_TRAINING_BUDGET of 'default'"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = Settings(num_threads=1, training_budget=args.budget, seed=args.seed)
    rows = []
    for model in args.models.split(","):
        for prefix in (float(p) for p in args.prefixes.split(",")):
            try:
                rows.append(compare(model, prefix, settings, args.seed))
            except Exception as exc:  # noqa: BLE001 - one model's failure is a result too
                rows.append({"model": model, "prefix": prefix, "error": str(exc)})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    report = {
        "command": command_line(),
        "machine": machine(),
        "load_average": load_average(),
        "rows": rows,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

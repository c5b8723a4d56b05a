"""LightFM's final fit after tuning: ``refit`` from scratch vs ``warm`` from the checkpoint.

Usage: ``.venv/bin/python -m benchmarks.final_fit [MODE] [TRIALS]`` (defaults: hybrid, 6).
ml-latest-small, temporal protocol: tuning on a temporal validation split of the training
part, then each final fit on the whole training part, scored on the test part (full
ranking, training items excluded). One thread, seed 42, so both fits start from the same
tuned configuration and the numbers repeat.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import time

from mlcore.demo import movielens
from mlcore.training.evaluation import evaluate, serving_scores
from mlcore.training.splits import temporal_split
from plugins.lightfm_recommender.recommender import LightFMOptions, LightFMRecommender


def main(mode: str = "hybrid", trials: int = 6) -> None:
    try:
        data = movielens.load()
    except movielens.MovieLensMissingError as missing:
        print(f"final_fit skipped: {missing}")
        return
    outer = temporal_split(data)
    inner = temporal_split(outer.train)
    options = LightFMOptions(mode=mode, num_threads=1, seed=42, study_storage="memory")  # type: ignore[arg-type]
    tuned = LightFMRecommender(options)
    started = time.perf_counter()
    report = tuned.tune(inner.train, inner.test, trials=trials, timeout=1e6, seed=42)
    print(
        f"tuned {len(report.trials)} trials in {time.perf_counter() - started:.0f} s, "
        f"validation NDCG@10 {report.best_score:.4f}, {dict(tuned.params)}"
    )
    for final_fit in ("refit", "warm"):
        recommender = copy.deepcopy(tuned)
        recommender.options = dataclasses.replace(recommender.options, final_fit=final_fit)
        started = time.perf_counter()
        recommender.fit(outer.train)
        seconds = time.perf_counter() - started
        metrics = evaluate(serving_scores(recommender.export()), outer.train, outer.test)
        epochs = recommender.epochs_trained_
        print(
            f"{mode} {final_fit}: NDCG@10 {metrics.ndcg:.4f} P@10 {metrics.precision:.4f} "
            f"R@10 {metrics.recall:.4f} AUC {metrics.auc:.4f} fit {seconds:.1f} s ({epochs} epochs)"
        )


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["hybrid"]), *(int(a) for a in sys.argv[2:3]))

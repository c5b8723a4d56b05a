"""Quality benchmark: every registered recommender and the baselines, both protocols, one run.

For each dataset and protocol: split (``benchmarks.datasets``); for each model, tune
when it is tunable (on a temporal per-user validation split carved from the TRAINING
part only, never the test set), fit on the training part, and score with
:func:`mlcore.training.evaluation.evaluate` (full ranking, training items excluded):
NDCG@10, precision@10, recall@10, AUC, catalogue coverage. Each result is written
to ``results/quality/<dataset>__<protocol>__<model>.json`` as soon as it exists, so
a long run can be resumed (``--reuse``) and the tables rebuilt
(:mod:`benchmarks.quality_tables`).

Models: ``popularity``; ``lightfm-oob`` (LightFM out of the box); untuned library
defaults ``als-default-32``, ``als-default-64``, ``bpr-default``, ``ease-default``
(EASE λ=200); ``service-default`` (the trainer with a default install's settings:
LightFM with ``ML_BLEND=auto`` and the ``ML_TRAINING_BUDGET``) and ``service-auto``
(``ML_RECOMMENDER=auto``), both fitted by the trainer's whole procedure on the
training part; ``original-mf``
(the original's method, :mod:`benchmarks.original_method`, in its ``mf`` mode;
``original-hybrid`` only when asked for by name); ``lightfm-mf``,
``lightfm-partial``, ``lightfm-hybrid`` (our plugin, tuned); and every other
registered recommender with its default options (tuned when it is ``Tunable``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import datasets
from benchmarks.baselines import LightFMOutOfTheBox
from benchmarks.common import RESULTS_DIR, load_average, machine
from benchmarks.original_method import OriginalMethod
from benchmarks.service_models import (
    EaseDefault,
    ImplicitDefault,
    ServiceConfiguration,
    service_settings,
)
from mlcore.config import Settings, settings_with
from mlcore.interfaces import Tunable
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from mlcore.training.evaluation import evaluate, serving_scores
from mlcore.training.splits import Split, temporal_split

log = logging.getLogger(__name__)
QUALITY_DIR = RESULTS_DIR / "quality"
#: The original's method runs in ``mf`` by default: in ``hybrid`` it costs 30–60 CPU-minutes
#: per protocol on ml-latest-small (see README); ask for it with ``--models original-hybrid``.
ORIGINAL_MODES = ("mf", "hybrid")
DEFAULT_EXCLUDED = frozenset({"original-hybrid"})
LIGHTFM_MODES = ("mf", "partial", "hybrid")


@dataclass(frozen=True)
class Budget:
    """Tuning budget per (model, dataset, protocol) and the threads of every fit."""

    trials: int = 20
    timeout: float = 240.0
    threads: int = 2
    seed: int = 42
    original_iterations: int = 30


@dataclass(frozen=True)
class Candidate:
    """A model of the table: its name and a builder of a fresh, unfitted instance."""

    name: str
    make: Callable[[], Any]


def candidates(budget: Budget, registry: Registry | None = None) -> list[Candidate]:
    """The baselines, then every registered recommender (LightFM once per mode)."""
    registry = registry or Registry(make_plugin_manager())
    settings = settings_with(Settings(), num_threads=budget.threads, seed=budget.seed)
    found = [
        Candidate(
            "popularity",
            lambda: registry.create("recommender", "popularity", {}, settings=settings),
        ),
        Candidate(
            "lightfm-oob",
            lambda: LightFMOutOfTheBox(seed=budget.seed, num_threads=budget.threads),
        ),
        *(_original(mode, budget) for mode in ORIGINAL_MODES),
        *library_defaults(budget),
    ]
    for name in sorted(registry.recommenders()):
        if name == "popularity":
            continue
        if name == "lightfm":
            for mode in LIGHTFM_MODES:
                options = {"mode": mode, "study_storage": "memory"}
                found.append(
                    Candidate(f"lightfm-{mode}", _maker(registry, name, options, settings))
                )
        else:
            found.append(Candidate(name, _maker(registry, name, {}, settings)))
    found += [
        Candidate(name, _service(recommender, budget))
        for name, recommender in (("service-default", "lightfm"), ("service-auto", "auto"))
    ]
    return found


def library_defaults(budget: Budget) -> list[Candidate]:
    """Untuned library defaults beside LightFM out of the box (``benchmarks.service_models``)."""
    seed, threads = budget.seed, budget.threads
    return [
        Candidate(
            f"als-default-{factors}",
            lambda factors=factors: ImplicitDefault(
                "als", factors=factors, seed=seed, num_threads=threads
            ),
        )
        for factors in (32, 64)
    ] + [
        Candidate(
            "bpr-default",
            lambda: ImplicitDefault("bpr", factors=100, seed=seed, num_threads=threads),
        ),
        Candidate("ease-default", lambda: EaseDefault(200.0)),
    ]


def _service(recommender: str, budget: Budget) -> Callable[[], Any]:
    """The trainer with a default install's settings (and the benchmark's threads and seed)."""
    settings = service_settings(recommender, threads=budget.threads, seed=budget.seed)
    return lambda: ServiceConfiguration(settings)


def _original(mode: str, budget: Budget) -> Candidate:
    return Candidate(
        f"original-{mode}",
        lambda: OriginalMethod(
            mode=mode,
            seed=budget.seed,
            num_threads=budget.threads,
            iterations=budget.original_iterations,
        ),
    )


def _maker(
    registry: Registry, name: str, options: dict[str, Any], settings: Settings
) -> Callable[[], Any]:
    return lambda: registry.create("recommender", name, options, settings=settings)


def run_model(candidate: Candidate, split: Split, budget: Budget) -> dict[str, Any]:
    """Tune (when tunable, on the training part only), fit, evaluate one model."""
    model = candidate.make()
    tuning: dict[str, Any] | None = None
    tune_seconds = 0.0
    if isinstance(model, Tunable) and budget.trials > 0:
        inner = temporal_split(split.train)
        started = time.perf_counter()
        report = model.tune(
            inner.train, inner.test, trials=budget.trials, timeout=budget.timeout, seed=budget.seed
        )
        tune_seconds = time.perf_counter() - started
        tuning = {
            "metric": report.metric,
            "validation_score": report.best_score,
            "best_params": dict(report.best_params),
            "trials": len(report.trials),
        }
    started = time.perf_counter()
    model.fit(split.train)
    fit_seconds = time.perf_counter() - started
    metrics = evaluate(serving_scores(model.export()), split.train, split.test, k=10)
    return {
        "model": candidate.name,
        "metrics": metrics.as_dict(),
        "tune_seconds": round(tune_seconds, 2),
        "fit_seconds": round(fit_seconds, 2),
        "tuning": tuning,
        "describe": _jsonable(model.describe()),
        "budget": budget.__dict__,
        "machine": machine(),
        "load_average": load_average(),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


def code_version() -> str:
    """``git describe`` of the checkout (``-dirty`` when files are modified), or ``unknown``."""
    import subprocess  # noqa: PLC0415

    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def result_path(dataset: str, protocol: str, model: str, folder: Path = QUALITY_DIR) -> Path:
    return folder / f"{dataset}__{protocol}__{model}.json"


def run(
    dataset_names: Sequence[str],
    budget: Budget,
    *,
    models: Sequence[str] | None = None,
    protocols: Sequence[str] = datasets.PROTOCOLS,
    reuse: bool = False,
    folder: Path = QUALITY_DIR,
    progress: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Run every (dataset, protocol, model) and write one JSON file per result."""
    from benchmarks.movielens import MovieLensMissingError

    folder.mkdir(parents=True, exist_ok=True)
    code = f"{code_version()} (run started {time.strftime('%H:%M', time.gmtime())} UTC)"
    chosen = [
        c
        for c in candidates(budget)
        if (c.name in models if models is not None else c.name not in DEFAULT_EXCLUDED)
    ]
    results = []
    for name in dataset_names:
        for protocol in protocols:
            try:
                split = datasets.split(name, protocol, seed=budget.seed)
            except MovieLensMissingError as exc:
                progress(f"skipped {name}: {exc}")
                break
            for candidate in chosen:
                path = result_path(name, protocol, candidate.name, folder)
                if reuse and path.is_file():
                    results.append(json.loads(path.read_text(encoding="utf-8")))
                    continue
                progress(f"{name} / {protocol} / {candidate.name} ...")
                result = run_model(candidate, split, budget)
                result.update(
                    code=code,
                    dataset=name,
                    dataset_description=datasets.describe(name),
                    protocol=protocol,
                    protocol_description=split.protocol,
                )
                path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
                m = result["metrics"]
                progress(
                    f"  ndcg@10 {m['ndcg']:.4f}  p@10 {m['precision']:.4f}  auc {m['auc']:.4f}  "
                    f"tune {result['tune_seconds']:.0f}s  fit {result['fit_seconds']:.0f}s"
                )
                results.append(result)
    return results

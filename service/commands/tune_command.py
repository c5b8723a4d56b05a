"""``mlservice tune``: search a recommender's hyperparameters and write a report folder.

The data is one tenant of an export folder (``--data-dir``) or ml-latest-small
(``--movielens``). The search is the recommender's own ``tune`` on the same temporal
per-user validation split the trainer uses (each user's most recent 20%), with a
budget of ``--trials`` and ``--timeout``. Afterwards: a table of trials, a report
folder (``summary.md`` + PNG plots, :mod:`service.commands.tune_report`) with the chosen
model's full validation metrics beside popularity (the trainer's own :func:`validate`) and its per-request compute
times, and optionally the chosen settings as a TOML ``ML_CONFIG_FILE``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.config import load_settings, settings_with
from mlcore.configured import ConfiguredPlugins, configured_plugins
from mlcore.dataset import Dataset
from mlcore.errors import ConfigError
from mlcore.interfaces import Tunable
from mlcore.serving.artifact import build_artifact
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.splits import temporal_split
from mlcore.training.validation import validate
from service.commands.tune_config import save_config, study_progress
from service.commands.tune_report import markdown_table, parameter_names, trial_table, write_report

#: Where ml-latest-small comes from (GroupLens, research licence: see its README).
MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--data-dir", type=Path, help="Totara export folder")
    data.add_argument(
        "--movielens", help="ml-latest-small folder ('default': ../shared/data/ml-latest-small)"
    )
    parser.add_argument("--tenant", default="0", help="tenant of the export folder (default 0)")
    parser.add_argument("--recommender", help="plugin name (default: ML_RECOMMENDER)")
    parser.add_argument("--mode", choices=("hybrid", "partial", "mf"), help="LightFM mode")
    parser.add_argument(
        "--space", type=Path, help="TOML or JSON object of recommender options (e.g. tune_*)"
    )
    parser.add_argument("--trials", type=int, help="trials (default: ML_TUNING_TRIALS)")
    parser.add_argument("--timeout", type=float, help="seconds (default: ML_TUNING_TIMEOUT)")
    parser.add_argument("--threads", type=int, help="training threads (default: ML_NUM_THREADS)")
    parser.add_argument("--seed", type=int, help="seed (default: ML_SEED)")
    parser.add_argument(
        "--report-dir",
        type=Path,
        help="report folder (default: ML_TUNING_REPORT_DIR, tuning-report; the admin "
        "dashboard shows it)",
    )
    parser.add_argument(
        "--study-dir", type=Path, help="Optuna SQLite history (default: <report-dir>/study)"
    )
    parser.add_argument("--save-config", type=Path, help="write the chosen settings (TOML)")
    parser.add_argument("--latency-requests", type=int, default=2000)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv: list[str]) -> int:
    """Run ``mlservice tune`` with ``argv`` (used by ``python -m benchmarks tune``)."""
    parser = argparse.ArgumentParser(prog="mlservice tune")
    add_arguments(parser)
    args = parser.parse_args(argv)
    args.command_line = "mlservice tune " + " ".join(argv)
    return run(args)


def _load(args: argparse.Namespace, plugins: ConfiguredPlugins) -> tuple[Dataset, str]:
    if args.movielens is not None:
        from mlcore.demo.movielens import DEFAULT_DIR, MovieLensMissingError, load  # noqa: PLC0415

        folder = DEFAULT_DIR if args.movielens == "default" else Path(args.movielens)
        try:
            dataset = load(folder)
        except MovieLensMissingError:
            raise ConfigError(
                f"--movielens {folder}: ml-latest-small not found (expected ratings.csv and "
                f"movies.csv there); download {MOVIELENS_URL} and unzip it, or tune on an "
                "export with --data-dir"
            ) from None
        return dataset, f"ml-latest-small at {folder} (mlcore.demo.movielens mapping)"
    from mlcore.totara.dataset_builder import load_tenant_dataset  # noqa: PLC0415

    source = plugins.data_source()  # the export-folder source, through the registry
    return load_tenant_dataset(source, args.tenant), f"export {args.data_dir}, tenant {args.tenant}"


def _study_dir(args: argparse.Namespace) -> Path:
    return Path(args.study_dir) if args.study_dir else args.report_dir / "study"


def _space(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        value = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--space {path}: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--space {path}: expected an object of recommender options")
    return value


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.report_dir is None:
        args.report_dir = settings.tuning_report_dir
    changes: dict[str, Any] = {}
    for name, field in (("threads", "num_threads"), ("seed", "seed"), ("mode", "algorithm")):
        if getattr(args, name) is not None:
            changes[field] = getattr(args, name)
    if args.recommender:
        changes["recommender"] = args.recommender
    if args.data_dir is not None:
        changes.update(data_source="export-folder", data_dir=args.data_dir)
    settings = settings_with(settings, **changes)
    options = {**settings.recommender_options, **_space(args.space)}
    if settings.recommender == "lightfm":
        options.setdefault("mode", settings.algorithm)
        options.update(study_storage="sqlite", study_dir=str(_study_dir(args)))
    settings = settings_with(settings, recommender_options=options)
    plugins = configured_plugins(settings)
    model = plugins.recommender(settings.recommender)
    if not isinstance(model, Tunable):
        raise ConfigError(f"recommender {settings.recommender!r} cannot be tuned (no tune())")
    trials = settings.tuning_trials if args.trials is None else args.trials
    timeout = settings.tuning_timeout if args.timeout is None else args.timeout
    dataset, described = _load(args, plugins)
    split = temporal_split(dataset)
    print(
        f"tuning {settings.recommender} on {described}: {dataset.n_users} users, "
        f"{dataset.n_items} items, {dataset.n_interactions} interactions; "
        f"{trials} trials / {timeout:.0f} s"
    )
    started = time.perf_counter()
    with study_progress(_study_dir(args), trials, timeout, disabled=args.quiet):
        report = model.tune(
            split.train, split.test, trials=trials, timeout=timeout, seed=settings.seed
        )
    tune_seconds = time.perf_counter() - started
    header = ["#", "state", report.metric, "best epoch", "epochs run", "seconds"]
    print(markdown_table(header + parameter_names(report), trial_table(report)))
    # The Tunable handshake: ``model`` is now fitted on split.train with the best options.
    serving = model.export()
    validation = validate(model, split, with_auc=True, tuning_best=report.best_score)
    metrics = {
        f"{settings.recommender} (chosen)": validation.model,
        "popularity": validation.baseline,
    }
    latencies = _latencies(split.train, serving, settings.recommender, args.latency_requests)
    context = {
        "Data": f"{described}; {dataset.n_users} users, {dataset.n_items} items, "
        f"{dataset.n_interactions} interactions",
        "Protocol": "tune and validate on the temporal per-user split (last 20% of each user)",
        "Budget": f"{trials} trials, {timeout:.0f} s; {len(report.trials)} trials ran in "
        f"{tune_seconds:.0f} s; seed {settings.seed}; {settings.num_threads} thread(s)",
        "Recommender": f"{settings.recommender} {json.dumps(dict(model.describe()), default=str)}",
        "Per-request CPU": f"mean {latencies[1].mean():.3f} ms, p99 "
        f"{np.percentile(latencies[1], 99):.3f} ms over {latencies.shape[1]} requests "
        "(the wall times below include waiting for a CPU on a shared machine)"
        if latencies.size
        else "not measured",
        "Command": getattr(args, "command_line", "mlservice tune " + " ".join(sys.argv[2:])),
    }
    summary = write_report(
        args.report_dir,
        report,
        title=f"Tuning report: {settings.recommender}",
        context=context | _machine(),
        metrics={name: m.as_dict() for name, m in metrics.items()},
        latencies_ms=latencies[0],
    )
    for name, m in metrics.items():
        print(f"{name}: NDCG@10 {m.ndcg:.4f}  P@10 {m.precision:.4f}  AUC {m.auc or 0:.4f}")
    print(f"report: {summary}")
    if args.save_config:
        path = save_config(args.save_config, settings, report, plugins.registry)
        print(f"chosen settings: {path} (use ML_CONFIG_FILE={path})")
    return 0


def _machine() -> dict[str, str]:
    import os  # noqa: PLC0415
    import platform  # noqa: PLC0415

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return {
        "Machine": f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; load average {load}"
    }


def _latencies(train: Dataset, serving: Any, backend: str, requests: int) -> np.ndarray:
    """Per-request wall and CPU milliseconds (rows 0 and 1) of ``/user-items`` compute.

    Each request is the top 10 of the busiest item type for a random user.

    BLAS is limited to one thread, as in a serving worker.
    """
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    from mlcore.item_types import COMPONENTS  # noqa: PLC0415

    artifact = build_artifact(train, serving, backend=backend, algorithm=backend, details={})
    tenant = TenantModel(artifact)
    counts = np.bincount(train.item_types.astype(np.int64), minlength=len(COMPONENTS))
    component = COMPONENTS[int(np.argmax(counts))]
    users = np.random.default_rng(0).integers(train.n_users, size=max(requests, 0))
    times = np.empty((2, users.size))
    with threadpool_limits(limits=1):
        for j, user in enumerate(users):
            started, cpu_started = time.perf_counter(), time.process_time()
            tenant.recommend(int(user), component, 10)
            times[0, j] = (time.perf_counter() - started) * 1000.0
            times[1, j] = (time.process_time() - cpu_started) * 1000.0
    return times

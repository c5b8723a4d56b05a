"""One entry command for every benchmark: ``python -m benchmarks [all|quality|training|tune|serving|parsing]``.

``all`` (the default) reproduces every number in ``benchmarks/README.md``:
quality (ml-latest-small and demo data, both protocols, baselines in the same run),
training cost (growth with size, the 50k-user tenant with tuning), the tuning report
on ml-latest-small, and the serving and parsing benchmarks of ``serving_benchmark.py``
``parse_benchmark.py``, ``store_and_demo_benchmark.py``, ``legacy_benchmark.py`` and
``s3_reload_benchmark.py``, and one training cycle of 8 tenants per executor
(``training_cycle.py``) (run as they are documented, in child processes).
Results go to ``benchmarks/results/``; ``--quick`` shrinks every budget for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import RESULTS_DIR, machine

HERE = Path(__file__).resolve().parent
STEPS = (
    "quality",
    "training",
    "final-fit",
    "tune",
    "serving",
    "parsing",
    "store",
    "legacy",
    "s3-reload",
    "training-cycle",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("what", nargs="?", default="all", choices=("all", *STEPS))
    parser.add_argument("--quick", action="store_true", help="tiny budgets (minutes, not an hour)")
    parser.add_argument("--threads", type=int, default=1, help="training threads (1: reproducible)")
    parser.add_argument("--datasets", default="", help="comma-separated quality datasets")
    parser.add_argument("--models", default="", help="comma-separated quality models (default all)")
    parser.add_argument("--protocols", default="random,temporal,positives")
    parser.add_argument("--trials", type=int, default=None, help="tuning trials per model")
    parser.add_argument("--timeout", type=float, default=None, help="tuning seconds per model")
    parser.add_argument("--reuse", action="store_true", help="keep quality results already on disk")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="output folder")
    parser.add_argument("--movielens", type=Path, default=None, help="ml-latest-small folder")
    return parser


def run_quality(args: argparse.Namespace) -> int:
    from benchmarks import quality, quality_tables

    budget = quality.Budget(
        trials=args.trials if args.trials is not None else (4 if args.quick else 20),
        timeout=args.timeout if args.timeout is not None else (20.0 if args.quick else 240.0),
        threads=args.threads,
        original_iterations=3 if args.quick else 30,
    )
    default = "movielens,demo-small" if args.quick else "movielens,demo-small,demo-medium"
    names = (args.datasets or default).split(",")
    models = args.models.split(",") if args.models else None
    folder = args.results / "quality"
    quality.run(
        names,
        budget,
        models=models,
        protocols=args.protocols.split(","),
        reuse=args.reuse,
        folder=folder,
    )
    text = quality_tables.render(folder)
    (args.results / "quality.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def run_training(args: argparse.Namespace) -> int:
    from benchmarks import training_cost

    argv = ["--threads", str(args.threads), *(["--quick"] if args.quick else [])]
    return training_cost.main(argv, results=args.results)


def run_tune(args: argparse.Namespace) -> int:
    from service.commands import tune_command

    folder = args.results / "tuning-movielens"
    argv = ["--movielens", str(args.movielens) if args.movielens else "default"]
    argv += ["--mode", "mf", "--report-dir", str(folder)]
    argv += ["--save-config", str(folder / "chosen.toml")]
    argv += ["--trials", "6" if args.quick else "30", "--timeout", "60" if args.quick else "600"]
    argv += ["--threads", str(args.threads)]
    with tempfile.TemporaryDirectory() as study:
        return tune_command.main([*argv, "--study-dir", study])


def _child(script: str, *arguments: str) -> int:
    path = HERE / script
    if not path.is_file():
        print(f"{script} not found; skipped")
        return 0
    return subprocess.call([sys.executable, str(path), *arguments])


def _child_env(script: str, arguments: list[str], **env: str) -> int:
    path = HERE / script
    if not path.is_file():
        print(f"{script} not found; skipped")
        return 0
    return subprocess.call([sys.executable, str(path), *arguments], env={**os.environ, **env})


def run_serving(args: argparse.Namespace) -> int:
    """Every serving and load command documented in the README's serving section."""
    quick = ["--seconds", "5"] if args.quick else []
    status = _child("serving_benchmark.py", "all", *quick, *(["--requests", "300"] * args.quick))
    for extra in (
        ["--worker-class", "gthread"],
        ["--close"],
        ["--worker-class", "gthread", "--close"],
    ):
        status = _child("serving_benchmark.py", "http", *extra, *quick) or status
    seconds = "5" if args.quick else "30"
    load = ["--seconds", seconds, "--clients", "8", "--workers", "2"]
    status = _child("load_benchmark.py", *load) or status
    slow = ["--users", "1000", "--items", "500"]
    gthread = "--worker-class gthread --threads 4"
    for count, cmd_args in (("1", ""), ("2", ""), ("2", gthread), ("8", gthread)):
        env = {"GUNICORN_CMD_ARGS": cmd_args} if cmd_args else {}
        status = _child_env("load_benchmark.py", ["--slow-clients", count, *slow], **env) or status
    return status


def run_parsing(args: argparse.Namespace) -> int:
    extra = ["--rows", "100000", "--repeat", "1"] if args.quick else []
    return _child("parse_benchmark.py", *extra)


def run_store(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        return _child("store_and_demo_benchmark.py", scratch)


def run_s3_reload(args: argparse.Namespace) -> int:
    """Reload from S3 (moto) of an artifact the size of the large demo tenant."""
    import importlib.util

    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("boto3") is None:
        print("moto[server] and boto3 are not installed (pip install -e '.[test]'); skipped")
        return 0
    return _child("s3_reload_benchmark.py", "--random", "--repeat", "2" if args.quick else "5")


def run_legacy(args: argparse.Namespace) -> int:
    from mlcore.demo.export import DemoConfig, write_demo_export

    size = (1_000, 200, 20_000) if args.quick else (10_000, 2_000, 200_000)
    with tempfile.TemporaryDirectory() as scratch:
        config = DemoConfig(
            tenants=1, users=size[0], items=size[1], interactions=size[2], seed=1, now=1767225600
        )
        write_demo_export(Path(scratch), config)
        return _child("legacy_benchmark.py", scratch, "--tenant", "0")


def run_final_fit(args: argparse.Namespace) -> int:
    """LightFM's refit vs warm final fit on ml-latest-small (docs/lightfm.md)."""
    return _child("final_fit.py", "hybrid", "2" if args.quick else "6")


def run_training_cycle(args: argparse.Namespace) -> int:
    """One training cycle of 8 equal demo tenants: local 1 process, 2 processes, Dask."""
    size = ("800", "200", "16000", "5") if args.quick else ("8000", "2000", "160000", "40")
    with tempfile.TemporaryDirectory() as scratch:
        export = Path(scratch) / "export"
        subprocess.check_call(
            [sys.executable, "-m", "service.cli", "demo-data", str(export), "--tenants", "8"]
            + ["--users", size[0], "--items", size[1], "--interactions", size[2]]
            + ["--same-size", "--seed", "42", "--now", "1760000000"],
            stdout=subprocess.DEVNULL,
        )
        return _child("training_cycle.py", str(export), "--budget", size[3])


RUNNERS = {
    "quality": run_quality,
    "training": run_training,
    "final-fit": run_final_fit,
    "tune": run_tune,
    "serving": run_serving,
    "parsing": run_parsing,
    "store": run_store,
    "legacy": run_legacy,
    "s3-reload": run_s3_reload,
    "training-cycle": run_training_cycle,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(f"machine: {machine()}")
    steps = STEPS if args.what == "all" else (args.what,)
    status = 0
    for step in steps:
        started = time.perf_counter()
        print(f"=== {step} ===", flush=True)
        status = RUNNERS[step](args) or status
        print(f"=== {step}: {time.perf_counter() - started:.0f} s ===", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Training cost: time and peak memory as users, items and interactions double.

Part 1 (growth): for each model and each size of :data:`GROWTH_SIZES` (users, items
and interactions all doubling), a fresh child process generates (once, cached) a
one-tenant demo export, builds its dataset, then fits the model with its default
options and no tuning. Reported: fit seconds, the peak resident memory the fit added
above the loaded dataset (Linux ``clear_refs``/``VmHWM``), and the growth exponent
``b`` of ``seconds ~ size^b`` fitted by least squares on log-log axes (``b = 1``:
linear in the size factor).

Part 2 (the large tenant): ``mlservice train`` end to end, tuning included, with the
default configuration (``ML_TUNING_TRIALS``/``ML_TUNING_TIMEOUT`` defaults) on a
50,000-user, 10,000-item, 1,000,000-interaction demo tenant: wall-clock seconds and
the child's peak RSS. Target (issue 3): at most 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    RESULTS_DIR,
    load_average,
    machine,
    markdown_table,
    peak_rss_mib,
    reset_peak_rss,
    rss_mib,
)

ROOT = Path(__file__).resolve().parents[1]
BASE = (1_250, 250, 25_000)
GROWTH_SIZES = tuple((BASE[0] << k, BASE[1] << k, BASE[2] << k) for k in range(4))
QUICK_SIZES = tuple((250 << k, 60 << k, 4_000 << k) for k in range(4))
GROWTH_MODELS = ("popularity", "implicit-als", "item-knn", "lightfm-mf", "lightfm-hybrid")
LARGE = (50_000, 10_000, 1_000_000)
LARGE_MODELS = ("lightfm", "implicit-als")


def _recommender(model: str, threads: int) -> Any:
    from mlcore.config import Settings, settings_with
    from mlcore.plugin_manager import make_plugin_manager
    from mlcore.registry import Registry

    settings = settings_with(Settings(), num_threads=threads)
    registry = Registry(make_plugin_manager())
    if model.startswith("lightfm-"):
        options = {"mode": model.split("-", 1)[1], "study_storage": "memory"}
        return registry.create("recommender", "lightfm", options, settings=settings)
    return registry.create("recommender", model, {}, settings=settings)


def measure_fit(model: str, size: tuple[int, int, int], threads: int) -> dict[str, Any]:
    """In this process: build the dataset of ``size``, fit ``model``, time and peak memory."""
    from benchmarks.datasets import demo_dataset

    dataset = demo_dataset(*size)
    recommender = _recommender(model, threads)
    before = rss_mib()
    exact = reset_peak_rss()
    started, cpu_started = time.perf_counter(), time.process_time()
    recommender.fit(dataset)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    return {
        "model": model,
        "users": dataset.n_users,
        "items": dataset.n_items,
        "interactions": dataset.n_interactions,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "peak_added_mib": round(peak_rss_mib() - before, 1) if exact else None,
        "rss_before_mib": round(before, 1),
        "load_average": load_average(),
    }


def _child_fit(model: str, size: tuple[int, int, int], threads: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.training_cost", "--child", model]
    command += [str(v) for v in size] + ["--threads", str(threads)]
    output = subprocess.run(
        command, cwd=ROOT, check=True, capture_output=True, text=True, env=_env()
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.update(extra)
    return env


def growth_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """Slope of log(seconds) against log(size): ``seconds ~ size^slope``."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.maximum(np.asarray(seconds, float), 1e-6))
    return float(np.polyfit(x, y, 1)[0])


def train_large(model: str, size: tuple[int, int, int], threads: int) -> dict[str, Any]:
    """``mlservice train`` on a demo export of ``size`` with the default configuration."""
    from benchmarks.datasets import DEMO_NOW, cache_dir

    work = cache_dir()
    folder = work / f"export-{size[0]}-{size[1]}-{size[2]}"
    if not (folder / "user_interactions_0.csv").is_file():
        from mlcore.demo.export import DemoConfig, write_demo_export

        write_demo_export(
            folder,
            DemoConfig(tenants=1, users=size[0], items=size[1], interactions=size[2], now=DEMO_NOW),
        )
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        env = _env(
            ML_NUM_THREADS=str(threads),
            ML_RECOMMENDER=model,
            ML_MODELS_DIR=str(Path(scratch) / "models"),
            ML_LOGS_DIR=str(Path(scratch) / "logs"),
        )
        command = [
            sys.executable,
            "-m",
            "service.cli",
            "train",
            "--data-dir",
            str(folder),
            "--quiet",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        peak = after.ru_maxrss / 1024.0
        log = (
            (Path(scratch) / "logs" / "train_summary.log").read_text(encoding="utf-8")
            if (Path(scratch) / "logs" / "train_summary.log").is_file()
            else ""
        )
    return {
        "model": model,
        "size": list(size),
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_rss_mib_max_child": round(peak, 1),
        "exit_code": completed.returncode,
        "train_summary_log": log.strip().splitlines()[-1:] if log else [],
        "stderr_tail": completed.stderr.strip().splitlines()[-3:],
        "threads": threads,
        "load_average": load_average(),
    }


def render(growth: list[dict[str, Any]], large: list[dict[str, Any]], threads: int) -> str:
    """Markdown: one growth table per model with its exponent, then the large tenant."""
    parts = [f"Machine: {machine()}. Fit threads: {threads}. Default options, no tuning.\n"]
    rows = []
    for model in dict.fromkeys(r["model"] for r in growth):
        runs = [r for r in growth if r["model"] == model]
        factors = [r["interactions"] / runs[0]["interactions"] for r in runs]
        exponent = growth_exponent(factors, [r["seconds"] for r in runs])
        for r in runs:
            rows.append(
                [
                    model,
                    f"{r['users']:,}",
                    f"{r['items']:,}",
                    f"{r['interactions']:,}",
                    f"{r['seconds']:.2f}",
                    f"{r['cpu_seconds']:.2f}" if "cpu_seconds" in r else "–",
                    "–" if r["peak_added_mib"] is None else f"{r['peak_added_mib']:.1f}",
                    f"{r.get('load_average', -1):.1f}",
                    "",
                ]
            )
        rows[-1][-1] = f"{exponent:.2f}"
    header = (
        "model",
        "users",
        "items",
        "interactions",
        "fit s",
        "fit CPU s",
        "peak MiB added",
        "load avg",
        "growth exponent",
    )
    parts.append(markdown_table(header, rows))
    if large:
        parts.append(
            "\nLarge tenant, `mlservice train` end to end (parse, split, tune, gate, fit, publish), "
            "default configuration:\n"
        )
        large_rows = [
            [
                r["model"],
                "×".join(f"{v:,}" for v in r["size"]),
                f"{r['seconds']:.1f}",
                f"{r['cpu_seconds']:.1f}" if "cpu_seconds" in r else "–",
                f"{r['peak_rss_mib_max_child']:.0f}",
                f"{r.get('load_average', -1):.1f}",
                r["exit_code"],
            ]
            for r in large
        ]
        parts.append(
            markdown_table(
                (
                    "ML_RECOMMENDER",
                    "users×items×interactions",
                    "seconds",
                    "CPU s",
                    "peak RSS MiB",
                    "load avg",
                    "exit",
                ),
                large_rows,
            )
        )
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None, *, results: Path = RESULTS_DIR) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training_cost", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, no large tenant")
    parser.add_argument("--threads", type=int, default=1, help="fit threads (growth)")
    parser.add_argument(
        "--large-threads", type=int, default=2, help="ML_NUM_THREADS of the large tenant"
    )
    parser.add_argument("--models", default=",".join(GROWTH_MODELS))
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("MODEL", "USERS", "ITEMS", "INTERACTIONS"))
    args = parser.parse_args(argv)
    if args.child:
        model, *size = args.child
        print(json.dumps(measure_fit(model, tuple(int(v) for v in size), args.threads)))
        return 0
    sizes = QUICK_SIZES if args.quick else GROWTH_SIZES
    growth = []
    for model in args.models.split(","):
        for size in sizes:
            result = _child_fit(model, size, args.threads)
            print(json.dumps(result), flush=True)
            growth.append(result)
    large = []
    if not (args.quick or args.skip_large):
        for model in LARGE_MODELS:
            result = train_large(model, LARGE, args.large_threads)
            print(json.dumps(result), flush=True)
            large.append(result)
    results.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), "threads": args.threads, "growth": growth, "large": large}
    (results / "training.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    text = render(growth, large, args.threads)
    (results / "training.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

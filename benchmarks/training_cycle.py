"""Wall time of one training cycle of several demo tenants with each executor.

``python benchmarks/training_cycle.py EXPORT [--budget 40]`` (or ``python -m benchmarks
training-cycle``, which makes the export) runs ``mlservice train``
over the export folder three times, into fresh model folders:

* ``local-1``: ``ML_EXECUTOR=local ML_TRAINING_PROCESSES=1`` (the default);
* ``local-2``: ``ML_TRAINING_PROCESSES=2 ML_NUM_THREADS=2`` (one thread per process);
* ``dask-2``: a ``dask scheduler`` and two ``dask worker --nthreads 1 --no-nanny``
  processes on 127.0.0.1, started and stopped here.

Each run gets ``ML_TRAINING_BUDGET`` CPU seconds per tenant and ``ML_NUM_THREADS`` of one
thread per unit. Prints one JSON line per run: wall seconds, the CPU seconds of the
training process and its children (Dask workers are not children: their CPU is the
workers' ``ps`` time), and the load average before and after.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import dask_cluster  # noqa: E402


def run(export: Path, folder: Path, environ: dict[str, str], name: str) -> dict[str, object]:
    """One ``mlservice train`` run; its wall time and load."""
    env = {**os.environ, **environ, "ML_MODELS_DIR": str(folder / name / "models")}
    env["ML_LOGS_DIR"] = str(folder / name / "logs")
    load_before = os.getloadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "train", "--data-dir", str(export), "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    (folder / f"{name}.log").write_text(done.stdout + done.stderr)
    return {
        "run": name,
        "exit": done.returncode,
        "wall_seconds": round(wall, 1),
        "child_cpu_seconds": round(
            after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1
        ),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "tenants_trained": done.stdout.count(" success"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--budget", type=float, default=40.0, help="ML_TRAINING_BUDGET")
    parser.add_argument("--only", nargs="*", default=["local-1", "local-2", "dask-2"])
    args = parser.parse_args()
    base = {"ML_TRAINING_BUDGET": str(args.budget), "ML_NUM_THREADS": "1"}
    folder = Path(tempfile.mkdtemp(prefix="training-cycle-"))
    if "local-1" in args.only:
        print(json.dumps(run(args.export, folder, base, "local-1")), flush=True)
    if "local-2" in args.only:
        local2 = {**base, "ML_TRAINING_PROCESSES": "2", "ML_NUM_THREADS": "2"}
        print(json.dumps(run(args.export, folder, local2, "local-2")), flush=True)
    if "dask-2" in args.only:
        cluster = dask_cluster.start(folder / "dask", {})
        try:
            options = json.dumps({"address": cluster.address})
            dask = {**base, "ML_EXECUTOR": "dask", "ML_EXECUTOR_OPTIONS": options}
            print(json.dumps(run(args.export, folder, dask, "dask-2")), flush=True)
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()

"""Cost of a model version reload from S3 into a serving host's cache (moto on loopback).

Run: ``.venv/bin/python benchmarks/s3_reload_benchmark.py MODELS_DIR [--tenant 0]
[--repeat 5]``, where ``MODELS_DIR`` is a ``filesystem`` store holding a trained tenant
(the large demo tenant: see ``benchmarks/README.md``, "Model reload from S3"), or
``--random`` for an artifact of the same names, dtypes and shapes filled with random
numbers. moto's S3 server (``moto[server]``) runs in a child process on 127.0.0.1.
Results are recorded in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine  # noqa: E402
from mlcore.config import Settings  # noqa: E402
from mlcore.interfaces import ModelArtifact  # noqa: E402
from mlcore.plugin_manager import make_plugin_manager  # noqa: E402
from mlcore.registry import Registry  # noqa: E402
from plugins.filesystem_store.store import FilesystemModelStore  # noqa: E402
from service.model_holder import ModelHolder  # noqa: E402

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "AWS_DEFAULT_REGION": "us-east-1",
}
#: The large demo tenant's arrays (50,000 users, 10,000 items, 64 factors), for --random.
LARGE_SHAPES: dict[str, tuple[str, tuple[int, ...]]] = {
    "user_ids": ("<U5", (50_000,)),
    "item_ids": ("<U24", (10_000,)),
    "type_offsets": ("<i8", (6,)),
    "user_factors": ("<f4", (50_000, 64)),
    "user_bias": ("<f4", (50_000,)),
    "item_factors": ("<f4", (10_000, 64)),
    "item_bias": ("<f4", (10_000,)),
    "item_unit": ("<f4", (10_000, 64)),
    "positives_indptr": ("<i8", (50_001,)),
    "positives_indices": ("<i4", (475_771,)),
    "item_popularity": ("<f4", (10_000,)),
}


def random_artifact() -> ModelArtifact:
    rng = np.random.default_rng(7)
    arrays: dict[str, np.ndarray] = {}
    for name, (dtype, shape) in LARGE_SHAPES.items():
        if dtype.startswith("<U"):
            arrays[name] = rng.integers(0, 10**9, shape).astype(str).astype(dtype)
        else:
            arrays[name] = (rng.random(shape) * 1000).astype(dtype)
    return ModelArtifact(manifest={"message": "success", "random": True}, arrays=arrays)


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}"


def make_store(endpoint: str, bucket: str, cache: Path) -> Any:
    options = {"bucket": bucket, "endpoint_url": endpoint, "cache_dir": str(cache)}
    settings = Settings(models_dir=cache.parent, keep_versions=5)
    return Registry(make_plugin_manager()).create("model store", "s3", options, settings=settings)


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def median_ms(function: Callable[[], object], calls: int) -> float:
    return statistics.median(timed(function) for _ in range(calls)) * 1e3


def run(artifact: ModelArtifact, scratch: Path, tenant: str, repeat: int) -> None:
    process, endpoint = start_moto(scratch / "moto.log")
    try:
        trainer = _wait_for(endpoint, scratch)
        megabytes = sum(a.nbytes for a in artifact.arrays.values()) / 2**20
        print(f"artifact: {len(artifact.arrays)} arrays, {megabytes:.1f} MiB")
        publish = [timed(lambda: trainer.publish(tenant, artifact)) for _ in range(3)]
        print(f"publish (stage, claim, upload, pointer): median {statistics.median(publish):.2f} s")
        cold, holder = [], []
        for run_index in range(repeat):
            host = make_store(endpoint, "bench", scratch / f"host{run_index}")
            cold.append(timed(lambda host=host: host.load(tenant)))
            other = make_store(endpoint, "bench", scratch / f"holder{run_index}")
            holder.append(timed(lambda other=other: ModelHolder(other, interval=0).models()))
        median = statistics.median(cold)
        print(
            f"reload into an empty cache (store.load): median {median:.2f} s "
            f"({megabytes / median:.0f} MiB/s), all {[round(c, 2) for c in cold]}"
        )
        print(
            f"first refresh of a worker (ModelHolder, cache empty): median "
            f"{statistics.median(holder):.2f} s, all {[round(h, 2) for h in holder]}"
        )
        warm = make_store(endpoint, "bench", scratch / "host0")
        print(f"load from the cache (hit): {median_ms(lambda: warm.load(tenant), 20):.1f} ms")
        print(f"change_token() (HEAD): {median_ms(warm.change_token, 200):.2f} ms per call")
        current = median_ms(lambda: warm.current_version(tenant), 200)
        print(f"current_version() (GET): {current:.2f} ms per call")
    finally:
        process.kill()
        process.wait()


def _wait_for(endpoint: str, scratch: Path) -> Any:
    import boto3

    deadline = time.monotonic() + 30
    while True:
        try:
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
            return make_store(endpoint, "bench", scratch / "trainer")
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "models", nargs="?", type=Path, help="filesystem store with a trained tenant"
    )
    parser.add_argument("--tenant", default="0")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--random", action="store_true", help="random arrays of the large tenant")
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)
    if args.random or args.models is None:
        artifact = random_artifact()
    else:
        artifact = FilesystemModelStore(args.models).load(args.tenant)
    print(f"machine: {machine()}; load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as scratch:
        run(artifact, Path(scratch), args.tenant, args.repeat)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time ``mlservice demo-data`` at 50k users x 10k items x 1M interactions and the model store.

Run: ``.venv/bin/python benchmarks/store_and_demo_benchmark.py [SCRATCH_DIR]``. Results are
recorded in ``benchmarks/README.md`` (section "Demo data and model store").
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.interfaces import ModelArtifact
from plugins.filesystem_store.store import FilesystemModelStore


def _timed_demo(folder: Path) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    config = DemoConfig(tenants=1, users=50_000, items=10_000, interactions=1_000_000, now=1.8e9)
    write_demo_export(folder / "export", config)
    print(
        f"demo-data 50k x 10k x 1M: wall {time.perf_counter() - wall:.1f} s, "
        f"cpu {time.process_time() - cpu:.1f} s"
    )


def _artifact() -> ModelArtifact:
    rng = np.random.default_rng(0)
    arrays = {
        "user_ids": np.array([str(i) for i in range(50_000)]),
        "item_ids": np.array([f"engage_article{i}" for i in range(10_000)]),
        "user_factors": rng.random((50_000, 64), dtype=np.float32),
        "item_factors": rng.random((10_000, 64), dtype=np.float32),
        "item_unit": rng.random((10_000, 64), dtype=np.float32),
        "user_bias": np.zeros(50_000, np.float32),
        "item_bias": np.zeros(10_000, np.float32),
        "positives_indices": rng.integers(0, 10_000, 1_000_000).astype(np.int32),
    }
    return ModelArtifact(manifest={"message": "success"}, arrays=arrays)


def _per_call_microseconds(function: object, calls: int = 10_000) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()  # type: ignore[operator]
    return (time.perf_counter() - started) / calls * 1e6


def _timed_store(root: Path) -> None:
    store = FilesystemModelStore(root)
    started = time.perf_counter()
    store.publish("0", _artifact())
    publish = time.perf_counter() - started
    started = time.perf_counter()
    store.load("0")
    load = time.perf_counter() - started
    started = time.perf_counter()
    FilesystemModelStore(root, verify=True).load("0")
    verified = time.perf_counter() - started
    megabytes = sum(path.stat().st_size for path in root.rglob("*.npy")) / 1e6
    print(f"publish {megabytes:.0f} MB (8 arrays, fsynced): {publish:.2f} s")
    print(f"load, memory-mapped with structural checks: {load * 1000:.1f} ms")
    print(f"load with verify=True (sha256 of every file): {verified:.2f} s")
    print(f"change_token(): {_per_call_microseconds(store.change_token):.1f} us per call")
    tenant_version = lambda: store.current_version("0")  # noqa: E731
    print(f"current_version(): {_per_call_microseconds(tenant_version):.1f} us per call")


def main() -> None:
    scratch = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    _timed_demo(scratch)
    _timed_store(scratch / "store")


if __name__ == "__main__":
    main()

"""Time the legacy batch output step (i2i + i2u files) for one tenant of an export.

Training is left out: a factor model with random vectors of the given width stands in
for a trained one (the output step only sees the arrays). Usage::

    .venv/bin/mlservice demo-data /tmp/legacy-bench --tenants 1 --users 10000 \\
        --items 2000 --interactions 200000 --seed 1 --now 1767225600
    .venv/bin/python -m benchmarks.legacy_benchmark /tmp/legacy-bench --tenant 0
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mlcore.interfaces import ServingArrays
from mlcore.legacy.outputs import OutputOptions, write_tenant_files
from mlcore.serving.artifact import build_artifact
from mlcore.totara.dataset_builder import load_tenant_dataset
from plugins.export_folder_source import ExportFolderSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--tenant", default="0")
    parser.add_argument("--components", type=int, default=64)
    parser.add_argument("--result_count_user", type=int, default=25)
    parser.add_argument("--result_count_item", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dataset = load_tenant_dataset(ExportFolderSource(args.folder), args.tenant)
    rng = np.random.default_rng(0)
    users, items, width = dataset.n_users, dataset.n_items, args.components
    serving = ServingArrays(
        "factors",
        rng.standard_normal((users, width)).astype(np.float32),
        rng.standard_normal(users).astype(np.float32),
        rng.standard_normal((items, width)).astype(np.float32),
        rng.standard_normal(items).astype(np.float32),
    )
    artifact = build_artifact(dataset, serving, backend="random", algorithm="mf", details={})
    options = OutputOptions(args.result_count_user, args.result_count_item)
    print(f"{users} users, {items} items, {dataset.n_interactions} interactions, d={width}")
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        files = write_tenant_files(args.folder, dataset, artifact, options)
        print(
            f"i2i {files.i2i_rows} rows, i2u {files.i2u_rows} rows: "
            f"{time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU"
        )


if __name__ == "__main__":
    main()

"""Memory of one tenant whose first user id is long (issue 14, item 4; results in README).

A demo export (one tenant: 5,000 users, 1,000 items, 100,000 interactions, 4.3 MB)
is written, user ``2`` is renamed to an id of ``L`` characters in ``user_data_0.csv``
and in its interactions, and a fresh process loads the tenant (parse, build the
dataset), fits popularity and builds the artifact. Reported per ``L``: the process's
peak RSS (``ru_maxrss``), seconds, and the bytes of the artifact's id arrays, or the
error when the id is refused.

Run: ``.venv/bin/python benchmarks/id_memory_benchmark.py`` (``--lengths 0 255 20000``).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_export(folder: Path, length: int) -> None:
    """The demo export with user ``2`` renamed to ``length`` sevens (0: unchanged)."""
    from mlcore.demo.export import DemoConfig, write_demo_export

    config = DemoConfig(tenants=1, users=5000, items=1000, interactions=100_000, now=1_700_000_000)
    write_demo_export(folder, config)
    if length:
        for name in ("user_data_0.csv", "user_interactions_0.csv"):
            path = folder / name
            path.write_text(re.sub(r"(?m)^2,", "7" * length + ",", path.read_text()))


def measure(folder: Path) -> dict[str, object]:
    """Load, fit popularity and build the artifact in this process; peak RSS after."""
    from mlcore.serving.artifact import build_artifact
    from mlcore.totara.dataset_builder import load_tenant_dataset
    from mlcore.training.baseline import PopularityRecommender
    from plugins.export_folder_source import ExportFolderSource

    started = time.perf_counter()
    result: dict[str, object] = {}
    try:
        dataset = load_tenant_dataset(ExportFolderSource(folder), "0")
        model = PopularityRecommender()
        model.fit(dataset)
        artifact = build_artifact(
            dataset, model.export(), backend="popularity", algorithm="popularity", details={}
        )
        ids = [a for name, a in artifact.arrays.items() if "_id" in name and "ind" not in name]
        result["artifact_id_bytes"] = sum(int(a.nbytes) for a in ids)
    except Exception as exc:  # noqa: BLE001 - the refusal is the measurement
        result["error"] = str(exc)[:200]
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[0, 255, 20_000])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    print("| id length | peak RSS | seconds | id arrays in the artifact | refused |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="id-memory-") as scratch:
        for length in args.lengths:
            folder = Path(scratch) / str(length)
            make_export(folder, length)
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(folder)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(child.stdout)
            print(
                f"| {length or 'short (1-5)'} | {row['peak_rss_mib']} MiB | {row['seconds']} | "
                f"{row.get('artifact_id_bytes', '-')} | {row.get('error', '')} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

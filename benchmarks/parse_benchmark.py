"""Time parsing a large Totara export and building its Dataset (recorded, never asserted).

Run: ``.venv/bin/python -m benchmarks.parse_benchmark [--rows N] [--repeat R]``

Writes a synthetic tenant in Totara's format (PHP ``fputcsv`` quoting) to a temporary
folder: N interaction rows (default 1,000,000, 20% duplicates of (user, item) pairs,
5% unknown users), 50,000 users with list columns, competencies and quoted
descriptions, 20,000 items over the five components with 10 ``topic_*`` columns and
multi-line quoted documents. Prints the best of R runs for each step, plus the
interactions again with one PHP ``\\"`` quirk added (the escaped ``csv`` path).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from mlcore.item_types import COMPONENTS
from mlcore.totara.dataset_builder import build_dataset
from mlcore.totara.export_files import parse_interactions, parse_item_data, parse_user_data
from mlcore.totara.tables import USER_DATA_HEADER

T = TypeVar("T")
USERS = 50_000
ITEMS = 20_000
TOPICS = 10


def write_tenant(folder: Path, rows: int, seed: int = 0) -> dict[str, Path]:
    """Write the three files of tenant ``0``; return their paths by kind."""
    rng = np.random.default_rng(seed)
    types = rng.integers(0, len(COMPONENTS), ITEMS)
    item_ids = [f"{COMPONENTS[t]}{k + 1}" for k, t in enumerate(types)]
    paths = {
        "interactions": folder / "user_interactions_0.csv",
        "users": folder / "user_data_0.csv",
        "items": folder / "item_data_0.csv",
    }
    unique = rows - rows // 5
    users = rng.integers(2, int(USERS * 1.05) + 2, unique)
    items = rng.integers(0, ITEMS, unique)
    repeat = rng.integers(0, unique, rows - unique)
    users, items = np.concatenate([users, users[repeat]]), np.concatenate([items, items[repeat]])
    ratings = rng.choice([0, 1, 1, 1, 1], rows)
    stamps = rng.integers(1_600_000_000, 1_630_000_000, rows)
    names = np.array(item_ids)[items]
    lines = ["user_id,item_id,rating,timestamp"]
    lines += [f"{u},{i},{r},{t}" for u, i, r, t in zip(users, names, ratings, stamps, strict=True)]
    paths["interactions"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    user_lines = [",".join(USER_DATA_HEADER)]
    for user in range(2, USERS + 2):
        interests = "|".join(f"interest_id{k}" for k in rng.integers(0, 60, 3))
        skills = "|".join(
            f"{k}:{v}" for k, v in zip(rng.integers(0, 40, 2), rng.integers(0, 5, 2), strict=True)
        )
        user_lines.append(
            f'{user},en,"City{user % 90}, Town{user % 7}",NZ,{interests},{user % 13},'
            f'{user % 50}|{user % 31},{user % 17},{skills},{user % 23},"Likes maths, and, art"'
        )
    paths["users"].write_text("\n".join(user_lines) + "\n", encoding="utf-8")
    topics = [f"topic_t{k}" for k in range(TOPICS)]
    item_lines = [",".join(["item_id", *COMPONENTS, *topics, "document"])]
    for item_id, item_type in zip(item_ids, types, strict=True):
        one_hot = ",".join("1" if k == item_type else "0" for k in range(len(COMPONENTS)))
        flags = ",".join(str(v) for v in rng.integers(0, 2, TOPICS))
        item_lines.append(f'{item_id},{one_hot},{flags},"Title {item_id}\nsome text here"')
    paths["items"].write_text("\n".join(item_lines) + "\n", encoding="utf-8")
    return paths


def best_of(repeat: int, step: Callable[[], T]) -> tuple[float, float, T]:
    """Fastest wall time and fastest CPU time of ``repeat`` calls, and the last result.

    CPU time is reported too because the shared machine is often overloaded, which
    inflates wall time but much less the process's own CPU time.
    """
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert result is not None
    return min(walls), min(cpus), result


def report(label: str, count: str, wall: float, cpu: float, extra: str = "") -> None:
    print(f"{label:<20}{count:>18}  wall {wall:6.2f} s  cpu {cpu:6.2f} s  {extra}".rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="parse-benchmark-") as tmp:
        paths = write_tenant(Path(tmp), args.rows)
        blobs = {kind: path.read_bytes() for kind, path in paths.items()}
        for kind, blob in blobs.items():
            print(f"{paths[kind].name}: {len(blob) / 2**20:.1f} MiB")
        wall, cpu, interactions = best_of(
            args.repeat, lambda: parse_interactions(blobs["interactions"], "x.csv")
        )
        report("parse_interactions", f"{len(interactions):,} rows", wall, cpu)
        wall, cpu, users = best_of(args.repeat, lambda: parse_user_data(blobs["users"], "u.csv"))
        report("parse_user_data", f"{len(users):,} users", wall, cpu)
        wall, cpu, items = best_of(args.repeat, lambda: parse_item_data(blobs["items"], "i.csv"))
        report("parse_item_data", f"{len(items):,} items", wall, cpu)
        wall, cpu, dataset = best_of(
            args.repeat, lambda: build_dataset("0", interactions, users, items)
        )
        report(
            "build_dataset", f"{dataset.n_interactions:,} kept", wall, cpu, str(dict(dataset.stats))
        )
        quirky = blobs["interactions"] + b'1,"x\\"y",1,1\n'
        wall, cpu, table = best_of(args.repeat, lambda: parse_interactions(quirky, "x.csv"))
        report("parse_interactions", f"{len(table):,} rows", wall, cpu, '(one \\" in the file)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark datasets by name: ml-latest-small and demo exports of several sizes.

Every dataset is offered under both protocols of ``../shared/data/README.md``:

* ``random``: a seeded random 80/20 split (MovieLens: of the ratings >= 4 only;
  demo data: of all interactions, which are implicit feedback already);
* ``temporal``: each user's most recent 20% of interactions are the test set;
* ``positives``: only positive interactions (MovieLens: ratings >= 4; demo data:
  ``rating`` 1) are kept, then ``temporal`` (issue #17's acceptance protocol).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import movielens
from mlcore.dataset import Dataset
from mlcore.training.splits import Split, random_split, temporal_split

PROTOCOLS = ("random", "temporal", "positives")
#: Demo sizes by name: (users, items, interactions); each roughly doubles the previous one.
DEMO_SIZES: dict[str, tuple[int, int, int]] = {
    "demo-tiny": (120, 40, 2_400),  # the smoke test's
    "demo-small": (2_000, 500, 40_000),
    "demo-medium": (8_000, 2_000, 160_000),
    "demo-large": (50_000, 10_000, 1_000_000),
}
DEMO_NOW = 1_760_000_000  # fixed "now", so the generated files are identical on every run


@dataclass(frozen=True)
class DatasetSpec:
    """A benchmark dataset name and how it is described in the tables."""

    name: str
    description: str


def describe(name: str) -> str:
    """A one-line description of a dataset name, for the tables."""
    if name == "movielens":
        return (
            "ml-latest-small (610 users, 9,742 movies as engage_article, genres as topic_*, "
            "title + tags as document)"
        )
    users, items, interactions = DEMO_SIZES[name]
    return (
        f"mlcore.demo.export export, tenant 0: {users:,} users, {items:,} items, "
        f"{interactions:,} interaction rows, seed 42"
    )


def cache_dir() -> Path:
    """Where generated demo exports are kept between runs (the system temp folder)."""
    return Path(tempfile.gettempdir()) / "mlservice-benchmarks"


def demo_dataset(users: int, items: int, interactions: int, *, seed: int = 42) -> Dataset:
    """Generate a one-tenant demo export (cached under the temp folder) and build its dataset."""
    from mlcore.demo.export import DemoConfig, write_demo_export
    from mlcore.totara.dataset_builder import load_tenant_dataset
    from plugins.export_folder_source import ExportFolderSource

    folder = cache_dir() / f"demo-{users}-{items}-{interactions}-{seed}"
    if not (folder / "user_interactions_0.csv").is_file():
        config = DemoConfig(
            tenants=1, users=users, items=items, interactions=interactions, seed=seed, now=DEMO_NOW
        )
        write_demo_export(folder, config)
    return load_tenant_dataset(ExportFolderSource(folder), "0")


def split(name: str, protocol: str, *, seed: int = 42) -> Split:
    """The train/test split of dataset ``name`` under ``protocol``.

    Raises:
        movielens.MovieLensMissingError: ``movielens`` requested but absent.
    """
    if name == "movielens":
        return movielens.protocol_split(protocol, seed=seed)
    dataset = demo_dataset(*DEMO_SIZES[name], seed=seed)
    if protocol == "random":
        return random_split(dataset, test_fraction=0.2, seed=seed)
    if protocol == "temporal":
        return temporal_split(dataset, test_fraction=0.2)
    if protocol == "positives":
        positives = dataset.with_interactions(dataset.ratings == 1)
        split = temporal_split(positives, test_fraction=0.2)
        return Split(split.train, split.test, "positive interactions only, temporal per-user")
    raise ValueError(f"unknown protocol {protocol!r}")

"""ml-latest-small under the two evaluation protocols of ``../shared/data/README.md``.

The mapping onto the export model is :mod:`mlcore.demo.movielens` (movies as
``engage_article`` items, genres as ``topic_*``, title + tags as ``document``).

1. ``random``: only ratings >= 4 are interactions; a seeded random 80/20 split of them.
2. ``temporal``: every rating is an interaction; each user's most recent 20% are the
   test set, and every test interaction counts as relevant (what the user watches next).
3. ``positives`` (issue #17's acceptance protocol): only ratings >= 4 are interactions
   (exported and trained on); each user's most recent 20% of them are the test set.

Run ``python -m benchmarks.movielens --export OUT`` to write the data as a Totara export
folder (tenant ``0``) for ``mlservice train --data-dir OUT``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlcore.demo.movielens import (
    DEFAULT_DIR,
    MovieLensMissingError,
    load,
    require_dir,
    write_export,
)
from mlcore.training.splits import Split, random_split, temporal_split

__all__ = ["DEFAULT_DIR", "PROTOCOLS", "MovieLensMissingError", "load", "protocol_split"]
__all__ += ["require_dir", "write_export"]

PROTOCOLS = ("random", "temporal", "positives")


def protocol_split(protocol: str, path: Path | None = None, *, seed: int = 42) -> Split:
    """The train/test split of one protocol (``random`` or ``temporal``).

    Raises:
        MovieLensMissingError: The folder is absent.
    """
    if protocol == "random":
        split = random_split(load(path, positives_only=True), test_fraction=0.2, seed=seed)
        return Split(split.train, split.test, f"random 80/20 of ratings >= 4, seed {seed}")
    if protocol == "temporal":
        split = temporal_split(load(path), test_fraction=0.2)
        return Split(split.train, split.test, "temporal per-user, last 20% of ratings")
    if protocol == "positives":
        split = temporal_split(load(path, positives_only=True), test_fraction=0.2)
        return Split(
            split.train, split.test, "ratings >= 4 only, temporal per-user, last 20% of them"
        )
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ml-latest-small as a Totara export folder")
    parser.add_argument("--movielens", type=Path, default=DEFAULT_DIR, help="the folder")
    parser.add_argument("--export", type=Path, required=True, help="write the export here")
    args = parser.parse_args(argv)
    try:
        dataset = load(args.movielens)
    except MovieLensMissingError as exc:
        print(exc)
        return 0
    print(f"wrote {write_export(dataset, args.export)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``mlservice legacy``: the Totara 13/14 batch recommender (contract §11).

Takes exactly the arguments Totara's ``recommender_command.php`` prints, all
required, and writes ``i2i_<t>.csv`` / ``i2u_<t>.csv`` plus the ``ml_started`` /
``ml_completed`` flags into ``--data_path``. See ``docs/legacy.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlcore.config import load_settings
from mlcore.configured import configured_plugins
from mlcore.legacy.batch import (
    STARTED,
    LegacyBatch,
    already_started,
    legacy_settings,
    option_names,
    tenant_trainer,
)
from mlcore.legacy.outputs import OutputOptions, TenantFiles


def add_arguments(parser: argparse.ArgumentParser) -> None:
    required = parser.add_argument_group("required arguments (as Totara prints them)")
    required.add_argument("--query", required=True, choices=("mf", "partial", "hybrid"))
    required.add_argument("--result_count_user", required=True, type=_count, metavar="N")
    required.add_argument("--result_count_item", required=True, type=_count, metavar="N")
    required.add_argument("--threads", required=True, type=_threads, metavar="N")
    required.add_argument("--data_path", required=True, type=_folder, metavar="DIR")
    parser.add_argument(
        "--seen_items",
        choices=("exclude", "downrank"),
        default=None,
        help="exclude each user's positive items (default: ML_SEEN_ITEMS, exclude) "
        "or down-rank them by 0.3 x (max - min) as the original did",
    )
    parser.add_argument(
        "--similar_items",
        choices=("any", "family"),
        default="any",
        help="i2i: similar items of any type (default, as the original) or of the "
        "target's family only (articles with microlearning, else the same type)",
    )


def run(args: argparse.Namespace) -> int:
    folder: Path = args.data_path
    if already_started(folder):
        return _nothing_to_do(folder)
    base = load_settings()
    names = option_names(configured_plugins(base))
    settings = legacy_settings(base, query=args.query, threads=args.threads, option_names=names)
    parts = configured_plugins(settings)
    source = parts.registry.create(
        "data source", "export-folder", {"path": str(folder)}, settings=settings
    )
    options = OutputOptions(
        result_count_user=args.result_count_user,
        result_count_item=args.result_count_item,
        seen_items=args.seen_items or settings.seen_items,
        similar_items=args.similar_items,
    )
    batch = LegacyBatch(source, tenant_trainer(parts), progress=_print_tenant)
    result = batch.run(folder, options)
    if result.already_started:
        return _nothing_to_do(folder)
    print(f"Completed: {len(result.tenants)} tenant(s) in {folder}.")
    return 0


def _nothing_to_do(folder: Path) -> int:
    print(f"{folder / STARTED} exists: a run is in progress or done. Nothing to do.")
    return 0


def _print_tenant(files: TenantFiles) -> None:
    print(
        f"tenant {files.tenant}: {files.message} "
        f"(i2i {files.i2i_rows} rows, i2u {files.i2u_rows} rows)",
        flush=True,
    )


def _count(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return value


def _threads(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not an existing folder")
    return path

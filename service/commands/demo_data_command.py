"""``mlservice demo-data OUT``: write a synthetic Totara export folder with planted structure."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mlcore.demo.export import DemoConfig, write_demo_export


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = DemoConfig()
    parser.add_argument("out", type=Path, help="folder to write (created if needed)")
    parser.add_argument(
        "--tenants",
        type=int,
        default=defaults.tenants,
        help="tenants 0..N-1; with 2 or more the last is tiny, to show the skip message "
        f"(default {defaults.tenants})",
    )
    parser.add_argument("--users", type=int, default=defaults.users, help="users of tenant 0")
    parser.add_argument("--items", type=int, default=defaults.items, help="items of tenant 0")
    parser.add_argument(
        "--interactions",
        type=int,
        default=defaults.interactions,
        help="interaction rows of tenant 0 (tenant k gets 1/(k+1) of each size)",
    )
    parser.add_argument(
        "--same-size",
        action="store_true",
        help="every tenant gets the sizes above (no tiny last tenant), e.g. for benchmarks",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    parser.add_argument(
        "--now",
        type=int,
        help="Unix time the year of interactions ends at (default: today 00:00 UTC)",
    )


def run(args: argparse.Namespace) -> int:
    config = DemoConfig(
        tenants=args.tenants,
        users=args.users,
        items=args.items,
        interactions=args.interactions,
        seed=args.seed,
        now=args.now,
        same_size=args.same_size,
    )
    try:
        config.sizes()
    except ValueError as exc:
        print(f"mlservice demo-data: error: {exc}")
        return 2
    started = time.perf_counter()
    summary = write_demo_export(args.out, config)
    print(
        f"Wrote a demo Totara export to {summary.folder} in {time.perf_counter() - started:.1f} s"
    )
    print(f"{'tenant':>6} {'users':>8} {'items':>8} {'interactions':>13}")
    for tenant, (users, items, interactions) in summary.tenants.items():
        print(f"{tenant:>6} {users:>8} {items:>8} {interactions:>13}")
    print(f"Train it with: ML_DATA_DIR={summary.folder} mlservice train")
    return 0

"""``mlservice plugins``: what is installed, with descriptions and options."""

from __future__ import annotations

import argparse

from mlcore.options import describe_options
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--options", action="store_true", help="also list each plugin's typed options"
    )


def run(args: argparse.Namespace) -> int:
    registry = Registry(make_plugin_manager())
    for kind, records in registry.all_records().items():
        print(f"{kind}s:")
        for name in sorted(records):
            record = records[name]
            print(f"  {name:<16} {record.description}  [{record.source}]")
            if args.options:
                for option, type_name, default in describe_options(record.options_type):
                    print(f"      {option}: {type_name} = {default!r}")
    return 0

"""``mlservice config``: every ``ML_*`` setting with its current value and meaning.

The value of ``ML_TOTARA_KEY`` is never printed, only whether it is set.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlcore.config import SECRET_VARIABLES, VARIABLES, Settings, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")


def run(args: argparse.Namespace) -> int:
    rows = setting_rows(load_settings(), os.environ)
    if args.markdown:
        print("| Variable | Value | Meaning |\n| --- | --- | --- |")
        for name, value, meaning in rows:
            print(f"| `{name}` | `{value}` | {meaning} |")
        return 0
    width = max(len(name) for name, _, _ in rows)
    value_width = min(max(len(value) for _, value, _ in rows), 40)
    for name, value, meaning in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {meaning}")
    return 0


def setting_rows(settings: Settings, environ: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(variable, shown value, meaning)`` for every variable, secrets masked."""
    rows = [
        (
            "ML_CONFIG_FILE",
            environ.get("ML_CONFIG_FILE", "") or "(not set)",
            "TOML file of settings",
        )
    ]
    for name, (field_name, _parse, meaning) in VARIABLES.items():
        if name in SECRET_VARIABLES:
            shown = "set" if getattr(settings, field_name) else "not set"
        elif not field_name:
            shown = environ.get(name, "(not set)")
        else:
            shown = _shown(getattr(settings, field_name))
        rows.append((name, shown, meaning))
    return rows


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    if value is None:
        return "(not set)"
    return str(value) if str(value) != "" else "(empty)"

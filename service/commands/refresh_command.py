"""``mlservice refresh [--tenant T]``: run one refresh cycle now.

Folds what changed in the export (and posted events) since each tenant's served
model into a new version, as the scheduled cycle does every ``ML_REFRESH_INTERVAL``
seconds; prints one line per tenant. Exit status 1 when a tenant's refresh failed
(its current model keeps serving).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlcore.training.refresh import FAILED
from service.commands.command_settings import add_models_dir, settings_from
from service.refresh_run import run_refresh


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", help="refresh this tenant only (default: every tenant)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="export folder (selects the export-folder source; default: ML_DATA_DIR or "
        "ML_TOTARA_URL)",
    )
    add_models_dir(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per tenant")


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    outcomes = run_refresh(settings, only=args.tenant)
    for outcome in outcomes:
        if args.json:
            print(json.dumps(outcome.as_dict(), sort_keys=True))
            continue
        counts = ", ".join(f"{k} {v}" for k, v in outcome.counts.items() if v)
        version = f" -> {outcome.version}" if outcome.version else ""
        print(
            f"tenant {outcome.tenant}: {outcome.status}{version} ({outcome.message}"
            f"{'; ' + counts if counts else ''}; {outcome.seconds:.2f} s)"
        )
    if not outcomes:
        print("no tenant has a model yet: run mlservice train first")
    return 1 if any(o.status == FAILED for o in outcomes) else 0

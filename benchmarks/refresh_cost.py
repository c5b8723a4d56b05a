"""Cost of a refresh on the large demo tenant: fold-in per user and per refresh.

``python -m benchmarks.refresh_cost [--folder /tmp/big13] [--changed 1000]``

Writes (once) the large demo export ``mlservice demo-data FOLDER/export --tenants 1
--users 50000 --items 10000 --interactions 1000000 --seed 7`` and trains it once with
the default configuration (``mlservice train``: several minutes), then times, in this
process, :meth:`mlcore.training.refresh.Refresher.refresh_tenant` for

* a check with nothing changed (the export folder's ``stat`` fingerprint),
* one changed user (the fixed cost: loading the export, digests, packaging, publishing),
* ``--changed`` users with one new interaction each,

and reports the fold-in seconds of each backend of the served model (a blend's members
separately) and per user. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import load_average, machine
from mlcore.config import load_settings
from mlcore.configured import configured_plugins
from mlcore.events.event_log import EventLog
from mlcore.training.refresh import Refresher
from mlcore.training.refresh_state import RefreshState
from tests.support.export_rows import append_rows

ROOT = Path(__file__).resolve().parents[1]
DEMO = ("--tenants", "1", "--users", "50000", "--items", "10000", "--interactions", "1000000")


def prepare(folder: Path, environ: dict[str, str]) -> None:
    """The export and one full training, unless already there."""
    command = [sys.executable, "-m", "service.cli"]
    if not (folder / "export" / "tenants.csv").exists():
        demo = [*command, "demo-data", str(folder / "export"), *DEMO, "--seed", "7"]
        subprocess.run(demo, env=environ, cwd=ROOT, check=True, stdout=sys.stderr)
    if not (folder / "models").exists():
        started = time.perf_counter()
        subprocess.run(
            [*command, "train", "--quiet"], env=environ, cwd=ROOT, check=True, stdout=sys.stderr
        )
        print(f"full training: {time.perf_counter() - started:.0f} s", file=sys.stderr)


def append_interactions(export: Path, users: list[str], items: list[str], now: int) -> None:
    """One new interaction per user, written as an LMS export is (new file, rename)."""
    rows = [[u, i, "1", str(now + n)] for n, (u, i) in enumerate(zip(users, items, strict=True))]
    append_rows(export / "user_interactions_0.csv", rows)


def timed(refresher: Refresher) -> dict[str, object]:
    outcome = refresher.refresh_tenant("0")
    manifest = refresher.store.load("0").manifest if outcome.version else {}
    return {
        "status": outcome.status,
        "seconds": round(outcome.seconds, 2),
        "users_changed": outcome.counts.get("users_changed", 0),
        "fold_in_seconds": round(outcome.fold_in_seconds, 3),
        "fold_in_seconds_by_backend": {
            k: round(v, 3) for k, v in dict(manifest.get("fold_in_seconds_by_backend", {})).items()
        },
        "fold_in_ms_per_user": round(
            1000 * outcome.fold_in_seconds / max(outcome.counts.get("users_changed", 0), 1), 3
        ),
        "load_average": load_average(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/big13"))
    parser.add_argument("--changed", type=int, default=1000)
    args = parser.parse_args()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ.update(
        ML_DATA_DIR=str(args.folder / "export"),
        ML_MODELS_DIR=str(args.folder / "models"),
        ML_LOGS_DIR=str(args.folder / "logs"),
        ML_NUM_THREADS="1",
    )
    prepare(args.folder, environ)
    settings = load_settings(environ)
    parts = configured_plugins(settings)
    store = parts.model_store()
    refresher = Refresher(
        parts.data_source(),
        store,
        parts.recommender,
        RefreshState.under(settings.models_dir),
        EventLog.under(settings.models_dir),
    )
    manifest = store.load("0").manifest
    report: dict[str, object] = {
        "machine": machine(),
        "served": {"backend": manifest.get("backend"), "kind": manifest.get("kind")},
        "first_check": timed(refresher),
        "unchanged_check": timed(refresher),
    }
    rng = np.random.default_rng(7)
    model_users = [str(u) for u in range(2, 50_002)]
    items = [f"container_course{i}" for i in rng.integers(1, 400, size=args.changed + 1)]
    append_interactions(args.folder / "export", model_users[:1], items[:1], 2_000_000_000)
    report["one_user"] = timed(refresher)
    chosen = [model_users[i] for i in rng.choice(len(model_users), args.changed, replace=False)]
    append_interactions(args.folder / "export", chosen, items[1:], 2_000_001_000)
    report[f"{args.changed}_users"] = timed(refresher)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

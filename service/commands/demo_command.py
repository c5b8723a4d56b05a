"""``mlservice demo``: demo data, one training run, then the service on 127.0.0.1:5000.

Uses ``./demo/export`` (written with :mod:`mlcore.demo.export` when absent) and
the same model and log folders as every other command (``ML_MODELS_DIR``,
``ML_LOGS_DIR``: ``./data/models``, ``./data/logs`` by default), so ``mlservice
models list``, ``recommend`` and the rest work on the demo's models right away.
The listeners are checked before training. Without ``ML_TOTARA_KEY`` a random key
is made up for this run only and printed, with ready-to-paste ``mlservice call``
examples. A demo key must never be used for a real Totara site.
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from mlcore.config import load_settings
from mlcore.configured import configured_plugins
from service.bind_check import check_listeners
from service.commands.serve_command import serve

DEMO_SETTINGS = {
    "ML_DATA_SOURCE": "export-folder",
    "ML_BIND": "127.0.0.1:5000",
    "ML_RECOMMENDER": "lightfm",
    "ML_TUNING_TRIALS": "4",
    "ML_TUNING_TIMEOUT": "60",
    "ML_NUM_THREADS": "2",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folder", default="demo", help="demo folder (default: ./demo)")
    parser.add_argument("--bind", help="listen address (default: 127.0.0.1:5000)")
    parser.add_argument("--no-serve", action="store_true", help="write data and train, then stop")


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder).resolve()
    export = folder / "export"
    environ = demo_environment(os.environ, folder, args.bind)
    settings = load_settings(environ)
    if not args.no_serve:
        check_listeners(settings)
    if not (export / "tenants.csv").exists():
        from mlcore.demo.export import DemoConfig, write_demo_export

        summary = write_demo_export(export, DemoConfig())
        print(f"[demo] wrote demo export for tenants {', '.join(summary.tenants)} to {export}")
    else:
        print(f"[demo] using the existing demo export in {export}")
    parts = configured_plugins(settings)
    store = parts.model_store()
    if not store.tenants():
        print(f"[demo] training once into {settings.models_dir} (a minute or two) ...", flush=True)
        from mlcore.training.trainer import Trainer

        trainer = Trainer(settings, parts.data_source(), store, parts.recommender)
        for outcome in trainer.run():
            print(f"[demo]   tenant {outcome.tenant}: {outcome.message}")
    else:
        print(f"[demo] models already published in {settings.models_dir}")
    if args.no_serve:
        return 0
    print_instructions(environ, export, generated_key="ML_TOTARA_KEY" not in os.environ)
    return serve(environ, trainer=True)


def demo_environment(base: Mapping[str, str], folder: Path, bind: str | None) -> dict[str, str]:
    """The demo's settings on top of ``base``; a fresh demo-only key when none is set."""
    environ = {name: value for name, value in base.items() if name != "ML_TOTARA_URL"}
    for name, value in DEMO_SETTINGS.items():
        environ.setdefault(name, value)
    environ["ML_DATA_SOURCE"] = "export-folder"
    environ["ML_DATA_DIR"] = str(folder / "export")
    if bind:
        environ["ML_BIND"] = bind
    if not environ.get("ML_TOTARA_KEY"):
        environ["ML_TOTARA_KEY"] = "demo-" + secrets.token_hex(12)
    return environ


def print_instructions(environ: Mapping[str, str], export: Path, generated_key: bool) -> None:
    """How to call the running demo service."""
    host, _, port = environ["ML_BIND"].rpartition(":")
    url = f"http://{'127.0.0.1' if host in ('*', '0.0.0.0', '') else host}:{port}"
    user, item = _examples(export)
    key_prefix = ""
    if generated_key:
        key = environ["ML_TOTARA_KEY"]
        print(f"[demo] ML_TOTARA_KEY was not set: using the DEMO-ONLY key {key}")
        print("[demo] never use a demo key for a real Totara site (set ML_TOTARA_KEY instead).")
        key_prefix = f"ML_TOTARA_KEY={key} "
    calls = [
        f"/user-items?totara_user_id={user}&item_type=engage_article&tenant=0&n_items=5",
        f"/user-items?totara_user_id={user}&item_type=container_course&tenant=0&n_items=5",
        f"/similar-items?totara_item_id={item}&tenant=0&n_items=5",
        "/health-check",
    ]
    print(f"[demo] serving on {url} (Ctrl-C stops). In another shell, try:")
    for call in calls:
        print(f"  {key_prefix}.venv/bin/mlservice call '{call}' --url {url}")
    admin = environ.get("ML_ADMIN_BIND", "127.0.0.1:5001")
    if admin:
        print(f"[demo] status dashboard and metrics: http://{admin}/ and http://{admin}/metrics")


def _examples(export: Path) -> tuple[str, str]:
    """A user id and an article id of tenant 0 for the printed examples."""
    user, item = "2", "engage_article1"
    try:
        with open(export / "user_data_0.csv", encoding="utf-8", newline="") as handle:
            user = next(csv.DictReader(handle))["user_id"]
        with open(export / "item_data_0.csv", encoding="utf-8", newline="") as handle:
            item = next(
                row["item_id"]
                for row in csv.DictReader(handle)
                if row["item_id"].startswith("engage_article")
            )
    except (OSError, StopIteration, KeyError):
        pass
    return user, item

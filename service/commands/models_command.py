"""``mlservice models list|show|rollback``: published model versions per tenant."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from typing import Any

from mlcore.errors import ModelNotFoundError
from mlcore.interfaces import ModelStore
from service.commands.command_settings import add_models_dir, model_store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="tenants with their current and kept versions")
    add_models_dir(listing)
    show = actions.add_parser("show", help="the manifest of a tenant's current (or given) version")
    show.add_argument("--tenant", default="0", help="tenant id (default 0)")
    show.add_argument("--version", help="version id (default: current)")
    show.add_argument("--files", action="store_true", help="include the table of array files")
    add_models_dir(show)
    rollback = actions.add_parser("rollback", help="make a kept version current again")
    rollback.add_argument("--tenant", default="0", help="tenant id (default 0)")
    rollback.add_argument("--version", help="version id (default: the one before the current)")
    add_models_dir(rollback)


def run(args: argparse.Namespace) -> int:
    store = model_store(args)
    if args.action == "list":
        return list_models(store)
    if args.action == "show":
        return show_model(store, args.tenant, args.version, files=args.files)
    return roll_back(store, args.tenant, args.version)


def list_models(store: ModelStore) -> int:
    tenants = store.tenants()
    if not tenants:
        print("No published models.")
        return 0
    print(f"{'tenant':<8} {'current':<24} {'kept':>4}  {'trained':<20} message")
    for tenant in tenants:
        current = store.current_version(tenant) or "-"
        manifest = store.load(tenant).manifest
        print(
            f"{tenant:<8} {current:<24} {len(store.versions(tenant)):>4}  "
            f"{_when(manifest):<20} {manifest.get('message', '')}"
        )
    return 0


def show_model(store: ModelStore, tenant: str, version: str | None, *, files: bool) -> int:
    artifact = store.load(tenant, version)
    manifest: dict[str, Any] = dict(artifact.manifest)
    if not files:
        manifest.pop("files", None)
    manifest.setdefault("version", version or store.current_version(tenant))
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0


def roll_back(store: ModelStore, tenant: str, version: str | None) -> int:
    current = store.current_version(tenant)
    if version is None:
        kept = store.versions(tenant)
        older = kept[: kept.index(current)] if current in kept else []
        if not older:
            raise ModelNotFoundError(
                f"tenant {tenant!r} has no version older than {current} to roll back to"
            )
        version = older[-1]
    store.rollback(tenant, version)
    print(f"tenant {tenant}: current version is now {version} (was {current})")
    return 0


def _when(manifest: Mapping[str, Any]) -> str:
    trained_at = manifest.get("trained_at")
    if not isinstance(trained_at, (int, float)):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(trained_at))

"""``mlservice models list|show|rollback``: published model versions per tenant."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from typing import Any

from mlcore.config import Settings
from mlcore.errors import MLCoreError
from mlcore.interfaces import ModelStore
from service import model_versions
from service.commands.command_settings import add_models_dir, model_store, settings_from


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
        print(f"Models in {_where(settings_from(args))}:")
        return list_models(store)
    if args.action == "show":
        return show_model(store, args.tenant, args.version, files=args.files)
    return roll_back(store, args.tenant, args.version)


def list_models(store: ModelStore) -> int:
    """One line per tenant; a current version that cannot be loaded is listed as
    ``BROKEN: <reason>`` and the exit status is 1."""
    tenants = store.tenants()
    if not tenants:
        print("No published models.")
        return 0
    print(f"{'tenant':<8} {'current':<24} {'kept':>4}  {'trained':<20} message")
    broken = False
    for tenant in tenants:
        current, when, message = _listed(store, tenant)
        broken |= message.startswith("BROKEN: ")
        print(f"{tenant:<8} {current:<24} {len(store.versions(tenant)):>4}  {when:<20} {message}")
    return 1 if broken else 0


def _listed(store: ModelStore, tenant: str) -> tuple[str, str, str]:
    """(current version, trained at, message) of one tenant; the message says BROKEN."""
    current = "-"
    try:
        current = store.current_version(tenant) or "-"
        manifest = store.load(tenant).manifest
    except MLCoreError as exc:
        return current, "-", f"BROKEN: {exc}"
    return current, _when(manifest), str(manifest.get("message", ""))


def show_model(store: ModelStore, tenant: str, version: str | None, *, files: bool) -> int:
    artifact = store.load(tenant, version)
    manifest: dict[str, Any] = dict(artifact.manifest)
    if not files:
        manifest.pop("files", None)
    manifest.setdefault("version", version or store.current_version(tenant))
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0


def roll_back(store: ModelStore, tenant: str, version: str | None) -> int:
    previous, current = model_versions.roll_back(store, tenant, version)
    print(f"tenant {tenant}: current version is now {current} (was {previous})")
    return 0


def _where(settings: Settings) -> str:
    """The store's folder (filesystem) or its name and options."""
    if settings.model_store == "filesystem":
        return f"{settings.models_dir.resolve()} (ML_MODELS_DIR or --models-dir)"
    return f"model store {settings.model_store} {json.dumps(dict(settings.model_store_options))}"


def _when(manifest: Mapping[str, Any]) -> str:
    trained_at = manifest.get("trained_at")
    if not isinstance(trained_at, (int, float)):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(trained_at))

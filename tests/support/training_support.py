"""Helpers of the hardening tests: settings over an export folder, one run, the health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing

from mlcore.config import Settings, load_settings
from mlcore.configured import configured_plugins
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.training.outcome import TenantOutcome
from mlcore.training.trainer import Trainer
from service.app import create_app
from tests.support.app_support import signed_get

KEY = "hardening-Key-1414"


def write_small_export(folder: Path, tenants: int = 3) -> Path:
    """A small demo export in ``folder``: tenants 0 and 1 train, the last is too small."""
    config = DemoConfig(tenants=tenants, users=40, items=30, interactions=400, now=1_700_000_000)
    write_demo_export(folder, config)
    return folder


def export_settings(folder: Path, tmp_path: Path, **extra: str) -> Settings:
    """Settings of a popularity training from ``folder`` into ``tmp_path``'s models and logs."""
    return load_settings(
        {
            "ML_DATA_SOURCE": "export-folder",
            "ML_DATA_DIR": str(folder),
            "ML_TOTARA_KEY": KEY,
            "ML_MODELS_DIR": str(tmp_path / "models"),
            "ML_LOGS_DIR": str(tmp_path / "logs"),
            "ML_RECOMMENDER": "popularity",
            "ML_TUNING_TRIALS": "0",
            "ML_RELOAD_INTERVAL": "0",
            **extra,
        }
    )


def train(settings: Settings) -> list[TenantOutcome]:
    """One run with the configured plugins, as the trainer process does it."""
    parts = configured_plugins(settings)
    return Trainer(settings, parts.data_source(), parts.model_store(), parts.recommender).run()


def health_block(settings: Settings) -> dict[str, Any]:
    """The ``totara`` block of ``/health-check`` of a fresh app over the settings' store."""
    store = configured_plugins(settings).model_store()
    client = falcon.testing.TestClient(create_app(settings, store))
    body = signed_get(client, "/health-check", key=settings.effective_key)
    block = body["totara"]
    assert isinstance(block, dict)
    return block

"""Settings of a CLI command: ``ML_*`` variables with command-line overrides on top."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlcore.config import Settings, load_settings, settings_with
from mlcore.configured import configured_plugins
from mlcore.interfaces import ModelStore


def add_models_dir(parser: argparse.ArgumentParser) -> None:
    """``--models-dir`` and ``--logs-dir``: override ``ML_MODELS_DIR`` and ``ML_LOGS_DIR``."""
    parser.add_argument(
        "--models-dir", type=Path, help="model store folder (default: ML_MODELS_DIR, data/models)"
    )
    parser.add_argument(
        "--logs-dir",
        type=Path,
        help="folder of train_summary.log and trainer logs (default: ML_LOGS_DIR, data/logs)",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """``load_settings()`` with the overrides the command's options carry."""
    changes: dict[str, Any] = {}
    if getattr(args, "models_dir", None) is not None:
        changes["models_dir"] = args.models_dir
    if getattr(args, "logs_dir", None) is not None:
        changes["logs_dir"] = args.logs_dir
    if getattr(args, "data_dir", None) is not None:
        changes["data_dir"] = args.data_dir
        changes["data_source"] = "export-folder"
    if getattr(args, "recommender", None):
        changes["recommender"] = args.recommender
    settings = load_settings()
    return settings_with(settings, **changes) if changes else settings


def model_store(args: argparse.Namespace) -> ModelStore:
    """The configured model store, with ``--models-dir`` applied."""
    return configured_plugins(settings_from(args)).model_store()

"""Plugins are built by name from settings, with their options from ML_*_OPTIONS."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.config import load_settings
from mlcore.configured import configured_plugins
from mlcore.errors import ConfigError, DataSourceError


def test_data_source_options_come_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "tenants.csv").write_bytes(b"tenants\n0\n" + b"1\n" * 50)
    settings = load_settings(
        {"ML_DATA_DIR": str(tmp_path), "ML_DATA_SOURCE_OPTIONS": '{"max_file_bytes": 20}'}
    )
    source = configured_plugins(settings).data_source()
    with pytest.raises(DataSourceError, match="more than the limit of 20 bytes"):
        source.read_file("tenants.csv")


def test_model_store_options_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {"ML_MODELS_DIR": str(tmp_path), "ML_MODEL_STORE_OPTIONS": '{"keep_versions": 7}'}
    )
    store = configured_plugins(settings).model_store()
    assert store.keep_versions == 7  # type: ignore[attr-defined]


def test_unknown_plugin_options_name_the_valid_ones(tmp_path: Path) -> None:
    settings = load_settings(
        {"ML_DATA_DIR": str(tmp_path), "ML_DATA_SOURCE_OPTIONS": '{"max_bytes": 20}'}
    )
    with pytest.raises(ConfigError, match="unknown option.*max_bytes.*max_file_bytes"):
        configured_plugins(settings).data_source()


def test_options_must_be_a_json_object() -> None:
    with pytest.raises(ConfigError, match="ML_MODEL_STORE_OPTIONS"):
        load_settings({"ML_MODEL_STORE_OPTIONS": "[1, 2]"})

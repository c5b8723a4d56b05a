"""The configured backends of one process: data source, model store, recommenders, executor.

Each is chosen by name from :class:`~mlcore.config.Settings` (``ML_DATA_SOURCE``,
``ML_MODEL_STORE``, ``ML_RECOMMENDER``, ``ML_EXECUTOR`` and their ``*_OPTIONS``) and built through the
:class:`~mlcore.registry.Registry`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlcore.config import Settings
from mlcore.interfaces import DataSource, Executor, ModelStore, Recommender
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry


@dataclass(frozen=True)
class ConfiguredPlugins:
    """The plugins one process uses, chosen by name from settings."""

    settings: Settings
    registry: Registry

    def data_source(self) -> DataSource:
        """The configured data source (``ML_DATA_SOURCE``, or by ``ML_TOTARA_URL``), with
        ``ML_DATA_SOURCE_OPTIONS``."""
        settings = self.settings
        return self.registry.create_data_source(
            settings.data_source_name, settings.data_source_options, settings=settings
        )

    def model_store(self) -> ModelStore:
        """The configured model store (``ML_MODEL_STORE``), with ``ML_MODEL_STORE_OPTIONS``."""
        settings = self.settings
        return self.registry.create_model_store(
            settings.model_store, settings.model_store_options, settings=settings
        )

    def recommender(self, name: str) -> Recommender:
        """A new recommender; ``ML_RECOMMENDER_OPTIONS`` apply to the configured one only."""
        settings = self.settings
        options = settings.recommender_options if name == settings.recommender else {}
        return self.registry.create_recommender(name, options, settings=settings)

    def executor(self) -> Executor:
        """The configured executor (``ML_EXECUTOR``), with ``ML_EXECUTOR_OPTIONS``; the
        caller closes it."""
        settings = self.settings
        return self.registry.create_executor(
            settings.executor, settings.executor_options, settings=settings
        )


def configured_plugins(settings: Settings, registry: Registry | None = None) -> ConfiguredPlugins:
    """The configured plugins of ``settings``, with a fresh registry over installed plugins."""
    return ConfiguredPlugins(settings, registry or Registry(make_plugin_manager()))

"""Build the configured data source, model store and recommender factory by name."""

from __future__ import annotations

from dataclasses import dataclass

from mlcore.config import Settings
from mlcore.interfaces import DataSource, ModelStore, Recommender
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry


@dataclass(frozen=True)
class Components:
    """The collaborators one process needs, chosen by name from settings."""

    settings: Settings
    registry: Registry

    def data_source(self) -> DataSource:
        """The configured data source (``ML_DATA_SOURCE``, or by ``ML_TOTARA_URL``), with
        ``ML_DATA_SOURCE_OPTIONS``."""
        source: DataSource = self.registry.create(
            "data source",
            self.settings.data_source_name,
            self.settings.data_source_options,
            settings=self.settings,
        )
        return source

    def model_store(self) -> ModelStore:
        """The configured model store (``ML_MODEL_STORE``), with ``ML_MODEL_STORE_OPTIONS``."""
        store: ModelStore = self.registry.create(
            "model store",
            self.settings.model_store,
            self.settings.model_store_options,
            settings=self.settings,
        )
        return store

    def recommender(self, name: str) -> Recommender:
        """A new recommender; ``ML_RECOMMENDER_OPTIONS`` apply to the configured one only."""
        options = self.settings.recommender_options if name == self.settings.recommender else {}
        recommender: Recommender = self.registry.create(
            "recommender", name, options, settings=self.settings
        )
        return recommender


def components(settings: Settings, registry: Registry | None = None) -> Components:
    """Components for ``settings``, with a fresh registry over installed plugins by default."""
    return Components(settings, registry or Registry(make_plugin_manager()))

"""Core library of the learning-platform recommender service: the public face.

Plugin authors and embedding programs import from here only::

    from mlcore import RecommenderRecord, ServingArrays, hookimpl

``mlcore`` owns the Totara export format, the per-tenant dataset, evaluation,
training orchestration and the plugin system. It never imports ``plugins`` or
``service``: backends, data sources and model stores reach it through the pluggy
hooks in :mod:`mlcore.hookspecs`. Its folders by role: ``totara/`` (Totara's side of
the contract), ``training/``, ``serving/`` (numpy only, all a web worker imports),
``legacy/`` (the Totara 13/14 batch mode) and ``demo/`` (synthetic and MovieLens data).
"""

__version__ = "0.2.0"

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcore.config import (
        Settings,
        load_settings,
        settings_with,
    )
    from mlcore.configured import (
        ConfiguredPlugins,
        configured_plugins,
    )
    from mlcore.dataset import Dataset
    from mlcore.errors import (
        ConfigError,
        DataSourceError,
        DuplicatePluginError,
        ExportFormatError,
        MLCoreError,
        ModelNotFoundError,
        ModelStoreError,
        NotFittedError,
        PluginError,
        PluginNotFoundError,
    )
    from mlcore.hookspecs import hookimpl
    from mlcore.interfaces import (
        Budgeted,
        ChangeTracking,
        DataSource,
        Executor,
        ModelArtifact,
        ModelStore,
        Recommender,
        ServingArrays,
        TrialTunable,
        Tunable,
        TuningReport,
    )
    from mlcore.plugin_manager import make_plugin_manager
    from mlcore.plugin_records import (
        DataSourceRecord,
        ExecutorRecord,
        ModelStoreRecord,
        PluginRecord,
        RecommenderRecord,
    )
    from mlcore.registry import Registry

#: Where each public name lives; imported on first use, so that ``import mlcore.config``
#: (e.g. in the gunicorn master) loads neither numpy nor the plugin system.
_EXPORTS: dict[str, str] = {
    "Budgeted": "mlcore.interfaces",
    "ChangeTracking": "mlcore.interfaces",
    "ConfigError": "mlcore.errors",
    "ConfiguredPlugins": "mlcore.configured",
    "DataSource": "mlcore.interfaces",
    "DataSourceError": "mlcore.errors",
    "DataSourceRecord": "mlcore.plugin_records",
    "Dataset": "mlcore.dataset",
    "DuplicatePluginError": "mlcore.errors",
    "Executor": "mlcore.interfaces",
    "ExecutorRecord": "mlcore.plugin_records",
    "ExportFormatError": "mlcore.errors",
    "MLCoreError": "mlcore.errors",
    "ModelArtifact": "mlcore.interfaces",
    "ModelNotFoundError": "mlcore.errors",
    "ModelStore": "mlcore.interfaces",
    "ModelStoreError": "mlcore.errors",
    "ModelStoreRecord": "mlcore.plugin_records",
    "NotFittedError": "mlcore.errors",
    "PluginError": "mlcore.errors",
    "PluginNotFoundError": "mlcore.errors",
    "PluginRecord": "mlcore.plugin_records",
    "Recommender": "mlcore.interfaces",
    "RecommenderRecord": "mlcore.plugin_records",
    "Registry": "mlcore.registry",
    "ServingArrays": "mlcore.interfaces",
    "Settings": "mlcore.config",
    "TrialTunable": "mlcore.interfaces",
    "Tunable": "mlcore.interfaces",
    "TuningReport": "mlcore.interfaces",
    "configured_plugins": "mlcore.configured",
    "hookimpl": "mlcore.hookspecs",
    "load_settings": "mlcore.config",
    "make_plugin_manager": "mlcore.plugin_manager",
    "settings_with": "mlcore.config",
}

__all__ = [
    "Budgeted",
    "ChangeTracking",
    "ConfigError",
    "ConfiguredPlugins",
    "DataSource",
    "DataSourceError",
    "DataSourceRecord",
    "Dataset",
    "DuplicatePluginError",
    "Executor",
    "ExecutorRecord",
    "ExportFormatError",
    "MLCoreError",
    "ModelArtifact",
    "ModelNotFoundError",
    "ModelStore",
    "ModelStoreError",
    "ModelStoreRecord",
    "NotFittedError",
    "PluginError",
    "PluginNotFoundError",
    "PluginRecord",
    "Recommender",
    "RecommenderRecord",
    "Registry",
    "ServingArrays",
    "Settings",
    "TrialTunable",
    "Tunable",
    "TuningReport",
    "__version__",
    "configured_plugins",
    "hookimpl",
    "load_settings",
    "make_plugin_manager",
    "settings_with",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

"""The one facade over the plugin manager: the only module that calls ``pm.hook``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

import pluggy

from mlcore.config import Settings
from mlcore.errors import DuplicatePluginError, PluginError, PluginNotFoundError
from mlcore.interfaces import DataSource, Executor, ModelStore, Recommender
from mlcore.options import build_options
from mlcore.plugin_records import (
    DataSourceRecord,
    ExecutorRecord,
    ModelStoreRecord,
    PluginRecord,
    RecommenderRecord,
)

Kind = Literal["recommender", "data source", "model store", "executor"]

#: The record variant each kind's hook announces (a plain PluginRecord is accepted too).
RECORD_TYPES: dict[Kind, type[PluginRecord[Any]]] = {
    "recommender": RecommenderRecord,
    "data source": DataSourceRecord,
    "model store": ModelStoreRecord,
    "executor": ExecutorRecord,
}

_INSTALL_HINTS = {
    "implicit-als": "pip install 'mlservice[implicit]'",
    "implicit-bpr": "pip install 'mlservice[implicit]'",
    "item-knn": "pip install 'mlservice[implicit]'",
    "dask": "pip install 'mlservice[dask]'",
}


class Registry:
    """Named recommenders, data sources, model stores and executors from all plugins.

    Args:
        plugin_manager: From :func:`mlcore.plugin_manager.make_plugin_manager`.
    """

    def __init__(self, plugin_manager: pluggy.PluginManager) -> None:
        self._pm = plugin_manager

    def recommenders(self) -> dict[str, PluginRecord[Recommender]]:
        """All recommender records by name."""
        return self._collect("recommender", self._pm.hook.mlcore_recommenders)

    def data_sources(self) -> dict[str, PluginRecord[DataSource]]:
        """All data-source records by name."""
        return self._collect("data source", self._pm.hook.mlcore_data_sources)

    def model_stores(self) -> dict[str, PluginRecord[ModelStore]]:
        """All model-store records by name."""
        return self._collect("model store", self._pm.hook.mlcore_model_stores)

    def executors(self) -> dict[str, PluginRecord[Executor]]:
        """All executor records by name."""
        return self._collect("executor", self._pm.hook.mlcore_executors)

    def all_records(self) -> dict[Kind, dict[str, PluginRecord[Any]]]:
        """Every record, grouped by kind (for ``mlservice plugins``)."""
        return {
            "recommender": self.recommenders(),
            "data source": self.data_sources(),
            "model store": self.model_stores(),
            "executor": self.executors(),
        }

    def get(self, kind: Kind, name: str) -> PluginRecord[Any]:
        """Return the record of ``kind`` called ``name``.

        Raises:
            PluginNotFoundError: With the valid names (and an install hint when the
                name belongs to an optional extra).
        """
        records = self.all_records()[kind]
        if name in records:
            return records[name]
        valid = ", ".join(sorted(records)) or "(none installed)"
        hint = _INSTALL_HINTS.get(name)
        extra = f" It is provided by an optional extra: {hint}." if hint else ""
        raise PluginNotFoundError(f"Unknown {kind} {name!r}. Valid names: {valid}.{extra}")

    def create(
        self, kind: Kind, name: str, options: Mapping[str, Any] | None = None, **collaborators: Any
    ) -> Any:
        """Build the implementation called ``name`` with typed options.

        Args:
            kind: Which kind of plugin.
            name: The configured name.
            options: Raw option values (strings from the environment or JSON values);
                converted to the record's ``options_type``.
            **collaborators: Passed through to the factory (e.g. ``settings``).
        """
        record = self.get(kind, name)
        typed: Any = build_options(record.options_type, options or {}, context=f"{kind} {name!r}")
        return record.factory(options=typed, **collaborators)

    def create_recommender(
        self, name: str, options: Mapping[str, Any] | None = None, *, settings: Settings
    ) -> Recommender:
        """A new, unfitted recommender called ``name`` (see :meth:`create`)."""
        recommender: Recommender = self.create("recommender", name, options, settings=settings)
        return recommender

    def create_data_source(
        self, name: str, options: Mapping[str, Any] | None = None, *, settings: Settings
    ) -> DataSource:
        """The data source called ``name`` (see :meth:`create`)."""
        source: DataSource = self.create("data source", name, options, settings=settings)
        return source

    def create_model_store(
        self, name: str, options: Mapping[str, Any] | None = None, *, settings: Settings
    ) -> ModelStore:
        """The model store called ``name`` (see :meth:`create`)."""
        store: ModelStore = self.create("model store", name, options, settings=settings)
        return store

    def create_executor(
        self, name: str, options: Mapping[str, Any] | None = None, *, settings: Settings
    ) -> Executor:
        """The executor called ``name`` (see :meth:`create`)."""
        executor: Executor = self.create("executor", name, options, settings=settings)
        return executor

    def _collect(self, kind: Kind, hook: Any) -> dict[str, PluginRecord[Any]]:
        by_name: dict[str, PluginRecord[Any]] = {}
        for impl in hook.get_hookimpls():
            source = self._source_name(impl.plugin)
            for record in impl.function() or []:
                _check_record(kind, record, source)
                if record.name in by_name:
                    first = by_name[record.name].source
                    raise DuplicatePluginError(
                        f"Two {kind} plugins are both called {record.name!r}: "
                        f"one from {first}, one from {source}. Uninstall or rename one."
                    )
                by_name[record.name] = _with_source(record, source)
        return by_name

    def _source_name(self, plugin: object) -> str:
        name = self._pm.get_name(plugin) or repr(plugin)
        for registered, dist in self._pm.list_plugin_distinfo():
            if registered is plugin:
                return f"distribution {dist.project_name} (entry point {name!r})"
        return f"plugin {name!r}"


def _with_source(record: PluginRecord[Any], source: str) -> PluginRecord[Any]:
    return replace(record, source=source)


def _check_record(kind: Kind, record: object, source: str) -> None:
    """A hook's record must be a :class:`PluginRecord` of its own kind (or a plain one)."""
    expected = RECORD_TYPES[kind]
    if not isinstance(record, PluginRecord):
        raise PluginError(
            f"{source} announced {record!r} as a {kind}; expected a {expected.__name__}"
        )
    if type(record) is not PluginRecord and not isinstance(record, expected):
        raise PluginError(
            f"{source} announced {type(record).__name__} {record.name!r} from the {kind} "
            f"hook; expected a {expected.__name__}"
        )

"""The one facade over the plugin manager: the only module that calls ``pm.hook``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

import pluggy

from mlcore.errors import DuplicatePluginError, PluginNotFoundError
from mlcore.options import build_options
from mlcore.plugin_records import PluginRecord

Kind = Literal["recommender", "data source", "model store"]

_INSTALL_HINTS = {
    "implicit-als": "pip install 'mlservice[implicit]'",
    "implicit-bpr": "pip install 'mlservice[implicit]'",
    "item-knn": "pip install 'mlservice[implicit]'",
}


class Registry:
    """Named recommenders, data sources and model stores from all plugins.

    Args:
        plugin_manager: From :func:`mlcore.plugin_manager.make_plugin_manager`.
    """

    def __init__(self, plugin_manager: pluggy.PluginManager) -> None:
        self._pm = plugin_manager

    def recommenders(self) -> dict[str, PluginRecord]:
        """All recommender records by name."""
        return self._collect("recommender", self._pm.hook.mlcore_recommenders)

    def data_sources(self) -> dict[str, PluginRecord]:
        """All data-source records by name."""
        return self._collect("data source", self._pm.hook.mlcore_data_sources)

    def model_stores(self) -> dict[str, PluginRecord]:
        """All model-store records by name."""
        return self._collect("model store", self._pm.hook.mlcore_model_stores)

    def all_records(self) -> dict[Kind, dict[str, PluginRecord]]:
        """Every record, grouped by kind (for ``mlservice plugins``)."""
        return {
            "recommender": self.recommenders(),
            "data source": self.data_sources(),
            "model store": self.model_stores(),
        }

    def get(self, kind: Kind, name: str) -> PluginRecord:
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

    def _collect(self, kind: Kind, hook: Any) -> dict[str, PluginRecord]:
        by_name: dict[str, PluginRecord] = {}
        for impl in hook.get_hookimpls():
            source = self._source_name(impl.plugin)
            for record in impl.function() or []:
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


def _with_source(record: PluginRecord, source: str) -> PluginRecord:
    return replace(record, source=source)

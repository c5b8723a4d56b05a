"""Plugin module being built in this session (see the issues); announces nothing yet."""

from __future__ import annotations

from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import PluginRecord


@hookimpl
def mlcore_model_stores() -> list[PluginRecord]:
    return []

"""Build pluggy plugin managers. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from mlcore import hookspecs
from mlcore.errors import PluginError


def make_plugin_manager(
    *, load_entry_points: bool = True, extra_plugins: Iterable[object] = ()
) -> pluggy.PluginManager:
    """Return a new plugin manager with the ``mlcore`` hookspecs.

    Args:
        load_entry_points: Load every installed plugin of the ``mlcore`` entry-point
            group (built-ins register there too, like any third party).
        extra_plugins: Plugin objects registered directly, e.g. by tests.

    Returns:
        A fresh :class:`pluggy.PluginManager`.

    Raises:
        PluginError: A plugin marks a function as a hook that does not exist (a
            misspelt hook name), naming the plugin, the function and the valid hooks.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    if load_entry_points:
        manager.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    for plugin in extra_plugins:
        manager.register(plugin)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        valid = ", ".join(name for name in dir(hookspecs) if name.startswith("mlcore_"))
        raise PluginError(
            f"A plugin marks a function as a hook that does not exist ({exc}). "
            f"Valid hooks: {valid}. Rename the function to one of them."
        ) from None
    return manager

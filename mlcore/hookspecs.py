"""Hook specifications: the extension points of ``mlcore``.

Every hook *announces* named implementations; none of them does the work itself.
A plugin is any module or object with functions named like these hooks and marked
with :data:`hookimpl`, registered in the ``mlcore`` entry-point group::

    [options.entry_points]
    mlcore =
        my-recommender = my_package.my_module

All hooks are called with no arguments, every implementation's list is collected
(pluggy's default, no ``firstresult``), and the registry flattens the lists. Two
records with the same name, from any plugins, are an error that names both
sources. Only :mod:`mlcore.registry` calls these hooks.

Every record's factory is called with keyword arguments only:
``factory(options=<instance of options_type>, settings=<Settings>)``, where
``settings`` is the :class:`mlcore.config.Settings` of the running process. A
function marked with :data:`hookimpl` whose name is not one of these hooks is an
error when the plugin manager is built (a misspelt hook is never silently ignored).
"""

from __future__ import annotations

import pluggy

from mlcore.plugin_records import (
    DataSourceRecord,
    ExecutorRecord,
    ModelStoreRecord,
    RecommenderRecord,
)

PROJECT_NAME = "mlcore"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def mlcore_recommenders() -> list[RecommenderRecord]:
    """Announce recommender backends.

    Called once per registry lookup. Each record's ``factory(options=..., settings=...)``
    returns a new, unfitted object satisfying :class:`mlcore.interfaces.Recommender`
    (and optionally ``Tunable`` and ``Budgeted``). The trainer builds one per tenant
    and per use; import optional libraries inside the factory or ``fit``.

    Returns:
        The recommender records this plugin provides (may be empty).
    """
    return []  # specification only: pluggy never calls this body


@hookspec
def mlcore_data_sources() -> list[DataSourceRecord]:
    """Announce data sources that deliver Totara export files.

    Each record's ``factory(options=..., settings=...)`` returns an object satisfying
    :class:`mlcore.interfaces.DataSource`, built once per training run.

    Returns:
        The data-source records this plugin provides (may be empty).
    """
    return []  # specification only: pluggy never calls this body


@hookspec
def mlcore_model_stores() -> list[ModelStoreRecord]:
    """Announce model stores that keep published models per tenant.

    Each record's ``factory(options=..., settings=...)`` returns an object satisfying
    :class:`mlcore.interfaces.ModelStore` (and optionally ``ChangeTracking``), built
    once per process: by the trainer, and by every web worker.

    Returns:
        The model-store records this plugin provides (may be empty).
    """
    return []  # specification only: pluggy never calls this body


@hookspec
def mlcore_executors() -> list[ExecutorRecord]:
    """Announce executors that run the trainer's units of work (tenants, trials).

    Each record's ``factory(options=..., settings=...)`` returns an object satisfying
    :class:`mlcore.interfaces.Executor`, built once per training run (and inside a
    unit of work, to run its trials); ``settings.executor`` names the one in use.
    Start no process or connection in the factory's import, only when it is called.

    Returns:
        The executor records this plugin provides (may be empty).
    """
    return []  # specification only: pluggy never calls this body

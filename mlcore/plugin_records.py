"""The named records that plugins announce through the hooks in :mod:`mlcore.hookspecs`.

One record variant per plugin kind, so that mypy checks each factory's return
type: :class:`RecommenderRecord`, :class:`DataSourceRecord`,
:class:`ModelStoreRecord` and :class:`ExecutorRecord`. A plain :class:`PluginRecord` is accepted from any hook
too (the registry checks what the factory builds only by use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from mlcore.interfaces import DataSource, Executor, ModelStore, Recommender

if TYPE_CHECKING:
    from mlcore.config import Settings

T_co = TypeVar("T_co", covariant=True)


class Factory(Protocol[T_co]):
    """What every record's factory is: called with keyword arguments only.

    ``options`` is an instance of the record's ``options_type``; ``settings`` is the
    :class:`~mlcore.config.Settings` of the running process (it may be omitted by
    tests and embedding programs, so give it a default of None when you can).
    """

    def __call__(self, *, options: Any, settings: Settings) -> T_co: ...


@dataclass(frozen=True)
class PluginRecord(Generic[T_co]):
    """One named implementation announced by a plugin.

    Attributes:
        name: The name users select in configuration (e.g. ``"lightfm"``).
        factory: ``factory(options=..., settings=...)`` returns the implementation.
        options_type: A frozen dataclass whose fields are the typed options of this
            implementation, each with a default. Options come from configuration
            (see :func:`mlcore.options.build_options`).
        description: One line shown by ``mlservice plugins``.
        source: Filled in by the registry: which plugin announced the record.
    """

    name: str
    factory: Factory[T_co]
    options_type: type
    description: str
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class RecommenderRecord(PluginRecord[Recommender]):
    """A recommender backend (hook ``mlcore_recommenders``)."""


@dataclass(frozen=True)
class DataSourceRecord(PluginRecord[DataSource]):
    """A data source of Totara export files (hook ``mlcore_data_sources``)."""


@dataclass(frozen=True)
class ModelStoreRecord(PluginRecord[ModelStore]):
    """A model store (hook ``mlcore_model_stores``)."""


@dataclass(frozen=True)
class ExecutorRecord(PluginRecord[Executor]):
    """An executor of the trainer's units of work (hook ``mlcore_executors``)."""

"""The named records that plugins announce through the hooks in :mod:`mlcore.hookspecs`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PluginRecord:
    """One named implementation announced by a plugin.

    Attributes:
        name: The name users select in configuration (e.g. ``"lightfm"``).
        factory: Called with one keyword-only argument, ``options`` (an instance of
            ``options_type``), plus the collaborators documented by each hookspec;
            returns the implementation.
        options_type: A frozen dataclass whose fields are the typed options of this
            implementation, each with a default. Options come from configuration
            (see :func:`mlcore.options.build_options`).
        description: One line shown by ``mlservice plugins``.
        source: Filled in by the registry: which plugin announced the record.
    """

    name: str
    factory: Callable[..., Any]
    options_type: type
    description: str
    source: str = field(default="", compare=False)

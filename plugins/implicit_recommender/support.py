"""What the ``implicit`` backends share: the lazy import and the one-BLAS-thread guard.

``implicit`` is an optional extra. It is imported only when a backend is created
or fitted, so ``import plugins.implicit_recommender`` (and ``mlservice plugins``)
works without it, and a missing extra is a :class:`ConfigError` that says how to
install it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from mlcore.config import Settings
from mlcore.errors import ConfigError

INSTALL_HINT = "pip install 'mlservice[implicit]'"


def import_implicit(module: str, backend: str) -> ModuleType:
    """Import ``module`` (e.g. ``implicit.cpu.als``) or explain how to install it.

    Raises:
        ConfigError: ``implicit`` or ``threadpoolctl`` is not installed.
    """
    try:
        importlib.import_module("threadpoolctl")
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"The {backend} recommender needs the optional package 'implicit' "
            f"({exc.name or module} is missing). Install it with: {INSTALL_HINT}"
        ) from None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread while implicit fits.

    implicit parallelises itself; a multi-threaded OpenBLAS underneath makes it
    much slower (implicit warns about it), and threads left running in a process
    that later forks make the children hang.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        yield


def resolve_threads(option: int, settings: Settings | None) -> int:
    """``option`` when positive, else ``ML_NUM_THREADS`` (1 without settings)."""
    if option < 0:
        raise ConfigError(f"num_threads must be >= 0, got {option}")
    if option > 0:
        return option
    return settings.num_threads if settings is not None else 1


def resolve_seed(option: int | None, settings: Settings | None) -> int:
    """``option`` when given, else ``ML_SEED`` (42 without settings)."""
    if option is not None:
        return option
    return settings.seed if settings is not None else Settings().seed


def check_positive(options: object, *names: str) -> None:
    """Raise :class:`ConfigError` unless each named option is > 0."""
    for name in names:
        value = getattr(options, name)
        if value <= 0:
            raise ConfigError(f"option {name} must be > 0, got {value}")


def options_json(options: Any) -> dict[str, Any]:
    """The options dataclass as JSON values (tuples become lists), for ``describe``."""
    result: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(options)))
    return result

"""The model-store contract, run for EVERY model store the registry knows.

The checks live in :mod:`tests.contracts.model_store_contract`. ``STORAGES`` says how
to give each store an empty storage: a temporary folder for ``filesystem``, a new
bucket on the moto S3 server (``tests/support/moto_s3.py``) for ``s3``, with a new
cache folder per instance (another host). A store without an entry there is skipped
with a message saying so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from mlcore.config import Settings
from mlcore.interfaces import ModelStore
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from tests.contracts import model_store_contract as contract

Storage = Callable[[pytest.FixtureRequest, Path], contract.MakeStore]
NAMES = sorted(Registry(make_plugin_manager()).model_stores())


def _filesystem(request: pytest.FixtureRequest, folder: Path) -> contract.MakeStore:
    def make(keep_versions: int) -> ModelStore:
        return _create("filesystem", {"path": str(folder / "store")}, folder, keep_versions)

    return make


def _s3(request: pytest.FixtureRequest, folder: Path) -> contract.MakeStore:
    moto = request.getfixturevalue("aws_env")
    bucket = moto.new_bucket()
    hosts = itertools.count()

    def make(keep_versions: int) -> ModelStore:
        options = moto.options(bucket, cache_dir=str(folder / f"host-{next(hosts)}"))
        return _create("s3", options, folder, keep_versions)

    return make


STORAGES: dict[str, Storage] = {"filesystem": _filesystem, "s3": _s3}


def _create(name: str, options: dict[str, str], folder: Path, keep: int) -> ModelStore:
    settings = Settings(models_dir=folder / "models", keep_versions=keep)
    store: ModelStore = Registry(make_plugin_manager()).create(
        "model store", name, options, settings=settings
    )
    return store


def test_every_builtin_store_is_covered() -> None:
    assert {"filesystem", "s3"} <= set(NAMES)
    assert {"filesystem", "s3"} <= set(STORAGES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("check", sorted(contract.CHECKS))
def test_contract(name: str, check: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if name not in STORAGES:
        pytest.skip(f"no test storage known for model store {name!r}: add one to STORAGES")
    contract.CHECKS[check](STORAGES[name](request, tmp_path))

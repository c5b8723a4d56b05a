"""The ``filesystem`` model store: registration, corruption on disk and left-overs.

What every model store must do (round trip, versions, keep, rollback, safe ids, no
pickle, change token) is checked by ``tests/contracts/test_model_store_contract.py``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from mlcore.config import Settings
from mlcore.errors import ModelStoreError
from mlcore.interfaces import ModelStore
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from plugins.filesystem_store.store import FilesystemModelStore
from tests.contracts.model_store_contract import artifact


class FakeClock:
    """Seconds that only move when told to."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> FilesystemModelStore:
    return FilesystemModelStore(tmp_path / "store", keep_versions=3, clock=FakeClock())


def test_satisfies_the_protocol_and_is_registered(tmp_path: Path) -> None:
    registry = Registry(make_plugin_manager())
    settings = Settings(models_dir=tmp_path, keep_versions=4)
    built = registry.create("model store", "filesystem", settings=settings)
    assert isinstance(built, ModelStore)
    assert built.root == tmp_path and built.keep_versions == 4
    other = registry.create(
        "model store",
        "filesystem",
        {"path": str(tmp_path / "x"), "keep_versions": "2"},
        settings=settings,
    )
    assert other.root == tmp_path / "x" and other.keep_versions == 2


def _version_dir(store: FilesystemModelStore, tenant: str) -> Path:
    version = store.current_version(tenant)
    assert version is not None
    return store.root / "tenants" / tenant / "versions" / version


def test_truncated_file_is_detected(store: FilesystemModelStore) -> None:
    store.publish("0", artifact())
    path = _version_dir(store, "0") / "item_factors.npy"
    path.chmod(0o644)  # published files are read-only
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ModelStoreError, match="item_factors"):
        store.load("0")


def test_missing_file_and_bad_manifest_are_detected(store: FilesystemModelStore) -> None:
    store.publish("0", artifact())
    folder = _version_dir(store, "0")
    (folder / "flags.npy").unlink()
    with pytest.raises(ModelStoreError, match="flags.npy is missing"):
        store.load("0")
    (folder / "manifest.json").chmod(0o644)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ModelStoreError, match="bad manifest.json"):
        store.load("0")


def test_shape_mismatch_and_flipped_bytes_are_detected(tmp_path: Path) -> None:
    store = FilesystemModelStore(tmp_path, verify=True)
    store.publish("0", artifact())
    folder = _version_dir(store, "0")
    manifest = json.loads((folder / "manifest.json").read_text())
    path = folder / "item_factors.npy"
    for published in (path, folder / "manifest.json"):
        published.chmod(0o644)  # read-only once published
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelStoreError, match="sha256"):
        store.load("0")
    lazy = FilesystemModelStore(tmp_path)
    lazy.load("0")  # without verify only structure is checked
    manifest["files"]["item_factors"]["shape"] = [3, 4]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelStoreError, match=r"manifest says <f4 \[3, 4\]"):
        lazy.load("0")


def test_rollback_refuses_a_broken_version(store: FilesystemModelStore) -> None:
    first = store.publish("0", artifact(1))
    store.publish("0", artifact(2))
    broken = store.root / "tenants" / "0" / "versions" / first / "item_factors.npy"
    broken.unlink()
    with pytest.raises(ModelStoreError, match="missing"):
        store.rollback("0", first)
    assert store.load("0").manifest["value"] == 2


def test_leftover_temporary_directories_are_ignored_then_cleaned(tmp_path: Path) -> None:
    store = FilesystemModelStore(tmp_path)
    store.publish("0", artifact(1))
    leftover = tmp_path / "tenants" / "0" / ".tmp-deadbeef"
    leftover.mkdir()
    (leftover / "half.npy").write_bytes(b"\x93NUMPY")
    assert len(store.versions("0")) == 1
    store.publish("0", artifact(2))
    assert leftover.exists()  # it could be a concurrent publisher's work in progress
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    store.publish("0", artifact(3))
    assert not leftover.exists()
    assert store.load("0").manifest["value"] == 3


def test_corrupt_current_pointer_is_a_clear_error(store: FilesystemModelStore) -> None:
    store.publish("0", artifact())
    (store.root / "tenants" / "0" / "current").write_text("../../x")
    with pytest.raises(ModelStoreError, match="corrupt"):
        store.current_version("0")

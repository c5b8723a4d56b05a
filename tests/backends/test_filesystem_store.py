"""The ``filesystem`` model store: round trip, versions, rollback, safety and corruption."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.errors import ModelNotFoundError, ModelStoreError
from mlcore.interfaces import ModelArtifact, ModelStore
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from plugins.filesystem_store.store import FilesystemModelStore


class FakeClock:
    """Seconds that only move when told to."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _artifact(value: int = 1) -> ModelArtifact:
    return ModelArtifact(
        manifest={"message": "success", "value": value, "nested": {"a": [1, 2]}},
        arrays={
            "user_ids": np.array(["2", "10", "ünï"]),
            "item_factors": np.full((4, 3), value, dtype=np.float32),
            "type_offsets": np.arange(6, dtype=np.int64),
            "positives_indices": np.empty(0, dtype=np.int32),
            "flags": np.array([True, False]),
        },
    )


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


def test_round_trip_keeps_values_dtypes_and_manifest(store: FilesystemModelStore) -> None:
    original = _artifact(7)
    version = store.publish("0", original)
    loaded = store.load("0")
    assert store.current_version("0") == version
    assert set(loaded.arrays) == set(original.arrays)
    for name, array in original.arrays.items():
        assert loaded.arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded.arrays[name], array)
        assert not loaded.arrays[name].flags.writeable
    assert loaded.arrays["user_ids"].tolist() == ["2", "10", "ünï"]
    assert loaded.manifest["value"] == 7 and loaded.manifest["nested"] == {"a": [1, 2]}
    assert loaded.manifest["version"] == version
    files = loaded.manifest["files"]
    assert files["item_factors"]["shape"] == [4, 3]
    assert files["item_factors"]["dtype"] == "<f4"
    assert len(files["item_factors"]["sha256"]) == 64


def test_manifest_only_artifact(store: FilesystemModelStore) -> None:
    store.publish("3", ModelArtifact(manifest={"message": "too small"}))
    loaded = store.load("3")
    assert loaded.arrays == {} and loaded.manifest["message"] == "too small"


def test_version_ids_sort_and_differ_within_one_second(store: FilesystemModelStore) -> None:
    ids = [store.publish("0", _artifact(i)) for i in range(3)]
    assert len(set(ids)) == 3
    assert ids == sorted(ids) == store.versions("0")
    assert ids[0].startswith("2026")


def test_keeps_the_last_k_versions(store: FilesystemModelStore) -> None:
    ids = [store.publish("0", _artifact(i)) for i in range(6)]
    assert store.versions("0") == ids[-3:]
    assert store.load("0").manifest["value"] == 5


def test_rollback_then_publish(store: FilesystemModelStore) -> None:
    ids = [store.publish("0", _artifact(i)) for i in range(3)]
    store.rollback("0", ids[0])
    assert store.current_version("0") == ids[0]
    assert store.load("0").manifest["value"] == 0
    assert store.versions("0") == ids
    newer = store.publish("0", _artifact(10))
    assert store.current_version("0") == newer
    assert store.versions("0") == [*ids[1:], newer]
    with pytest.raises(ModelNotFoundError, match="no kept version"):
        store.rollback("0", ids[0])


def test_load_of_a_given_version_and_missing_ones(store: FilesystemModelStore) -> None:
    first = store.publish("0", _artifact(1))
    store.publish("0", _artifact(2))
    assert store.load("0", first).manifest["value"] == 1
    with pytest.raises(ModelNotFoundError):
        store.load("0", "20990101T000000Z-000009")
    with pytest.raises(ModelNotFoundError):
        store.load("5")
    assert store.current_version("5") is None


def test_tenants_lists_published_tenants_numerically(store: FilesystemModelStore) -> None:
    assert store.tenants() == []
    for tenant in ("10", "2", "0", "acme_1"):
        store.publish(tenant, _artifact())
    assert store.tenants() == ["0", "2", "10", "acme_1"]


@pytest.mark.parametrize(
    "tenant", ["../../etc", "..", ".", "", "a/b", "a\\b", "t 1", "tenant\n", "é", "x" * 101]
)
def test_unsafe_tenant_ids_are_refused(store: FilesystemModelStore, tenant: str) -> None:
    with pytest.raises(ModelStoreError, match="not allowed"):
        store.publish(tenant, _artifact())
    with pytest.raises(ModelStoreError, match="not allowed"):
        store.load(tenant)
    assert not (store.root.parent / "etc").exists()


def test_object_arrays_are_refused_so_nothing_is_pickled(store: FilesystemModelStore) -> None:
    bad = ModelArtifact(manifest={}, arrays={"ids": np.array(["a", 1, None], dtype=object)})
    with pytest.raises(ModelStoreError, match="no pickle"):
        store.publish("0", bad)
    assert store.versions("0") == []
    with pytest.raises(ModelStoreError, match="not plain JSON"):
        store.publish("0", ModelArtifact(manifest={"x": object()}))
    assert store.versions("0") == [] and store.current_version("0") is None


def test_array_names_cannot_escape_the_version_folder(store: FilesystemModelStore) -> None:
    bad = ModelArtifact(manifest={}, arrays={"../x": np.zeros(2)})
    with pytest.raises(ModelStoreError, match="array name"):
        store.publish("0", bad)


def _version_dir(store: FilesystemModelStore, tenant: str) -> Path:
    version = store.current_version(tenant)
    assert version is not None
    return store.root / "tenants" / tenant / "versions" / version


def test_truncated_file_is_detected(store: FilesystemModelStore) -> None:
    store.publish("0", _artifact())
    path = _version_dir(store, "0") / "item_factors.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ModelStoreError, match="item_factors"):
        store.load("0")


def test_missing_file_and_bad_manifest_are_detected(store: FilesystemModelStore) -> None:
    store.publish("0", _artifact())
    folder = _version_dir(store, "0")
    (folder / "flags.npy").unlink()
    with pytest.raises(ModelStoreError, match="flags.npy is missing"):
        store.load("0")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ModelStoreError, match="bad manifest.json"):
        store.load("0")


def test_shape_mismatch_and_flipped_bytes_are_detected(tmp_path: Path) -> None:
    store = FilesystemModelStore(tmp_path, verify=True)
    store.publish("0", _artifact())
    folder = _version_dir(store, "0")
    manifest = json.loads((folder / "manifest.json").read_text())
    path = folder / "item_factors.npy"
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
    first = store.publish("0", _artifact(1))
    store.publish("0", _artifact(2))
    broken = store.root / "tenants" / "0" / "versions" / first / "item_factors.npy"
    broken.unlink()
    with pytest.raises(ModelStoreError, match="missing"):
        store.rollback("0", first)
    assert store.load("0").manifest["value"] == 2


def test_change_token_changes_on_publish_and_rollback(store: FilesystemModelStore) -> None:
    assert store.change_token() is None
    first = store.publish("0", _artifact(1))
    token = store.change_token()
    assert token is not None and store.change_token() == token
    store.publish("1", _artifact(1))
    second = store.change_token()
    assert second != token
    store.rollback("0", first)
    assert store.change_token() != second


def test_leftover_temporary_directories_are_ignored_then_cleaned(tmp_path: Path) -> None:
    store = FilesystemModelStore(tmp_path)
    store.publish("0", _artifact(1))
    leftover = tmp_path / "tenants" / "0" / ".tmp-deadbeef"
    leftover.mkdir()
    (leftover / "half.npy").write_bytes(b"\x93NUMPY")
    assert len(store.versions("0")) == 1
    store.publish("0", _artifact(2))
    assert leftover.exists()  # it could be a concurrent publisher's work in progress
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    store.publish("0", _artifact(3))
    assert not leftover.exists()
    assert store.load("0").manifest["value"] == 3


def test_corrupt_current_pointer_is_a_clear_error(store: FilesystemModelStore) -> None:
    store.publish("0", _artifact())
    (store.root / "tenants" / "0" / "current").write_text("../../x")
    with pytest.raises(ModelStoreError, match="corrupt"):
        store.current_version("0")

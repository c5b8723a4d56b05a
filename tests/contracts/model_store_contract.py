"""The model-store contract: checks every model store must pass.

``tests/contracts/test_model_store_contract.py`` runs them for every model store in the
registry. Each check takes ``make(keep_versions)``, which returns a new store instance
over one storage that is empty when the check starts; two instances made by one ``make``
are two processes (or hosts) sharing that storage.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from mlcore.errors import ModelNotFoundError, ModelStoreError
from mlcore.interfaces import ChangeTracking, ModelArtifact, ModelStore

MakeStore = Callable[[int], ModelStore]
UNSAFE_TENANTS = ("../../etc", "..", ".", "", "a/b", "a\\b", "t 1", "tenant\n", "é", "x" * 101)


def artifact(value: int = 1) -> ModelArtifact:
    """A small artifact of every dtype family; arrays and manifest say ``value``."""
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


def check_round_trip(make: MakeStore) -> None:
    """Values, dtypes and the manifest come back; arrays are read-only; files are listed."""
    store = make(3)
    original = artifact(7)
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
    entry = loaded.manifest["files"]["item_factors"]
    assert entry["shape"] == [4, 3] and entry["dtype"] == "<f4" and len(entry["sha256"]) == 64


def check_another_instance_sees_it(make: MakeStore) -> None:
    """What one process publishes, another (a fresh instance) lists and loads."""
    writer, reader = make(3), make(3)
    assert reader.tenants() == [] and reader.current_version("0") is None
    version = writer.publish("0", artifact(4))
    assert reader.tenants() == ["0"] and reader.current_version("0") == version
    np.testing.assert_array_equal(reader.load("0").arrays["item_factors"], np.full((4, 3), 4))


def check_manifest_only_artifact(make: MakeStore) -> None:
    store = make(3)
    store.publish("3", ModelArtifact(manifest={"message": "too small"}))
    loaded = store.load("3")
    assert loaded.arrays == {} and loaded.manifest["message"] == "too small"


def check_version_ids_sort_and_differ(make: MakeStore) -> None:
    store = make(5)
    ids = [store.publish("0", artifact(i)) for i in range(3)]
    assert len(set(ids)) == 3
    assert ids == sorted(ids) == store.versions("0")


def check_keeps_the_last_versions(make: MakeStore) -> None:
    store = make(3)
    ids = [store.publish("0", artifact(i)) for i in range(6)]
    assert store.versions("0") == ids[-3:]
    assert store.load("0").manifest["value"] == 5
    with pytest.raises(ModelNotFoundError):
        store.load("0", ids[0])


def check_rollback_then_publish(make: MakeStore) -> None:
    store = make(3)
    ids = [store.publish("0", artifact(i)) for i in range(3)]
    store.rollback("0", ids[0])
    assert store.current_version("0") == ids[0]
    assert store.load("0").manifest["value"] == 0
    assert make(3).load("0").manifest["value"] == 0  # another process sees the rollback
    assert store.versions("0") == ids
    newer = store.publish("0", artifact(10))
    assert store.current_version("0") == newer
    assert store.versions("0") == [*ids[1:], newer]
    with pytest.raises(ModelNotFoundError, match="no kept version"):
        store.rollback("0", ids[0])


def check_given_and_missing_versions(make: MakeStore) -> None:
    store = make(3)
    first = store.publish("0", artifact(1))
    store.publish("0", artifact(2))
    assert store.load("0", first).manifest["value"] == 1
    with pytest.raises(ModelNotFoundError):
        store.load("0", "20990101T000000Z-000009")
    with pytest.raises(ModelNotFoundError):
        store.load("5")
    assert store.current_version("5") is None and store.versions("5") == []


def check_tenants_in_numeric_order(make: MakeStore) -> None:
    store = make(3)
    assert store.tenants() == []
    for tenant in ("10", "2", "0", "acme_1"):
        store.publish(tenant, artifact())
    assert store.tenants() == ["0", "2", "10", "acme_1"]


def check_unsafe_tenant_ids_are_refused(make: MakeStore) -> None:
    store = make(3)
    for tenant in UNSAFE_TENANTS:
        with pytest.raises(ModelStoreError, match="not allowed"):
            store.publish(tenant, artifact())
        with pytest.raises(ModelStoreError, match="not allowed"):
            store.load(tenant)
    assert store.tenants() == []


def check_nothing_needs_pickle(make: MakeStore) -> None:
    """Object arrays, non-JSON manifests and escaping array names publish nothing."""
    store = make(3)
    objects = ModelArtifact(manifest={}, arrays={"ids": np.array(["a", 1, None], dtype=object)})
    with pytest.raises(ModelStoreError, match="no pickle"):
        store.publish("0", objects)
    with pytest.raises(ModelStoreError, match="not plain JSON"):
        store.publish("0", ModelArtifact(manifest={"x": object()}))
    with pytest.raises(ModelStoreError, match="array name"):
        store.publish("0", ModelArtifact(manifest={}, arrays={"../x": np.zeros(2)}))
    assert store.versions("0") == [] and store.current_version("0") is None


def check_change_token(make: MakeStore) -> None:
    """A change-tracking store's token moves on every publish and rollback, seen by others."""
    store, other = make(3), make(3)
    if not isinstance(store, ChangeTracking):
        pytest.skip("the store does not track changes")
    assert store.change_token() is None
    first = store.publish("0", artifact(1))
    token = store.change_token()
    assert token is not None and store.change_token() == token
    assert isinstance(other, ChangeTracking) and other.change_token() == token
    store.publish("1", artifact(1))
    second = store.change_token()
    assert second != token
    store.rollback("0", first)
    assert store.change_token() != second


CHECKS: dict[str, Callable[[MakeStore], None]] = {
    "round_trip": check_round_trip,
    "another_instance_sees_it": check_another_instance_sees_it,
    "manifest_only_artifact": check_manifest_only_artifact,
    "version_ids_sort_and_differ": check_version_ids_sort_and_differ,
    "keeps_the_last_versions": check_keeps_the_last_versions,
    "rollback_then_publish": check_rollback_then_publish,
    "given_and_missing_versions": check_given_and_missing_versions,
    "tenants_in_numeric_order": check_tenants_in_numeric_order,
    "unsafe_tenant_ids_are_refused": check_unsafe_tenant_ids_are_refused,
    "nothing_needs_pickle": check_nothing_needs_pickle,
    "change_token": check_change_token,
}

"""The per-worker model holder: interval checks, swaps, failed loads keep the previous model."""

from __future__ import annotations

import pytest

from service.model_holder import ModelHolder
from tests.support.app_support import tiny_artifact
from tests.support.memory_store import MemoryModelStore


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def store() -> MemoryModelStore:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0"))
    return store


def test_loads_once_and_checks_only_when_due(store: MemoryModelStore) -> None:
    clock = Clock()
    holder = ModelHolder(store, interval=2.0, clock=clock)
    assert holder.models()["0"].version == "v1"
    store.publish("0", tiny_artifact("0", seed=9))
    clock.now += 1.9
    assert holder.models()["0"].version == "v1"
    clock.now += 0.1
    assert holder.models()["0"].version == "v2"
    loads = store.loads
    clock.now += 5
    holder.models()
    assert store.loads == loads  # unchanged version: no reload


def test_new_and_removed_tenants(store: MemoryModelStore) -> None:
    clock = Clock()
    holder = ModelHolder(store, interval=1.0, clock=clock)
    assert list(holder.models()) == ["0"]
    store.publish("4", tiny_artifact("4"))
    clock.now += 1
    assert sorted(holder.models()) == ["0", "4"]
    del store.current["4"]
    clock.now += 1
    assert list(holder.models()) == ["0"]


def test_failed_load_keeps_previous_model_then_recovers(store: MemoryModelStore) -> None:
    clock = Clock()
    holder = ModelHolder(store, interval=1.0, clock=clock, full_check_interval=5.0)
    first = holder.models()["0"]
    store.publish("0", tiny_artifact("0", seed=2))
    store.fail_loading.add("v2")
    clock.now += 1
    kept = holder.models()["0"]
    assert kept.version == "v1" and kept.arrays is first.arrays
    assert kept.fallback is not None and kept.fallback.current == "v2"
    loads = store.loads
    store.fail_loading.clear()
    clock.now += 1
    assert holder.models()["0"].version == "v1" and store.loads == loads  # not hammered
    clock.now += 5
    assert holder.models()["0"].version == "v2"  # retried at the next full check
    assert holder.models()["0"].fallback is None


def test_rollback_is_picked_up(store: MemoryModelStore) -> None:
    clock = Clock()
    store.publish("0", tiny_artifact("0", seed=2))
    holder = ModelHolder(store, interval=1.0, clock=clock)
    assert holder.models()["0"].version == "v2"
    store.rollback("0", "v1")
    clock.now += 1
    assert holder.models()["0"].version == "v1"


def test_store_failure_keeps_everything() -> None:
    class Flaky(MemoryModelStore):
        broken = False

        def tenants(self) -> list[str]:
            if self.broken:
                raise OSError("disk gone")
            return super().tenants()

    store = Flaky()
    store.publish("0", tiny_artifact("0"))
    clock = Clock()
    holder = ModelHolder(store, interval=1.0, clock=clock)
    assert list(holder.models()) == ["0"]
    store.broken = True
    clock.now += 1
    assert list(holder.models()) == ["0"]


class TokenStore(MemoryModelStore):
    """Like the filesystem store: a cheap change token moves on every publish."""

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.listings = 0

    def publish(self, tenant: str, artifact: object) -> str:
        self.generation += 1
        return super().publish(tenant, artifact)  # type: ignore[arg-type]

    def change_token(self) -> int | None:
        return self.generation or None

    def tenants(self) -> list[str]:
        self.listings += 1
        return super().tenants()


def test_change_token_avoids_listing_and_failures_are_retried() -> None:
    store = TokenStore()
    store.publish("0", tiny_artifact("0"))
    clock = Clock()
    holder = ModelHolder(store, interval=1.0, clock=clock, full_check_interval=5.0)
    holder.models()
    listed = store.listings
    for _ in range(3):
        clock.now += 1
        holder.models()
    assert store.listings == listed
    store.publish("0", tiny_artifact("0", seed=4))
    store.fail_loading.add("v2")
    clock.now += 1
    assert holder.models()["0"].version == "v1"
    store.fail_loading.clear()
    clock.now += 5
    assert holder.models()["0"].version == "v2"

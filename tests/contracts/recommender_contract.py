"""The recommender contract: checks every recommender backend must pass.

``tests/contracts/test_recommender_contract.py`` runs them for every recommender in the
registry; a third-party package can run them on its own backend (see
``tests/contracts/test_example_plugin.py`` and README "Writing a plugin"). Each check takes a
``make`` callable returning a new, unfitted recommender and raises
``AssertionError`` (or the backend's own error) when the backend breaks the contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.dataset import Dataset
from mlcore.errors import MLCoreError, NotFittedError
from mlcore.interfaces import ModelArtifact, ModelStore, Recommender, ServingArrays
from mlcore.item_types import COMPONENTS, FAMILIES
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from mlcore.serving.artifact import build_artifact
from mlcore.serving.kinds import serving_kind
from mlcore.serving.ranking import top_n
from mlcore.serving.tenant_model import TenantModel
from tests.support.memory_store import MemoryModelStore
from tests.support.recommender_data import PROBE, WITHHELD, block_dataset, make_dataset

MakeRecommender = Callable[[], Recommender]


def model_store(folder: Path) -> ModelStore:
    """The ``filesystem`` store under ``folder`` when installed, else a :class:`MemoryModelStore`."""
    registry = Registry(make_plugin_manager())
    if "filesystem" in registry.model_stores():
        store: ModelStore = registry.create(
            "model store", "filesystem", settings=Settings(models_dir=folder)
        )
        return store
    return MemoryModelStore()


def publish_and_load(
    dataset: Dataset, serving: ServingArrays, store: ModelStore, backend: str = "test"
) -> TenantModel:
    """Export → artifact → store → load → :class:`TenantModel`, as the service does."""
    artifact = build_artifact(dataset, serving, backend=backend, algorithm=backend, details={})
    version = store.publish(dataset.tenant, artifact)
    return TenantModel(store.load(dataset.tenant), version)


def direct_ranking(
    serving: ServingArrays, dataset: Dataset, user: int, component: str, n: int
) -> list[tuple[str, float]]:
    """The top ``n`` of ``component`` for ``user`` scored straight from the exported arrays,
    with the one score formula of their serving kind."""
    window = dataset.type_slice(COMPONENTS.index(component))
    values = serving_kind(serving.kind)(serving.named_arrays()).user_scores(user, window)
    seen = dataset.positives[user].indices
    inside = seen[(seen >= window.start) & (seen < window.stop)]
    values[inside - window.start] = -np.inf
    return [(str(dataset.item_ids[window.start + i]), float(values[i])) for i in top_n(values, n)]


def check_withheld_item_first(make: MakeRecommender) -> None:
    dataset = block_dataset()
    model = TenantModel(_artifact(dataset, make().fit(dataset).export()))
    top = model.recommend(model.user_row(PROBE), "container_course", 3)  # type: ignore[arg-type]
    assert [r.item_id for r in top][:1] == [WITHHELD], top


def check_store_round_trip(make: MakeRecommender, folder: Path) -> None:
    dataset = block_dataset()
    serving = make().fit(dataset).export()
    model = publish_and_load(dataset, serving, model_store(folder))
    for user in range(dataset.n_users):
        for component in COMPONENTS:
            served = [(r.item_id, r.score) for r in model.recommend(user, component, 50)]
            direct = direct_ranking(serving, dataset, user, component, 50)
            assert [i for i, _ in served] == [i for i, _ in direct], (user, component)
            np.testing.assert_allclose([s for _, s in served], [s for _, s in direct], rtol=1e-5)


def check_seen_excluded_and_type_filter(make: MakeRecommender) -> None:
    dataset = block_dataset()
    model = TenantModel(_artifact(dataset, make().fit(dataset).export()))
    for user in range(dataset.n_users):
        positives = set(dataset.item_ids[dataset.positives[user].indices].tolist())
        for index, component in enumerate(COMPONENTS):
            window = dataset.type_slice(index)
            returned = [r.item_id for r in model.recommend(user, component, 100)]
            assert not positives & set(returned), (user, component)
            assert all(item.startswith(component) for item in returned), (component, returned)
            unseen = set(dataset.item_ids[window].tolist()) - positives
            assert set(returned) == unseen, (user, component)


def check_similar_items(make: MakeRecommender) -> None:
    dataset = block_dataset()
    model = TenantModel(_artifact(dataset, make().fit(dataset).export()))
    for item, item_id in enumerate(dataset.item_ids.tolist()):
        component = COMPONENTS[int(dataset.item_types[item])]
        returned = [r.item_id for r in model.similar(item, 100)]
        assert item_id not in returned
        assert returned, item_id
        assert all(r.startswith(FAMILIES[component]) for r in returned), (item_id, returned)


def check_fixed_seed_reproducible(make: MakeRecommender) -> None:
    dataset = block_dataset()
    first, second = make().fit(dataset).export(), make().fit(dataset).export()
    assert first.kind == second.kind
    for name in ("user_factors", "user_bias", "item_factors", "item_bias"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name), err_msg=name)
    assert sorted(first.extra) == sorted(second.extra)
    for name, array in first.extra.items():
        np.testing.assert_array_equal(array, second.extra[name], err_msg=name)


def check_not_fitted(make: MakeRecommender) -> None:
    with pytest.raises(NotFittedError):
        make().export()


def check_tiny_tenants(make: MakeRecommender) -> None:
    """Empty and tiny tenants: fit works or raises a clear MLCoreError; then serving works.

    (The trainer skips tenants under 10 users or items before any backend sees them;
    backends must still not crash on them when used directly.)
    """
    tiny = [
        make_dataset("0", [], [], []),
        make_dataset("4", [], ["container_course1", "engage_article1"], []),
        make_dataset("1", ["u1"], ["container_course1"], []),
        make_dataset("2", ["u1"], ["container_course1"], [("u1", "container_course1", 1)]),
        make_dataset("3", ["u1", "u2"], ["container_course1", "engage_article1"], []),
    ]
    for dataset in tiny:
        try:
            serving = make().fit(dataset).export()
        except MLCoreError as exc:
            assert str(exc), "an MLCoreError must say what is wrong"
            continue
        model = TenantModel(_artifact(dataset, serving))
        for user in range(dataset.n_users):
            for component in COMPONENTS:
                for recommendation in model.recommend(user, component, 5):
                    assert np.isfinite(recommendation.score)
        for item in range(dataset.n_items):
            assert all(r.item_id != dataset.item_ids[item] for r in model.similar(item, 5))


def check_describe_is_json(make: MakeRecommender) -> None:
    recommender = make().fit(block_dataset())
    description = dict(recommender.describe())
    assert json.loads(json.dumps(description)) == description
    assert description.get("backend")


def _artifact(dataset: Dataset, serving: ServingArrays) -> ModelArtifact:
    return build_artifact(dataset, serving, backend="test", algorithm="test", details={})


#: Every check that takes only ``make``.
CHECKS: dict[str, Callable[[MakeRecommender], None]] = {
    "withheld_item_first": check_withheld_item_first,
    "seen_excluded_and_type_filter": check_seen_excluded_and_type_filter,
    "similar_items": check_similar_items,
    "fixed_seed_reproducible": check_fixed_seed_reproducible,
    "not_fitted": check_not_fitted,
    "tiny_tenants": check_tiny_tenants,
    "describe_is_json": check_describe_is_json,
}

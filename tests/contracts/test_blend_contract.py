"""The recommender contract for the blend the trainer serves (kind ``blend``).

The blend is not a plugin (the trainer builds it from candidates it got through the
registry), so this file wraps a fixed blend of registered backends in the
:class:`~mlcore.interfaces.Recommender` shape and runs every contract check on it:
the same store round trip, seen-item exclusion, type filter, similar items, fixed
seed and tiny tenants as every backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import pytest

from mlcore.config import Settings
from mlcore.dataset import Dataset
from mlcore.errors import NotFittedError
from mlcore.interfaces import Recommender, ServingArrays
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from mlcore.serving.blend import blend_arrays
from tests.contracts import recommender_contract as contract

SETTINGS = Settings(num_threads=1, seed=7, tuning_trials=0)
#: Members of every kind the table has (factors, item_item, neighbours) and their options.
MEMBERS: dict[str, dict[str, Any]] = {
    "lightfm": {"epochs": 10},
    "ease": {},
    "item-knn": {"neighbours": 10},
}


class FixedBlend:
    """A blend of registered backends with fixed weights, as the trainer would serve it."""

    def __init__(self, members: Mapping[str, Mapping[str, Any]], weights: list[float]) -> None:
        registry = Registry(make_plugin_manager())
        self.names = [n for n in members if n in registry.recommenders()]
        self.weights = weights[: len(self.names)]
        self.members: list[Recommender] = [
            registry.create_recommender(name, members[name], settings=SETTINGS)
            for name in self.names
        ]
        self.fitted = False

    def fit(self, dataset: Dataset) -> Self:
        for member in self.members:
            member.fit(dataset)
        self.fitted = True
        return self

    def export(self) -> ServingArrays:
        if not self.fitted:
            raise NotFittedError("blend used before fit()")
        return blend_arrays([m.export() for m in self.members], self.weights)

    def describe(self) -> Mapping[str, Any]:
        return {"backend": "blend", "members": self.names, "weights": self.weights}


def make() -> Recommender:
    return FixedBlend(MEMBERS, [1.0, 0.6, 0.3])


def test_the_blend_has_members_of_several_kinds() -> None:
    kinds = {member.export().kind for member in FixedBlend(MEMBERS, [1.0] * 3).fit(_data()).members}
    assert len(kinds) >= 2, kinds


@pytest.mark.parametrize("check", sorted(contract.CHECKS))
def test_blend_contract(check: str) -> None:
    contract.CHECKS[check](make)


def test_blend_store_round_trip_gives_identical_rankings(tmp_path: Path) -> None:
    contract.check_store_round_trip(make, tmp_path)


def _data() -> Dataset:
    from tests.support.recommender_data import block_dataset

    return block_dataset()

"""The recommender contract, run for EVERY recommender the registry knows.

A new backend gets these tests by registering (entry point group ``mlcore``). The
checks live in :mod:`tests.contracts.recommender_contract`; the tiny data in
:mod:`tests.support.recommender_data`. ``FAST_OPTIONS`` keeps the suite quick; one test
also runs each backend with its default options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlcore.config import Settings
from mlcore.interfaces import Recommender
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from tests.contracts import recommender_contract as contract
from tests.support.recommender_data import block_dataset

#: Small options per backend for speed; backends not listed run with their defaults.
FAST_OPTIONS: dict[str, dict[str, Any]] = {
    "implicit-als": {"factors": 8, "iterations": 10, "regularization": 1.0},
    # A larger step than the default: 17 items give SGD few updates per epoch.
    "implicit-bpr": {"factors": 8, "iterations": 200, "learning_rate": 0.05},
    "item-knn": {"neighbours": 10},
    "lightfm": {"epochs": 10},
}
#: Extra settings variants per backend (e.g. LightFM's modes); default one variant.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "lightfm": [{"algorithm": "mf"}, {"algorithm": "partial"}, {"algorithm": "hybrid"}],
}
#: One thread and a fixed seed: the contract's "same seed, same model" needs both.
SETTINGS = Settings(num_threads=1, seed=7, tuning_trials=0)


def _cases() -> list[Any]:
    names = sorted(Registry(make_plugin_manager()).recommenders())
    cases = []
    for name in names:
        for variant in VARIANTS.get(name, [{}]):
            label = "-".join([name, *map(str, variant.values())])
            cases.append(pytest.param(name, variant, id=label))
    return cases


CASES = _cases()


def _maker(
    name: str, variant: dict[str, Any], *, defaults: bool = False
) -> contract.MakeRecommender:
    registry = Registry(make_plugin_manager())
    settings = Settings(**{**SETTINGS.__dict__, **variant})
    options = {} if defaults else FAST_OPTIONS.get(name, {})
    known = {k: v for k, v in options.items() if _has_option(registry, name, k)}

    def make() -> Recommender:
        recommender: Recommender = registry.create("recommender", name, known, settings=settings)
        return recommender

    return make


def _has_option(registry: Registry, name: str, option: str) -> bool:
    fields = getattr(registry.recommenders()[name].options_type, "__dataclass_fields__", {})
    return option in fields


def test_every_builtin_recommender_is_covered() -> None:
    names = {case.values[0] for case in CASES}
    assert {"popularity", "implicit-als", "implicit-bpr", "item-knn"} <= names


@pytest.mark.parametrize(("name", "variant"), CASES)
@pytest.mark.parametrize("check", sorted(contract.CHECKS))
def test_contract(name: str, variant: dict[str, Any], check: str) -> None:
    contract.CHECKS[check](_maker(name, variant))


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_store_round_trip_gives_identical_rankings(
    name: str, variant: dict[str, Any], tmp_path: Path
) -> None:
    contract.check_store_round_trip(_maker(name, variant), tmp_path)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_default_options_fit_export_and_serve(name: str, variant: dict[str, Any]) -> None:
    """Defaults are tuned for real tenants, not for 17 items: only serving invariants here."""
    make = _maker(name, variant, defaults=True)
    dataset = block_dataset()
    serving = make().fit(dataset).export()
    assert serving.user_factors.shape[0] == dataset.n_users
    assert serving.item_factors.shape[0] == dataset.n_items
    contract.check_seen_excluded_and_type_filter(make)

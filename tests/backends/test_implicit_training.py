"""``ML_RECOMMENDER=<implicit backend>`` trains end to end and serves from the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.trainer import Trainer
from tests.contracts.recommender_contract import model_store

CASES = [
    ("implicit-als", {"factors": 16, "iterations": 10}),
    ("implicit-bpr", {"factors": 16}),
    ("item-knn", {"similarity": "bm25"}),
]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    config = DemoConfig(tenants=2, users=120, items=60, interactions=2000, now=1_750_000_000)
    write_demo_export(folder, config)
    return folder


@pytest.mark.parametrize(("name", "options"), CASES)
def test_trainer_publishes_a_servable_model(
    name: str, options: dict, export: Path, tmp_path: Path
) -> None:
    settings = Settings(
        recommender=name,
        recommender_options=options,
        data_dir=export,
        models_dir=tmp_path / "models",
        logs_dir=tmp_path / "logs",
        tuning_trials=0,
        num_threads=1,
        blend="off",  # the backend alone (tests/training/test_selection.py covers blends)
    )
    wired = configured_plugins(settings)
    store = model_store(tmp_path / "models")
    outcomes = Trainer(settings, wired.data_source(), store, wired.recommender).run()
    assert [(o.tenant, o.failed) for o in outcomes] == [("0", False), ("1", False)]
    assert outcomes[0].message == "success"
    model = TenantModel(store.load("0"))
    manifest = model.manifest
    assert manifest["requested_recommender"] == name
    promoted = manifest["validation"]["promoted"]
    assert manifest["backend"] == promoted
    if name == "item-knn":
        # The demo data has planted item groups: neighbours beat popularity clearly.
        assert promoted == name
        assert manifest["kind"] == "neighbours"
    assert manifest["algorithm"] == name
    user = model.user_row(model.user_ids[0])
    assert user is not None
    ranked = model.recommend(user, "engage_article", 5)
    assert ranked and all(r.item_id.startswith("engage_article") for r in ranked)
    assert model.similar(int(model.arrays["type_offsets"][2]), 3)

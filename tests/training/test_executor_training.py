"""Training through executors: the default trains exactly as before; a pool of processes
trains the same models as one process, tenants in parallel."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.interfaces import ModelArtifact
from mlcore.totara.dataset_builder import load_tenant_dataset
from mlcore.training.fitting import TenantFitter
from mlcore.training.trainer import Trainer


def _export(folder: Path, tenants: int = 1) -> Path:
    config = DemoConfig(tenants, users=160, items=50, interactions=2500, now=1_760_000_000)
    write_demo_export(folder, config)
    return folder


def _settings(tmp_path: Path, **more: object) -> Settings:
    base = {
        "data_dir": _export(tmp_path / "export", tenants=3),
        "models_dir": tmp_path / "models",
        "logs_dir": tmp_path / "logs",
        "tuning_trials": 3,
        "training_budget": 0.0,
        "recommender_options": {"study_storage": "memory", "tune_epochs": [3, 12]},
    }
    return Settings(**{**base, **more})  # type: ignore[arg-type]


def _train(settings: Settings) -> dict[str, ModelArtifact]:
    parts = configured_plugins(settings)
    store, executor = parts.model_store(), parts.executor()
    try:
        trainer = Trainer(
            settings, parts.data_source(), store, parts.recommender, executor=executor
        )
        outcomes = trainer.run()
    finally:
        executor.close()
    assert [o.failed for o in outcomes] == [False] * len(outcomes)
    return {tenant: store.load(tenant) for tenant in store.tenants()}


def _same_arrays(left: ModelArtifact, right: ModelArtifact) -> None:
    assert sorted(left.arrays) == sorted(right.arrays)
    for name in left.arrays:
        np.testing.assert_array_equal(left.arrays[name], right.arrays[name], err_msg=name)


def test_the_default_configuration_trains_the_same_arrays_as_before(tmp_path: Path) -> None:
    settings = _settings(tmp_path, num_threads=1)
    assert (settings.executor, settings.training_processes) == ("local", 1)
    published = _train(settings)
    assert multiprocessing.active_children() == []  # nothing ran outside this process
    parts = configured_plugins(settings)
    for tenant in ("0", "1"):
        dataset = load_tenant_dataset(parts.data_source(), tenant)
        before = TenantFitter(settings, parts.recommender).fit_tenant(dataset).artifact
        _same_arrays(published[tenant], before)


@pytest.mark.slow
def test_two_processes_train_the_same_models_as_one(tmp_path: Path) -> None:
    one = _train(_settings(tmp_path / "one", num_threads=1))
    two = _train(_settings(tmp_path / "two", num_threads=2, training_processes=2))
    assert sorted(one) == sorted(two) == ["0", "1", "2"]
    for tenant in one:
        _same_arrays(one[tenant], two[tenant])

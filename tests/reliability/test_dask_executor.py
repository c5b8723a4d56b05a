"""The ``dask`` executor against a real ``dask scheduler`` and two ``dask worker`` processes
on 127.0.0.1: tenants and LightFM trials run as tasks, and a worker killed with SIGKILL
during a trial or a tenant's unit costs a retry on the other worker, never a half model.
Skips without ``distributed``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.serving.artifact import SUCCESS
from mlcore.training.outcome import TenantOutcome
from mlcore.training.trainer import Trainer
from tests.support import dask_cluster

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dask_cluster.DaskCluster]:
    reason = dask_cluster.missing()
    if reason:
        pytest.skip(reason)
    running = dask_cluster.start(tmp_path / "dask", {})
    try:
        yield running
    finally:
        running.stop()


def _settings(tmp_path: Path, address: str, trials: int = 6) -> Settings:
    export = tmp_path / "export"
    config = DemoConfig(tenants=1, users=300, items=80, interactions=6000, now=1_760_000_000)
    write_demo_export(export, config)
    return Settings(
        data_dir=export,
        models_dir=tmp_path / "models",
        logs_dir=tmp_path / "logs",
        executor="dask",
        executor_options={"address": address},
        tuning_trials=trials,
        training_budget=0.0,
        blend="off",
        recommender_options={"study_storage": "memory", "tune_epochs": [3, 20]},
    )


def _run(settings: Settings, outcomes: list[TenantOutcome]) -> None:
    parts = configured_plugins(settings)
    executor = parts.executor()
    try:
        trainer = Trainer(
            settings, parts.data_source(), parts.model_store(), parts.recommender, executor=executor
        )
        outcomes.extend(trainer.run())
    finally:
        executor.close()


def _complete_model(settings: Settings) -> dict[str, object]:
    """The published model loads (sha256-checked) with finite arrays; its manifest."""
    store = configured_plugins(settings).model_store()
    assert len(store.versions("0")) == 1  # the lost attempt published nothing
    artifact = store.load("0")
    assert artifact.manifest["n_users"] == 300
    for name, array in artifact.arrays.items():
        if array.dtype.kind == "f":
            assert np.isfinite(array).all(), name
    return dict(artifact.manifest)


def _trial_pids(manifest: dict[str, object]) -> set[int]:
    trials = manifest["tuning"]["trials"]  # type: ignore[index]
    return {int(t["where"].rsplit(":", 1)[1]) for t in trials if "where" in t}


def test_tenants_and_trials_run_as_tasks_on_the_workers(
    cluster: dask_cluster.DaskCluster, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, cluster.address)
    outcomes: list[TenantOutcome] = []
    _run(settings, outcomes)
    assert [(o.tenant, o.message) for o in outcomes] == [("0", SUCCESS)]
    manifest = _complete_model(settings)
    assert len(manifest["tuning"]["trials"]) == 6  # type: ignore[index]
    assert _trial_pids(manifest) <= set(cluster.worker_pids().values())
    assert _trial_pids(manifest)  # every trial ran on a worker, none in this process


@pytest.mark.parametrize("victim", ["run_trial", "train_tenant_unit"])
def test_a_worker_killed_mid_task_is_replaced_by_the_other(
    cluster: dask_cluster.DaskCluster,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    victim: str,
) -> None:
    settings = _settings(tmp_path, cluster.address, trials=8)
    survivors = cluster.worker_pids()
    outcomes: list[TenantOutcome] = []
    caplog.set_level(logging.INFO, logger="mlcore.training")
    training = threading.Thread(target=_run, args=(settings, outcomes))
    training.start()
    try:
        killed = cluster.kill_worker_running(victim)
    finally:
        training.join(timeout=300)
    assert not training.is_alive()
    (survivor,) = set(survivors.values()) - {killed}
    assert [(o.tenant, o.message) for o in outcomes] == [("0", SUCCESS)]
    manifest = _complete_model(settings)
    assert survivor in _trial_pids(manifest)  # what the dead worker had ran again here
    if victim == "train_tenant_unit":
        assert f":{survivor})" in caplog.text  # "tenant 0: success (on host:pid)"

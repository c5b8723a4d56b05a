"""A busy machine trains the same model: the budget counts process CPU seconds.

The default configuration (LightFM with ``ML_BLEND=auto``: partners, blend weights,
budget shares) is trained twice with one thread and one seed: on the machine as it
is, and while busy-loop processes (four per core) compete for every core. The
budget is set to a few times the CPU seconds the training needs, so that under the
hog the *wall* time exceeds it (a wall-clock budget would have cut tuning or the
final fit), while the CPU budget takes the same decisions. The published arrays
must be identical.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.dataset import Dataset
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.interfaces import ModelArtifact
from mlcore.totara.dataset_builder import load_tenant_dataset
from mlcore.training.budget import cpu_seconds
from mlcore.training.fitting import TenantFitter
from plugins.export_folder_source import ExportFolderSource


def _busy_loop() -> None:  # pragma: no cover - runs in the hog processes
    while True:
        pass


@contextmanager
def cpu_hog(processes: int) -> Iterator[None]:
    """``processes`` busy-loop processes for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    hogs = [context.Process(target=_busy_loop, daemon=True) for _ in range(processes)]
    for hog in hogs:
        hog.start()
    try:
        time.sleep(0.5)  # let the scheduler spread them
        yield
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.join(5)


def _dataset(folder: Path) -> Dataset:
    config = DemoConfig(tenants=1, users=300, items=80, interactions=6000, seed=3, now=1_760_000_000)
    write_demo_export(folder, config)
    return load_tenant_dataset(ExportFolderSource(folder), "0")


def _train(dataset: Dataset, budget: float) -> tuple[ModelArtifact, float, float]:
    settings = Settings(
        num_threads=1,
        seed=11,
        tuning_trials=3,
        training_budget=budget,
        recommender_options={"study_storage": "memory", "tune_epochs": [3, 15]},
    )
    fitter = TenantFitter(settings, configured_plugins(settings).recommender)
    cpu, wall = cpu_seconds(), time.monotonic()
    artifact = fitter.fit_tenant(dataset).artifact
    return artifact, cpu_seconds() - cpu, time.monotonic() - wall


@pytest.mark.slow
def test_a_busy_machine_trains_the_same_model(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path / "export")
    _, needed, _ = _train(dataset, 0.0)
    budget = 2.5 * needed
    idle, _, idle_wall = _train(dataset, budget)
    with cpu_hog(4 * (os.cpu_count() or 1)):
        busy, _, busy_wall = _train(dataset, budget)
    assert busy_wall > budget, (
        f"the hog did not slow training enough to matter (busy {busy_wall:.1f} s wall, "
        f"idle {idle_wall:.1f} s, budget {budget:.1f} CPU s)"
    )
    assert _decisions(idle) == _decisions(busy)
    assert all(c["validation_ndcg"] is not None for c in idle.manifest["selection"]["candidates"])
    assert sorted(idle.arrays) == sorted(busy.arrays)
    for name, array in idle.arrays.items():
        np.testing.assert_array_equal(array, busy.arrays[name], err_msg=name)


def _decisions(artifact: ModelArtifact) -> dict[str, object]:
    """What the budget decided (CPU seconds themselves vary a little from run to run)."""
    selection = dict(artifact.manifest["selection"])
    selection["candidates"] = [
        {k: v for k, v in c.items() if k != "seconds"} for c in selection["candidates"]
    ]
    return selection

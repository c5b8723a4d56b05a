"""Trials as units of work: with one slot the search decides as the sequential one."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.interfaces import TrialTunable
from mlcore.training.budget import charge_remote, cpu_seconds, not_counted, tenant_ledger
from mlcore.training.splits import temporal_split
from mlcore.training.trial_search import TrialDispatch
from mlcore.training.trial_unit import DataHandle
from mlcore.training.units import load_fingerprinted, without_secrets
from tests.support.units import ThreadUnits


def _decisions(report: object) -> list[tuple[object, ...]]:
    return [
        (t["params"], t["state"], t["score"], t["best_epoch"], t["epochs_run"])
        for t in report.trials  # type: ignore[attr-defined]
    ]


@pytest.mark.slow
def test_one_slot_searches_as_the_sequential_search(tmp_path: Path) -> None:
    write_demo_export(tmp_path, DemoConfig(1, users=200, items=60, interactions=4000, now=10**9))
    settings = Settings(
        data_dir=tmp_path,
        num_threads=1,
        seed=7,
        recommender_options={"study_storage": "memory", "tune_epochs": [3, 12], "tune_patience": 3},
    )
    parts = configured_plugins(settings)
    dataset, fingerprint = load_fingerprinted(parts.data_source(), "0")
    split = temporal_split(dataset)
    sequential = parts.recommender("lightfm")
    expected = sequential.tune(split.train, split.test, trials=8, timeout=1e9, seed=7)
    units = ThreadUnits(1)
    by_units = parts.recommender("lightfm")
    assert isinstance(by_units, TrialTunable)
    handle = DataHandle(without_secrets(settings), "0", fingerprint, "lightfm")
    by_units.use_trial_dispatch(TrialDispatch(units, handle))
    report = by_units.tune(split.train, split.test, trials=8, timeout=1e9, seed=7)
    units.close()
    assert units.submitted == 8
    assert "pruned" in {t["state"] for t in expected.trials}  # the pruner had a say
    assert _decisions(report) == _decisions(expected)
    for name, array in sequential.export().named_arrays().items():
        np.testing.assert_array_equal(by_units.export().named_arrays()[name], array, err_msg=name)


def test_a_unit_refuses_an_export_that_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_demo_export(tmp_path, DemoConfig(1, users=40, items=20, interactions=400, now=10**9))
    settings = Settings(data_dir=tmp_path, recommender_options={"study_storage": "memory"})
    parts = configured_plugins(settings)
    dataset, _ = load_fingerprinted(parts.data_source(), "0")
    split = temporal_split(dataset)
    recommender = parts.recommender("lightfm")
    units = ThreadUnits(2)
    handle = DataHandle(without_secrets(settings), "0", "0" * 64, "lightfm")
    recommender.use_trial_dispatch(TrialDispatch(units, handle))  # type: ignore[attr-defined]
    caplog.set_level(logging.WARNING, logger="mlcore.training.trial_search")
    with pytest.raises(Exception, match="no tuning trial produced a score"):
        recommender.tune(split.train, split.test, trials=2, timeout=60, seed=1)  # type: ignore[attr-defined]
    units.close()
    assert caplog.text.count("changed during its tuning search") == 2  # both trials refused


def test_the_ledger_counts_remote_seconds_and_leaves_out_waits() -> None:
    with tenant_ledger() as ledger:
        start = cpu_seconds()
        charge_remote(5.0)
        with not_counted():
            sum(i * i for i in range(200_000))  # CPU spent "by another unit"
        assert 5.0 <= cpu_seconds() - start < 5.05
        assert ledger.remote == 5.0 and ledger.excluded > 0
    charge_remote(7.0)  # without a ledger: nothing runs elsewhere, nothing to add
    assert cpu_seconds() < start + 1

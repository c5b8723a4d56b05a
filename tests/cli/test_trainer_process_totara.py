"""End to end: training runs with the ``totara`` source against the fake Totara over HTTP."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.config import Settings, load_settings
from mlcore.configured import configured_plugins
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.training.fitting import TOO_FEW_ENTITIES
from mlcore.training.train_log import FETCH_FAILED, read_rows
from service.trainer_process import TrainerProcess
from service.trainer_run import child_environment, main, run_once, settings_environment
from tests.support.fake_totara import Behaviour, FakeTotara

KEY = "e2e-Key-7731"


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    config = DemoConfig(tenants=3, users=40, items=30, interactions=400, now=1_700_000_000)
    write_demo_export(folder, config)
    return folder


@pytest.fixture
def totara(export_folder: Path) -> Iterator[FakeTotara]:
    with FakeTotara(export_folder, key=KEY) as fake:
        yield fake


def settings_for(totara: FakeTotara, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "ML_TOTARA_URL": totara.url + "/",
            "ML_TOTARA_KEY": KEY,
            "ML_MODELS_DIR": str(tmp_path / "models"),
            "ML_LOGS_DIR": str(tmp_path / "logs"),
            "ML_RECOMMENDER": "popularity",
            "ML_TUNING_TRIALS": "0",
            "ML_DOWNLOAD_RETRY_WAIT": "0.01",
            "ML_DOWNLOAD_RETRIES": "1",
        }
    )


def test_scheduled_child_trains_every_tenant_from_totara(
    totara: FakeTotara, tmp_path: Path
) -> None:
    settings = settings_for(totara, tmp_path)
    trainer = TrainerProcess(settings, poll_seconds=0.02)
    assert trainer.start()
    try:
        deadline = time.monotonic() + 60
        while not trainer.finished and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        trainer.stop()
    assert [run.exit_code for run in trainer.finished] == [0]
    store = configured_plugins(settings).model_store()
    assert store.tenants() == ["0", "1", "2"]
    rows = read_rows(settings.train_log_path)
    assert [(row[1], row[2], row[3]) for row in rows] == [
        ("popularity", "0", "success"),
        ("popularity", "1", "success"),
        ("popularity", "2", TOO_FEW_ENTITIES.format("2")),
    ]
    assert {r.status for r in totara.export_requests()} == {200}
    trainer_log = (settings.logs_dir / "trainer.log").read_text()
    assert "tenant 0: success" in trainer_log and "training run finished" in trainer_log
    assert "2 tenant(s) trained, 1 skipped, 0 failed" in trainer_log
    assert KEY not in trainer_log


def test_failed_tenant_keeps_its_version_and_the_others_train(
    totara: FakeTotara, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(totara, tmp_path)
    parts = configured_plugins(settings)
    run_once(settings, parts)
    store = parts.model_store()
    before = {tenant: store.versions(tenant) for tenant in store.tenants()}
    assert all(len(v) == 1 for v in before.values()) and len(before) == 3

    totara.behaviours["item_data_1.csv"] = Behaviour(forever=500)
    totara.behaviours["user_data_2.csv"] = Behaviour(forever=202)
    outcomes = run_once(settings, parts)

    by_tenant = {o.tenant: o for o in outcomes}
    assert not by_tenant["0"].failed and by_tenant["1"].failed and by_tenant["2"].failed
    assert len(store.versions("0")) == 2
    assert store.versions("1") == before["1"] and store.versions("2") == before["2"]
    rows = read_rows(settings.train_log_path)[3:]
    assert [row[2] for row in rows] == ["0", "1", "2"]
    assert rows[0][3] == "success"
    assert (
        "previous model keeps serving" in rows[1][3]
        and "HTTP 500 for item_data_1.csv" in rows[1][3]
    )
    assert "still answers 202" in rows[2][3]
    assert "1 tenant(s) trained, 0 skipped, 2 failed (1, 2;" in caplog.text
    assert len(totara.export_requests("user_data_2.csv")) == 1 + 2
    assert KEY not in caplog.text and KEY not in settings.train_log_path.read_text()
    for request in totara.export_requests():
        assert request.header("x-totara-ml-key") not in caplog.text


def test_unreachable_tenant_list_logs_one_all_row_and_exits_1(
    totara: FakeTotara, tmp_path: Path
) -> None:
    settings = settings_for(totara, tmp_path)
    totara.behaviours["tenants.csv"] = Behaviour(forever=500)
    assert main([], settings_environment(settings)) == 1
    rows = read_rows(settings.train_log_path)
    assert [row[2] for row in rows] == ["all"]
    assert rows[0][3].startswith(f"{FETCH_FAILED}: Totara answered HTTP 500 for tenants.csv")
    assert configured_plugins(settings).model_store().tenants() == []


def test_invalid_settings_exit_2(tmp_path: Path) -> None:
    assert main([], {"ML_TOTARA_URL": "ftp://x", "ML_LOGS_DIR": str(tmp_path)}) == 2


def test_source_that_cannot_be_built_exits_2_with_an_all_row(
    totara: FakeTotara, tmp_path: Path
) -> None:
    environ = settings_environment(settings_for(totara, tmp_path))
    environ["ML_CA_BUNDLE"] = str(tmp_path / "missing-ca.pem")
    assert main([], environ) == 2
    [row] = read_rows(tmp_path / "logs" / "train_summary.log")
    assert row[1:3] == ["popularity", "all"]
    assert row[3].startswith("Training could not start: ML_CA_BUNDLE")
    assert totara.requests == []


def test_standalone_scheduler_stops_a_running_download_on_sigterm(
    totara: FakeTotara, tmp_path: Path
) -> None:
    settings = settings_for(totara, tmp_path)
    totara.behaviours["tenants.csv"] = Behaviour(delay=20)
    env = child_environment(settings, None, Path(__file__).resolve().parents[2])
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "service.trainer_process"], env=env, stderr=subprocess.DEVNULL
    )
    trainer_log = settings.logs_dir / "trainer.log"
    try:
        deadline = time.monotonic() + 60
        while "training run: data from Totara" not in _text(trainer_log):
            assert time.monotonic() < deadline and scheduler.poll() is None
            time.sleep(0.05)
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=20) == 0
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
    text = _text(trainer_log)
    assert "stopping the running training" in text
    # The child turns SIGTERM into a cut-short run: an ``all`` row, exit status 3.
    assert "the training run was stopped (SIGTERM)" in text
    assert "training run cut short after" in text and "(shutdown)" in text
    assert text.rstrip().endswith("trainer stopped") and KEY not in text
    assert configured_plugins(settings).model_store().tenants() == []
    [row] = read_rows(settings.train_log_path)
    assert row[2:4] == [
        "all",
        "Training failed, the previous model keeps serving: the training run was stopped (SIGTERM)",
    ]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""

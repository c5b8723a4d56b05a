"""Disk full where the logs live: models are published, the log failure is reported (issue 14, item 9).

Training used to publish every tenant and then crash at its very end, writing
``train_summary.log``, and leave a 0-byte ``train_summary.log.tmp``. Now the run ends
normally, the previous log stays as it was, no temporary file remains, the failure is
logged and the trainer child exits with its own status (4). Two ways: a real, full
tmpfs as ``ML_LOGS_DIR`` (needs root to mount; skipped with the reason otherwise) and an
injected ``ENOSPC`` at the write.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlcore.training.train_log
from mlcore.config import Settings
from mlcore.training.train_log import read_rows
from plugins.filesystem_store.store import FilesystemModelStore
from service.trainer_process import TrainerProcess
from service.trainer_run import LOG_NOT_WRITTEN, main, settings_environment
from tests.support.tmpfs import fill_up, tmpfs
from tests.support.training_support import export_settings, train, write_small_export

TENANTS = ("0", "1", "2")


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_export(tmp_path_factory.mktemp("export"))


@pytest.fixture
def full_logs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs as the logs folder, or a skip when it cannot be mounted."""
    with tmpfs(tmp_path / "logs", "64k", "test_log_write_failure_injected") as mounted:
        yield mounted


def _versions(settings: Settings) -> dict[str, list[str]]:
    store = FilesystemModelStore(settings.models_dir)
    return {tenant: store.versions(tenant) for tenant in TENANTS}


def _assert_published_and_reported(
    settings: Settings, before: dict[str, list[str]], log_before: bytes, status: int, output: str
) -> None:
    after = _versions(settings)
    assert all(len(after[t]) == len(before[t]) + 1 for t in TENANTS), (before, after)
    assert status == LOG_NOT_WRITTEN == 4
    assert "cannot write" in output and "train_summary.log" in output
    assert "No space left on device" in output and "were published" in output
    assert settings.train_log_path.read_bytes() == log_before
    assert sorted(p.name for p in settings.logs_dir.glob("*.tmp")) == []


def test_full_log_disk_on_a_real_tmpfs(
    export_folder: Path, tmp_path: Path, full_logs: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = export_settings(export_folder, tmp_path)
    assert settings.logs_dir == full_logs
    train(settings)
    before, log_before = _versions(settings), settings.train_log_path.read_bytes()
    fill_up(full_logs)
    capfd.readouterr()
    status = main(environ={**os.environ, **settings_environment(settings)})
    _assert_published_and_reported(settings, before, log_before, status, capfd.readouterr().err)
    (full_logs / "filler").unlink()
    status = main(environ={**os.environ, **settings_environment(settings)})
    assert status == 0 and len(read_rows(settings.train_log_path)) == 2 * len(TENANTS)


def test_log_write_failure_injected(
    export_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = export_settings(export_folder, tmp_path)
    train(settings)
    before, log_before = _versions(settings), settings.train_log_path.read_bytes()
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        if os.readlink(f"/proc/self/fd/{descriptor}").endswith("train_summary.log.tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    monkeypatch.setattr(mlcore.training.train_log.os, "fsync", fsync)
    with caplog.at_level(logging.ERROR):
        outcomes = train(settings)
    assert not any(o.failed for o in outcomes)
    status = main(environ={**os.environ, **settings_environment(settings)})
    output = "\n".join(record.getMessage() for record in caplog.records)
    after = _versions(settings)
    assert all(len(after[t]) == len(before[t]) + 2 for t in TENANTS)
    _assert_published_and_reported(
        settings, {t: v[:-1] for t, v in after.items()}, log_before, status, output
    )


def test_the_scheduler_names_a_run_that_could_not_write_its_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    finished = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({LOG_NOT_WRITTEN})"])
    trainer = TrainerProcess(
        Settings(logs_dir=tmp_path / "logs"),
        launch=lambda: finished,
        has_models=lambda: False,
        poll_seconds=0.01,
    )
    with caplog.at_level(logging.INFO, logger="service.trainer_process"):
        trainer.start()
        deadline = time.monotonic() + 10
        while not trainer.finished and time.monotonic() < deadline:
            time.sleep(0.01)
        trainer.stop()
    assert [run.exit_code for run in trainer.finished] == [LOG_NOT_WRITTEN]
    assert "published its models, but could not write train_summary.log" in caplog.text

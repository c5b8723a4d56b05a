"""Downloads and training runs have deadlines (issue 14, item 2).

``ML_DOWNLOAD_TIMEOUT`` bounds each read only: a body (or header block) sent one byte
at a time, each well within the timeout, kept a download alive for minutes. Now
``ML_DOWNLOAD_DEADLINE`` bounds each download from connecting to its last byte. A
training run has a deadline too (``ML_TRAINING_RUN_DEADLINE``, default one retrain
interval): the child cuts itself short at the deadline (rows for every tenant it did
not finish, exit status 3), and the scheduler kills a child that overruns it anyway and
writes the row itself. Either way the previous models keep serving and the log and the
health check say what happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.config import load_settings
from mlcore.configured import configured_plugins
from mlcore.errors import DataSourceError
from mlcore.interfaces import DataSource
from mlcore.training.train_log import read_rows
from mlcore.training.trainer import RunCutShort, Trainer
from plugins.filesystem_store.store import FilesystemModelStore
from service.trainer_process import TrainerProcess
from service.trainer_run import RUN_CUT_SHORT, settings_environment
from tests.support.fake_totara import Behaviour, FakeTotara
from tests.support.training_support import (
    KEY,
    export_settings,
    health_block,
    train,
    write_small_export,
)

ROOT = Path(__file__).resolve().parents[2]
CUT = "Training failed, the previous model keeps serving: the training run was cut short"


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_export(tmp_path_factory.mktemp("export"))


@pytest.fixture
def totara(export_folder: Path) -> Iterator[FakeTotara]:
    with FakeTotara(export_folder, key=KEY) as fake:
        yield fake


def _source(totara: FakeTotara, tmp_path: Path, deadline: str) -> DataSource:
    settings = export_settings(
        Path(totara.folder),
        tmp_path,
        ML_DATA_SOURCE="totara",
        ML_TOTARA_URL=totara.url,
        ML_DOWNLOAD_TIMEOUT="1",
        ML_DOWNLOAD_DEADLINE=deadline,
    )
    return configured_plugins(settings).data_source()


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param(Behaviour(body=b"tenants\n0\n" + b"0" * 60, trickle=0.1), id="body"),
        pytest.param(Behaviour(trickle_headers=0.1), id="headers"),
    ],
)
def test_a_trickled_download_ends_at_its_deadline(
    totara: FakeTotara, tmp_path: Path, behaviour: Behaviour
) -> None:
    """Each byte arrives 0.1 s after the last (timeout 1 s): 7-13 s without a deadline."""
    totara.behaviours["tenants.csv"] = behaviour
    source = _source(totara, tmp_path, deadline="1.5")
    started = time.monotonic()
    with pytest.raises(DataSourceError) as raised:
        source.read_file("tenants.csv")
    seconds = time.monotonic() - started
    assert 1.5 <= seconds < 3.0, seconds
    assert str(raised.value) == (
        f"downloading tenants.csv from Totara at {totara.url} took longer than 1.5 s "
        "(ML_DOWNLOAD_DEADLINE); it was abandoned"
    )
    if behaviour.trickle:  # the body's socket is shut down: the helper thread ends too
        helpers = [t for t in threading.enumerate() if t.name == "download tenants.csv"]
        for helper in helpers:
            helper.join(1.0)
            assert not helper.is_alive()


def test_a_download_within_its_deadline_is_untouched(totara: FakeTotara, tmp_path: Path) -> None:
    body = b"tenants\n0\n1\n"
    totara.behaviours["tenants.csv"] = Behaviour(body=body, trickle=0.01)
    assert _source(totara, tmp_path, deadline="5").read_file("tenants.csv") == body


class _CutAt:
    """A data source that is cut short when tenant ``tenant``'s files are read."""

    def __init__(self, inner: DataSource, tenant: str) -> None:
        self.inner = inner
        self.tenant = tenant

    def read_file(self, name: str) -> bytes:
        if name == f"user_interactions_{self.tenant}.csv":
            raise RunCutShort("the training run was cut short after 9 s (ML_TRAINING_RUN_DEADLINE)")
        return self.inner.read_file(name)

    def describe(self) -> str:
        return self.inner.describe()


def test_a_run_cut_short_writes_a_row_for_every_tenant_it_did_not_finish(
    export_folder: Path, tmp_path: Path
) -> None:
    settings = export_settings(export_folder, tmp_path)
    train(settings)
    parts = configured_plugins(settings)
    store = parts.model_store()
    before = {tenant: store.versions(tenant) for tenant in ("0", "1", "2")}
    trainer = Trainer(settings, _CutAt(parts.data_source(), "1"), store, parts.recommender)
    with pytest.raises(RunCutShort) as raised:
        trainer.run()
    outcomes = {o.tenant: o for o in raised.value.outcomes}
    assert not outcomes["0"].failed and len(store.versions("0")) == 2
    for tenant in ("1", "2"):
        assert outcomes[tenant].failed and outcomes[tenant].message.startswith(CUT)
        assert store.versions(tenant) == before[tenant]
    rows = {row[2]: row[3] for row in read_rows(settings.train_log_path)[-3:]}
    assert rows["0"] == "success" and rows["1"].startswith(CUT) and rows["2"].startswith(CUT)


def test_the_trainer_child_cuts_itself_short_at_its_deadline(
    totara: FakeTotara, tmp_path: Path
) -> None:
    settings = export_settings(
        Path(totara.folder),
        tmp_path,
        ML_DATA_SOURCE="totara",
        ML_TOTARA_URL=totara.url,
        ML_DOWNLOAD_TIMEOUT="5",
        ML_TRAINING_RUN_DEADLINE="3",
    )
    train(settings)
    store = FilesystemModelStore(settings.models_dir)
    before = {tenant: store.versions(tenant) for tenant in ("0", "1", "2")}
    totara.behaviours["user_data_1.csv"] = Behaviour(trickle=0.2)  # minutes for the file
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ.update(settings_environment(settings), PYTHONPATH=str(ROOT))
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-m", "service.trainer_run"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=40,
    )
    seconds = time.monotonic() - started
    assert child.returncode == RUN_CUT_SHORT == 3, child.stderr[-2000:]
    assert seconds < 20
    assert "the training run was cut short after 3 s (ML_TRAINING_RUN_DEADLINE)" in child.stderr
    assert "tenant(s) 1, 2 keep their previous models" in child.stderr
    assert len(store.versions("0")) == 2
    assert store.versions("1") == before["1"] and store.versions("2") == before["2"]
    rows = {row[2]: row[3] for row in read_rows(settings.train_log_path)[-3:]}
    assert rows["0"] == "success"
    assert rows["1"] == rows["2"] == f"{CUT} after 3 s (ML_TRAINING_RUN_DEADLINE)"
    assert CUT in health_block(settings)["last_recommendation_model_training"]


IGNORES_SIGNALS = (
    "import signal, time\n"
    "for s in (signal.SIGTERM, signal.SIGALRM):\n"
    "    signal.signal(s, signal.SIG_IGN)\n"
    "time.sleep(60)\n"
)


def test_the_scheduler_kills_a_run_that_overruns_its_deadline(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "ML_LOGS_DIR": str(tmp_path / "logs"),
            "ML_MODELS_DIR": str(tmp_path / "models"),
            "ML_TRAINING_RUN_DEADLINE": "0.5",
        }
    )
    stubborn: list[subprocess.Popen[bytes]] = []

    def launch() -> subprocess.Popen[bytes]:
        stubborn.append(subprocess.Popen([sys.executable, "-c", IGNORES_SIGNALS]))
        return stubborn[-1]

    trainer = TrainerProcess(
        settings, launch=launch, has_models=lambda: False, grace_seconds=0.5, poll_seconds=0.05
    )
    trainer.start()
    try:
        deadline = time.monotonic() + 8
        while not trainer.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [run.exit_code for run in trainer.finished] == [-9]
        assert 0.9 <= trainer.finished[0].seconds < 4
    finally:
        trainer.stop()
        for process in stubborn:
            process.kill()
            process.wait()
    (row,) = read_rows(settings.train_log_path)
    assert row[2] == "all"
    assert row[3].startswith("Training failed, the previous models keep serving: the training run ")
    assert "over its deadline of 0.5 s (ML_TRAINING_RUN_DEADLINE)" in row[3]

"""Crashes of the trainer and a full disk: the store always serves a complete version.

* A forked trainer (the same ``service.trainer_run.run_once`` the scheduled child runs,
  modules already imported so a kill costs milliseconds) trains every tenant again and
  again and is SIGKILLed at random moments for about 20 s. After every kill a fresh
  store loads each tenant's current version with sha256 verification, every listed
  version loads, and a fresh app serves every trained tenant at once.
* The real scheduler (:class:`service.trainer_process.TrainerProcess`) launches real
  ``python -m service.trainer_run`` children; three are SIGKILLed after they began
  training, the fourth run publishes; the schedule and the served models survive.
* Then ``mlservice serve`` is started on a store left by a killed trainer: its first request succeeds and
  its trainer does not train first (models exist).
* Disk full while publishing, twice: a real 1 MiB tmpfs filled up (when this process
  may mount one) and an injected array writer / pointer writer raising ENOSPC. The
  previous version keeps serving, the error is in ``train_summary.log``, nothing
  partial is visible, and the next run after space is freed publishes again.

The store-level kill test (publish only, mixed-version detection) is
``test_filesystem_store_crash.py``; it is not repeated here.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import falcon.testing
import numpy as np
import pytest
import requests

import mlcore.storage.version_folder
import plugins.filesystem_store.store
from mlcore.config import Settings, load_settings
from mlcore.configured import configured_plugins
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.serving.tenant_model import TenantModel
from mlcore.totara.token import make_token
from mlcore.training.train_log import read_rows
from plugins.filesystem_store.store import FilesystemModelStore
from service.app import create_app
from service.model_holder import ModelHolder
from service.trainer_process import TrainerProcess
from service.trainer_run import child_environment, run_once
from tests.support.app_support import signed_get as signed_get_with_key
from tests.support.serve_process import free_port, start_serve, stop_serve, wait_until_serving
from tests.support.tmpfs import fill_up
from tests.support.tmpfs import tmpfs as mounted_tmpfs

KEY = "crash-Key-0042"
ROOT = Path(__file__).resolve().parents[2]
KILL_SECONDS = 20.0
TRAINED = ("0", "1")
TENANTS = ("0", "1", "2")
QUERY = "totara_user_id={user}&item_type=container_course&tenant={tenant}&n_items=5"
USERS = {"0": 2, "1": 45}


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    write_demo_export(
        folder, DemoConfig(tenants=3, users=60, items=40, interactions=900, now=1_700_000_000)
    )
    return folder


def settings_for(export_folder: Path, models: Path, logs: Path) -> Settings:
    return load_settings(
        {
            "ML_DATA_SOURCE": "export-folder",
            "ML_DATA_DIR": str(export_folder),
            "ML_TOTARA_KEY": KEY,
            "ML_MODELS_DIR": str(models),
            "ML_LOGS_DIR": str(logs),
            "ML_RECOMMENDER": "popularity",
            "ML_TUNING_TRIALS": "0",
            "ML_RELOAD_INTERVAL": "0",
        }
    )


def signed_get(client: falcon.testing.TestClient, path: str, query: str = "") -> dict[str, object]:
    return signed_get_with_key(client, path, query, key=KEY)


def answers(settings: Settings, store: FilesystemModelStore) -> dict[str, object]:
    """What a freshly started worker answers for each trained tenant."""
    client = falcon.testing.TestClient(create_app(settings, store))
    return {
        tenant: signed_get(client, "/user-items", QUERY.format(user=USERS[tenant], tenant=tenant))
        for tenant in TRAINED
    }


def check_store(root: Path) -> dict[str, str]:
    """Every current and every listed version loads completely; returns tenant -> current."""
    store = FilesystemModelStore(root, verify=True)
    current = {}
    for tenant in store.tenants():
        version = store.current_version(tenant)
        assert version is not None and version in store.versions(tenant)
        for listed in store.versions(tenant):
            artifact = store.load(tenant, listed)
            assert artifact.manifest["version"] == listed
            assert artifact.manifest["tenant"] == tenant
            TenantModel(artifact, version=listed)  # builds the serving arrays
        current[tenant] = version
    return current


def _trainer_forever(settings: Settings) -> None:
    """The forked child: train all tenants in a loop until killed."""
    parts = configured_plugins(settings)
    while True:
        run_once(settings, parts)


def _fork(target: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            target()
        finally:
            os._exit(1)
    return pid


def _temporaries(root: Path) -> int:
    return sum(1 for _ in root.glob("tenants/*/.tmp-*"))


def test_sigkill_at_random_points_never_breaks_serving(export_folder: Path, tmp_path: Path) -> None:
    settings = settings_for(export_folder, tmp_path / "models", tmp_path / "logs")
    rng = random.Random(8)
    started = time.monotonic()
    run_once(settings)  # how long one run takes here, and a first version of each tenant
    run_seconds = time.monotonic() - started
    root = settings.models_dir
    current = check_store(root)
    assert set(current) == set(TENANTS)
    expected = answers(settings, FilesystemModelStore(root))
    # A worker that keeps running through all kills (reloads at every request).
    running = falcon.testing.TestClient(create_app(settings, FilesystemModelStore(root)))
    kills = mid_publish = advanced = 0
    deadline = time.monotonic() + KILL_SECONDS
    while time.monotonic() < deadline:
        temporaries = _temporaries(root)
        pid = _fork(lambda: _trainer_forever(settings))
        time.sleep(rng.uniform(0.0, 1.5 * run_seconds))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        kills += 1
        mid_publish += _temporaries(root) > temporaries
        now = check_store(root)
        advanced += now != current
        current = now
        assert answers(settings, FilesystemModelStore(root)) == expected
        health = signed_get(running, "/health-check")["totara"]
        assert isinstance(health, dict)
        store = FilesystemModelStore(root)
        for tenant in TENANTS:  # a complete version, the current one up to a missed token
            assert health[f"model_version_{tenant}"] in store.versions(tenant)
        for tenant in TRAINED:
            query = QUERY.format(user=USERS[tenant], tenant=tenant)
            assert signed_get(running, "/user-items", query) == expected[tenant]
        read_rows(settings.train_log_path)  # always parseable
    # The kills really landed inside publishing and also let runs complete.
    assert kills >= 10 and mid_publish > 0 and advanced > 0, (kills, mid_publish, advanced)
    print(f"{kills} kills in {KILL_SECONDS:g} s, {mid_publish} mid-publish, {advanced} advanced")


def test_worker_catches_up_when_the_publisher_died_before_moving_the_token(
    export_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between switching ``current`` and replacing ``generation`` (the change
    token): the running worker's holder lists the tenants anyway after
    ``full_check_interval`` and serves the new current version."""
    settings = settings_for(export_folder, tmp_path / "models", tmp_path / "logs")
    run_once(settings)
    store = FilesystemModelStore(settings.models_dir)
    clock = FakeClock()
    holder = ModelHolder(store, interval=0, clock=clock, full_check_interval=60)
    first = holder.models()["0"].version
    real_replace = plugins.filesystem_store.store.replace_file

    def dies_before_token(path: Path, content: bytes, mode: int | None = None) -> None:
        if path.name == "generation":
            raise KeyboardInterrupt("killed")  # what the publisher would have done next
        real_replace(path, content, mode)

    monkeypatch.setattr(plugins.filesystem_store.store, "replace_file", dies_before_token)
    with pytest.raises(KeyboardInterrupt):
        store.publish("0", store.load("0"))
    monkeypatch.undo()
    second = store.current_version("0")
    assert second != first
    clock.now += 1
    assert holder.models()["0"].version == first  # the token did not move
    clock.now += 60
    assert holder.models()["0"].version == second


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_scheduler_survives_sigkill_of_its_real_training_child(
    export_folder: Path, tmp_path: Path
) -> None:
    """The real scheduler and real ``python -m service.trainer_run`` children, SIGKILLed
    after they began training; the run after that publishes, nothing ever breaks."""
    settings = settings_for(export_folder, tmp_path / "models", tmp_path / "logs")
    run_once(settings)
    started = time.monotonic()
    run_once(settings)  # warm: how long a run takes after its first log line, about
    run_seconds = time.monotonic() - started
    before = answers(settings, FilesystemModelStore(settings.models_dir))
    trainer_log = settings.logs_dir / "trainer.log"
    rng, clock, children = random.Random(9), FakeClock(), []

    def launch() -> subprocess.Popen[bytes]:
        env = child_environment(settings, None, ROOT)
        children.append(subprocess.Popen([sys.executable, "-m", "service.trainer_run"], env=env))
        return children[-1]

    trainer = TrainerProcess(settings, launch=launch, clock=clock, poll_seconds=0.02)
    assert trainer.start()
    try:
        _wait(lambda: "trainer scheduled" in _text(trainer_log))  # next run due in one interval
        for run in range(3):
            clock.now += trainer.interval
            _wait(lambda run=run: _text(trainer_log).count("training run: data") > run)
            time.sleep(rng.uniform(0.0, run_seconds / 3))  # well inside the run
            children[-1].kill()
            _wait(lambda run=run: len(trainer.finished) > run)
            check_store(settings.models_dir)
            assert answers(settings, FilesystemModelStore(settings.models_dir)) == before
        clock.now += trainer.interval
        _wait(lambda: len(trainer.finished) == 4)
    finally:
        trainer.stop()
    assert [run.exit_code for run in trainer.finished] == [-9, -9, -9, 0]
    assert trainer_log.read_text().count("was killed by signal 9") == 3
    current = check_store(settings.models_dir)
    assert all(len(FilesystemModelStore(settings.models_dir).versions(t)) >= 3 for t in current)
    assert answers(settings, FilesystemModelStore(settings.models_dir)) == before


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _wait(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_restarted_service_serves_at_once_from_the_store(
    export_folder: Path, tmp_path: Path
) -> None:
    settings = settings_for(export_folder, tmp_path / "models", tmp_path / "logs")
    run_once(settings)
    pid = _fork(lambda: _trainer_forever(settings))  # and a crash mid-way, for realism
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    expected = answers(settings, FilesystemModelStore(settings.models_dir))
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ.update(
        ML_DATA_SOURCE="export-folder",
        ML_DATA_DIR=str(export_folder),
        ML_TOTARA_KEY=KEY,
        ML_MODELS_DIR=str(settings.models_dir),
        ML_LOGS_DIR=str(settings.logs_dir),
        ML_BIND=f"127.0.0.1:{port}",
        ML_ADMIN_BIND="",
        ML_WORKERS="2",
        ML_RECOMMENDER="popularity",
    )
    output = tmp_path / "serve.log"
    process = start_serve(output, environ)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, output)
        for tenant in TRAINED:
            now = str(int(time.time()))
            first = requests.get(
                f"{base}/user-items?" + QUERY.format(user=USERS[tenant], tenant=tenant),
                headers={"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, KEY)},
                timeout=5,
            )
            assert first.status_code == 200 and first.json() == expected[tenant]
        text = output.read_text()
        assert "first run in 86400 s" in text and "training run started" not in text
    finally:
        stop_serve(process)


# -- disk full -------------------------------------------------------------------------


def _assert_disk_full_run_kept_everything(
    settings: Settings,
    before_versions: dict[str, list[str]],
    before: dict[str, object],
    affected: tuple[str, ...] = TENANTS,
) -> None:
    store = FilesystemModelStore(settings.models_dir)
    outcomes = run_once(settings)
    assert {o.tenant for o in outcomes if o.failed} == set(affected), outcomes
    rows = {row[2]: row[3] for row in read_rows(settings.train_log_path)[-3:]}
    assert set(rows) == set(TENANTS)
    for tenant in affected:
        assert rows[tenant].startswith("Training failed, the previous model keeps serving: ")
        assert "No space left on device" in rows[tenant], rows[tenant]
        assert store.versions(tenant) == before_versions[tenant]
    assert _temporaries(settings.models_dir) == 0
    check_store(settings.models_dir)
    assert answers(settings, store) == before


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, or a skip when this process may not mount one (not root)."""
    with mounted_tmpfs(tmp_path / "tmpfs", "1m", "test_disk_full_injected") as mount_point:
        yield mount_point


def test_disk_full_on_a_real_tmpfs(export_folder: Path, tmp_path: Path, tmpfs: Path) -> None:
    settings = settings_for(export_folder, tmpfs / "models", tmp_path / "logs")
    run_once(settings)
    store = FilesystemModelStore(settings.models_dir)
    before_versions = {t: store.versions(t) for t in TENANTS}
    before = answers(settings, store)
    filler = fill_up(tmpfs)  # the disk is full to the last byte
    _assert_disk_full_run_kept_everything(settings, before_versions, before)
    filler.unlink()
    assert not any(o.failed for o in run_once(settings))
    assert all(len(store.versions(t)) == 2 for t in TENANTS)


@pytest.mark.parametrize("where", ["second array", "current pointer"])
def test_disk_full_injected(
    export_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    settings = settings_for(export_folder, tmp_path / "models", tmp_path / "logs")
    run_once(settings)
    store = FilesystemModelStore(settings.models_dir)
    before_versions = {t: store.versions(t) for t in TENANTS}
    before = answers(settings, store)
    real_write, real_replace = (
        mlcore.storage.version_folder.write_array,
        plugins.filesystem_store.store.replace_file,
    )
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write_array(path: Path, array: np.ndarray) -> object:
        if any(path.parent.glob("*.npy")):  # the first array fits, the second does not
            raise full
        return real_write(path, array)

    def replace_file(path: Path, content: bytes, mode: int | None = None) -> None:
        if path.name == "current":
            raise full
        real_replace(path, content, mode)

    if where == "second array":
        monkeypatch.setattr(mlcore.storage.version_folder, "write_array", write_array)
        # Tenant 2 (skipped: too small) publishes a single array, which still fits.
        _assert_disk_full_run_kept_everything(settings, before_versions, before, TRAINED)
    else:
        monkeypatch.setattr(plugins.filesystem_store.store, "replace_file", replace_file)
        outcomes = run_once(settings)
        assert all(o.failed and "No space left on device" in o.message for o in outcomes)
        # The new version directory is complete (renamed into place) but never current.
        for tenant in TENANTS:
            assert store.current_version(tenant) == before_versions[tenant][-1]
            assert len(store.versions(tenant)) == 2
        check_store(settings.models_dir)
        assert answers(settings, store) == before
    monkeypatch.undo()
    assert not any(o.failed for o in run_once(settings))
    assert answers(settings, store) == before

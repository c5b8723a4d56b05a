"""The refresh schedule beside the trainer, and ``mlservice refresh``."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mlcore.config import VARIABLES, Settings, load_settings
from mlcore.errors import ConfigError
from service.cli import main
from service.refresh_scheduler import RefreshScheduler


class FakeChild:
    """A refresh child that ends when told."""

    pid = 4242

    def __init__(self) -> None:
        self.done = threading.Event()
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return 0 if self.done.is_set() else None

    def wait(self, timeout: float | None = None) -> int:
        self.returncode = 0
        return 0

    def terminate(self) -> None:
        self.done.set()

    def kill(self) -> None:
        self.done.set()


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_refreshes_run_on_the_interval_and_never_during_a_training() -> None:
    children: list[FakeChild] = []
    busy = threading.Event()
    busy.set()

    def launch() -> FakeChild:
        children.append(FakeChild())
        return children[-1]

    scheduler = RefreshScheduler(
        Settings(refresh_interval=0.05),
        busy=busy.is_set,
        launch=launch,
        poll_seconds=0.01,  # type: ignore[arg-type]
    )
    assert scheduler.start()
    try:
        time.sleep(0.3)
        assert children == []  # a training is running
        busy.clear()
        wait_for(lambda: len(children) == 1)
        time.sleep(0.2)
        assert len(children) == 1  # one at a time: the first has not ended
        children[0].done.set()
        wait_for(lambda: len(children) == 2)
    finally:
        scheduler.stop()
    assert children[-1].done.is_set()  # stopping ends a running refresh


def test_refreshes_can_be_switched_off() -> None:
    assert not RefreshScheduler(Settings(refresh_interval=0), busy=lambda: False).start()
    assert load_settings({"ML_REFRESH_INTERVAL": "10"}).refresh_interval == 10.0
    assert load_settings({}).refresh_interval == 300.0
    with pytest.raises(ConfigError, match="ML_REFRESH_INTERVAL"):
        load_settings({"ML_REFRESH_INTERVAL": "-1"})


def test_mlservice_refresh_runs_one_cycle(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in [*VARIABLES, "ML_CONFIG_FILE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ML_TUNING_TRIALS", "0")
    monkeypatch.setenv("ML_LOGS_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("ML_RECOMMENDER", "implicit-als")
    monkeypatch.setenv("ML_BLEND", "off")
    export, models = tmp_path / "export", str(tmp_path / "models")
    assert main(["demo-data", str(export), "--tenants", "1", "--users", "60", "--items", "30"]) == 0
    assert main(["train", "--quiet", "--data-dir", str(export), "--models-dir", models]) == 0
    capsys.readouterr()
    assert main(["refresh", "--data-dir", str(export), "--models-dir", models]) == 0
    assert "tenant 0: unchanged" in capsys.readouterr().out
    line = (export / "user_interactions_0.csv").read_text().splitlines()[1].split(",")
    with open(export / "user_interactions_0.csv", "a", encoding="utf-8") as handle:
        handle.write(f"{line[0]},{line[1]},1,1999999999\n")
    assert (
        main(["refresh", "--tenant", "0", "--data-dir", str(export), "--models-dir", models]) == 0
    )
    assert "tenant 0: published ->" in capsys.readouterr().out

"""The trainer scheduler: schedule, one run at a time, crashes, shutdown (no long sleeps)."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlcore.config import Settings, load_settings
from service.trainer_process import TrainerProcess
from service.trainer_run import child_environment, settings_environment

INTERVAL_MINUTES = 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRun:
    """A training child that finishes when told to (or never)."""

    def __init__(
        self, pid: int, exit_code: int | None = None, obeys_terminate: bool = True
    ) -> None:
        self.pid = pid
        self.exit_code = exit_code
        self.obeys_terminate = obeys_terminate
        self.signals: list[str] = []

    def poll(self) -> int | None:
        return self.exit_code

    def terminate(self) -> None:
        self.signals.append("TERM")
        if self.obeys_terminate:
            self.exit_code = -15

    def kill(self) -> None:
        self.signals.append("KILL")
        self.exit_code = -9

    def wait(self, timeout: float | None = None) -> int:
        if self.exit_code is None:
            raise subprocess.TimeoutExpired("fake", timeout or 0)
        return self.exit_code


class Launcher:
    def __init__(self, make: Callable[[int], FakeRun] | None = None) -> None:
        self.runs: list[FakeRun] = []
        self.make = make or (lambda pid: FakeRun(pid, exit_code=0))

    def __call__(self) -> FakeRun:
        run = self.make(len(self.runs) + 1)
        self.runs.append(run)
        return run


def wait_for(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def settle() -> None:
    """Let the scheduler (polling every 5 ms) look at the clock a few times."""
    time.sleep(0.06)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(retrain_freq_minutes=INTERVAL_MINUTES, logs_dir=tmp_path / "logs")


@pytest.fixture
def make_trainer(settings: Settings) -> Iterator[Callable[..., TrainerProcess]]:
    made: list[TrainerProcess] = []

    def make(
        launch: Callable[[], object], has_models: bool = True, **kwargs: object
    ) -> TrainerProcess:
        trainer = TrainerProcess(
            kwargs.pop("settings", settings),  # type: ignore[arg-type]
            launch=launch,  # type: ignore[arg-type]
            has_models=lambda: has_models,
            poll_seconds=0.005,
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(trainer)
        return trainer

    yield make
    for trainer in made:
        trainer.stop()


def test_first_run_at_once_without_models(make_trainer: Callable[..., TrainerProcess]) -> None:
    launcher = Launcher()
    trainer = make_trainer(launcher, has_models=False, clock=FakeClock())
    assert trainer.start() is True
    wait_for(lambda: len(trainer.finished) == 1)
    settle()
    assert len(launcher.runs) == 1


def test_runs_every_interval_after_one_interval_with_models(
    make_trainer: Callable[..., TrainerProcess],
) -> None:
    clock, launcher = FakeClock(), Launcher()
    trainer = make_trainer(launcher, has_models=True, clock=clock)
    trainer.start()
    settle()
    clock.now += INTERVAL_MINUTES * 60 - 1
    settle()
    assert launcher.runs == []
    for expected in (1, 2, 3):
        clock.now += INTERVAL_MINUTES * 60
        wait_for(lambda expected=expected: len(trainer.finished) == expected)
        settle()
        assert len(launcher.runs) == expected


def test_one_run_at_a_time_and_an_overdue_run_starts_when_it_ends(
    make_trainer: Callable[..., TrainerProcess], settings: Settings
) -> None:
    clock = FakeClock()
    launcher = Launcher(lambda pid: FakeRun(pid))
    long_deadline = dataclasses.replace(settings, training_run_deadline=10 * INTERVAL_MINUTES * 60)
    trainer = make_trainer(launcher, has_models=False, clock=clock, settings=long_deadline)
    trainer.start()
    wait_for(lambda: len(launcher.runs) == 1)
    clock.now += 3 * INTERVAL_MINUTES * 60
    settle()
    assert len(launcher.runs) == 1
    launcher.runs[0].exit_code = 0
    wait_for(lambda: len(launcher.runs) == 2)
    settle()
    assert len(launcher.runs) == 2 and len(trainer.finished) == 1


def test_crashed_run_is_logged_and_the_next_happens_on_schedule(
    make_trainer: Callable[..., TrainerProcess], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.trainer_process")
    clock = FakeClock()
    codes = iter([-9, 3, 0])
    launcher = Launcher(lambda pid: FakeRun(pid, exit_code=next(codes)))
    trainer = make_trainer(launcher, has_models=False, clock=clock)
    trainer.start()
    wait_for(lambda: len(trainer.finished) == 1)
    for _ in range(2):
        clock.now += INTERVAL_MINUTES * 60
        wait_for(
            lambda: (
                len(trainer.finished) == len(launcher.runs)
                and trainer.finished[-1].started == clock.now
            )
        )
    assert [run.exit_code for run in trainer.finished] == [-9, 3, 0]
    assert "was killed by signal 9" in caplog.text
    assert "training run cut short after" in caplog.text
    assert "previous models keep serving" in caplog.text


def test_launch_failure_is_logged_and_retried_on_schedule(
    make_trainer: Callable[..., TrainerProcess], caplog: pytest.LogCaptureFixture
) -> None:
    clock, attempts = FakeClock(), []

    def launch() -> FakeRun:
        attempts.append(clock.now)
        if len(attempts) == 1:
            raise OSError("no python")
        return FakeRun(2, exit_code=0)

    trainer = make_trainer(launch, has_models=False, clock=clock)
    trainer.start()
    wait_for(lambda: len(attempts) == 1)
    settle()
    assert len(attempts) == 1 and "cannot start a training run" in caplog.text
    clock.now += INTERVAL_MINUTES * 60
    wait_for(lambda: len(trainer.finished) == 1)


def test_scheduler_survives_an_unexpected_error(
    make_trainer: Callable[..., TrainerProcess], caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenWait(FakeRun):
        def wait(self, timeout: float | None = None) -> int:
            raise RuntimeError("wait failed")

    clock = FakeClock()
    kinds = iter([BrokenWait, FakeRun])
    launcher = Launcher(lambda pid: next(kinds)(pid, exit_code=0))
    trainer = make_trainer(launcher, has_models=False, clock=clock)
    trainer.start()
    wait_for(lambda: "trainer scheduler error" in caplog.text)
    clock.now += INTERVAL_MINUTES * 60
    wait_for(lambda: len(trainer.finished) == 1)
    assert len(launcher.runs) == 2 and trainer.is_alive()


def test_store_error_means_training_at_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> bool:
        raise OSError("store unreadable")

    launcher = Launcher()
    trainer = TrainerProcess(settings, launch=launcher, has_models=broken, poll_seconds=0.005)
    trainer.start()
    try:
        wait_for(lambda: len(trainer.finished) == 1)
    finally:
        trainer.stop()
    assert "cannot ask the model store" in caplog.text


def test_no_scheduled_training_in_testing_mode(tmp_path: Path) -> None:
    launcher = Launcher()
    testing = Settings(environment="Testing", logs_dir=tmp_path)
    trainer = TrainerProcess(testing, launch=launcher, has_models=lambda: False)
    assert trainer.start() is False
    settle()
    assert launcher.runs == [] and not trainer.is_alive()


def test_stop_terminates_then_kills_a_stubborn_run(
    make_trainer: Callable[..., TrainerProcess],
) -> None:
    launcher = Launcher(lambda pid: FakeRun(pid, obeys_terminate=False))
    trainer = make_trainer(launcher, has_models=False, grace_seconds=0.01)
    trainer.start()
    wait_for(lambda: len(launcher.runs) == 1)
    trainer.stop()
    assert launcher.runs[0].signals == ["TERM", "KILL"]
    assert not trainer.is_alive() and trainer.finished[0].exit_code == -9


def test_stop_ends_a_real_child_and_a_real_crash_is_survived(settings: Settings) -> None:
    scripts = iter(
        ["import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "import time; time.sleep(60)"]
    )
    clock, launched = FakeClock(), []

    def launch() -> subprocess.Popen[bytes]:
        launched.append(subprocess.Popen([sys.executable, "-c", next(scripts)]))
        return launched[-1]

    trainer = TrainerProcess(
        settings, launch=launch, has_models=lambda: False, clock=clock, poll_seconds=0.005
    )
    trainer.start()
    wait_for(lambda: len(trainer.finished) == 1, seconds=10)
    clock.now += INTERVAL_MINUTES * 60
    wait_for(lambda: len(launched) == 2)
    started = time.monotonic()
    trainer.stop()
    assert time.monotonic() - started < 5
    assert [run.exit_code for run in trainer.finished] == [-9, -15]
    log_text = (settings.logs_dir / "trainer.log").read_text()
    assert "killed by signal 9" in log_text and "stopping the running training" in log_text


def test_settings_reach_the_child_unchanged(tmp_path: Path) -> None:
    settings = Settings(
        totara_url="https://totara.example/",
        totara_key="k3y",
        models_dir=tmp_path / "models",
        retrain_freq_minutes=2.5,
        recommender="popularity",
        recommender_options={"weighted": True},
        data_dir=tmp_path / "export",
        tls_verify=False,
        ca_bundle="/etc/ca.pem",
        download_retry_wait=0.5,
        environment="Development",
    )
    assert load_settings(settings_environment(settings)) == settings
    env = child_environment(settings, {"PATH": "/bin", "ML_NUM_THREADS": "9"}, tmp_path)
    assert env["PATH"] == "/bin" and env["ML_NUM_THREADS"] == "4"
    assert env["PYTHONPATH"].split(":")[0] == str(tmp_path)
    assert env["OPENBLAS_NUM_THREADS"] == "1"

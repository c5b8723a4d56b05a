"""The scheduler retries with backoff after a failed training and runs on request."""

from __future__ import annotations

import os
from pathlib import Path

from mlcore.config import Settings
from service.trainer_control import RequestResult, TrainerControl
from service.trainer_process import TrainerProcess
from tests.cli.test_trainer_process import FakeClock, FakeRun, settle, wait_for

INTERVAL = 60.0 * 60  # ML_RECOMMENDATION_RETRAIN_FREQ=60


class TenantLauncher:
    """Records each launch with its tenant; runs end with the given exit codes."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = codes
        self.launches: list[tuple[float, str | None]] = []
        self.clock: FakeClock | None = None

    def __call__(self, tenant: str | None = None) -> FakeRun:
        self.launches.append((self.clock() if self.clock else 0.0, tenant))
        code = self.codes[min(len(self.launches) - 1, len(self.codes) - 1)]
        return FakeRun(len(self.launches), exit_code=code)


def trainer(
    tmp_path: Path, launcher: TenantLauncher, bare: bool, **kwargs: object
) -> TrainerProcess:
    clock = FakeClock()
    launcher.clock = clock
    settings = Settings(retrain_freq_minutes=60, training_retry_minutes=2, logs_dir=tmp_path)
    return TrainerProcess(
        settings,
        launch=launcher,
        has_models=lambda: False,
        needs_retry=lambda: bare,
        clock=clock,
        poll_seconds=0.005,
        **kwargs,  # type: ignore[arg-type]
    )


def advance_until_launches(process: TrainerProcess, launcher: TenantLauncher, count: int) -> None:
    clock = process.clock
    assert isinstance(clock, FakeClock)
    for _ in range(200):
        if len(launcher.launches) >= count:
            return
        clock.now += 30
        settle()
    raise AssertionError(f"only {len(launcher.launches)} launches")


def test_failed_first_training_is_retried_with_doubling_backoff(tmp_path: Path) -> None:
    launcher = TenantLauncher([1, 1, 1, 1, 0])
    process = trainer(tmp_path, launcher, bare=True)
    process.start()
    try:
        advance_until_launches(process, launcher, 5)
    finally:
        process.stop()
    starts = [t for t, _ in launcher.launches]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # 2, 4, 8, 16 minutes (give or take one 30 s step of the fake clock).
    for gap, minutes in zip(gaps, (2, 4, 8, 16), strict=True):
        assert minutes * 60 <= gap <= minutes * 60 + 30


def test_backoff_never_exceeds_the_schedule(tmp_path: Path) -> None:
    launcher = TenantLauncher([1])
    process = trainer(tmp_path, launcher, bare=True)
    process.settings = Settings(retrain_freq_minutes=5, training_retry_minutes=4, logs_dir=tmp_path)
    process.start()
    try:
        advance_until_launches(process, launcher, 4)
    finally:
        process.stop()
    starts = [t for t, _ in launcher.launches]
    assert max(b - a for a, b in zip(starts, starts[1:], strict=False)) <= 5 * 60 + 30


def test_no_early_retry_when_every_tenant_still_has_a_model(tmp_path: Path) -> None:
    launcher = TenantLauncher([1])
    process = trainer(tmp_path, launcher, bare=False)
    process.start()
    try:
        wait_for(lambda: len(launcher.launches) == 1)
        clock = process.clock
        assert isinstance(clock, FakeClock)
        clock.now += 30 * 60
        settle()
        assert len(launcher.launches) == 1
    finally:
        process.stop()


def test_requested_runs_start_at_once_one_at_a_time(tmp_path: Path) -> None:
    control = TrainerControl(tmp_path)
    launcher = TenantLauncher([0])
    runs: list[FakeRun] = []

    def launch(tenant: str | None = None) -> FakeRun:
        run = launcher(tenant)
        run.exit_code = None  # keeps running until told
        runs.append(run)
        return run

    clock = FakeClock()
    process = TrainerProcess(
        Settings(retrain_freq_minutes=60, logs_dir=tmp_path),
        launch=launch,
        has_models=lambda: True,
        clock=clock,
        poll_seconds=0.005,
        control=control,
    )
    assert control.request_run("0") is RequestResult.UNAVAILABLE  # no scheduler yet
    process.start()
    try:
        wait_for(lambda: control.state() is not None)
        state = control.state()
        assert state is not None and state.pid == os.getpid() and not state.running
        assert control.request_run("3") is RequestResult.ACCEPTED
        wait_for(lambda: len(runs) == 1)
        assert launcher.launches[0][1] == "3"
        wait_for(lambda: (s := control.state()) is not None and s.running and s.run_tenant == "3")
        wait_for(lambda: control.pending() is None)
        assert control.request_run(None) is RequestResult.RUNNING
        runs[0].exit_code = 0
        wait_for(lambda: (s := control.state()) is not None and s.last_run is not None)
        state = control.state()
        assert state is not None and state.last_run is not None
        assert state.last_run.outcome == "success" and state.last_run.tenant == "3"
        assert control.request_run(None) is RequestResult.ACCEPTED
        wait_for(lambda: len(runs) == 2)
        assert launcher.launches[1][1] is None
    finally:
        runs[-1].exit_code = 0
        process.stop()
    assert control.state() is None  # a stopped scheduler leaves no state behind

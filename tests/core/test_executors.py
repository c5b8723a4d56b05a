"""The executor plugin kind: registry, settings, and the ``local`` executor's two modes."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from mlcore.config import Settings, load_settings
from mlcore.configured import configured_plugins
from mlcore.errors import ConfigError, PluginNotFoundError
from mlcore.interfaces import Executor
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from plugins.local_executor import LocalExecutor, LocalOptions
from tests.support import units


def test_the_registry_lists_local_and_dask() -> None:
    records = Registry(make_plugin_manager()).all_records()
    assert {"local", "dask"} <= set(records["executor"])
    assert {"filesystem", "s3"} <= set(records["model store"])


def test_defaults_keep_one_process_in_this_process() -> None:
    settings = load_settings({})
    assert (settings.executor, settings.training_processes) == ("local", 1)
    executor = configured_plugins(settings).executor()
    assert isinstance(executor, Executor) and executor.in_process() and executor.slots() == 1


def test_settings_are_checked_and_unknown_executors_named() -> None:
    with pytest.raises(ConfigError, match="ML_TRAINING_PROCESSES"):
        load_settings({"ML_TRAINING_PROCESSES": "0"})
    options = load_settings({"ML_EXECUTOR_OPTIONS": '{"address": "tcp://h:8786"}'})
    assert options.executor_options == {"address": "tcp://h:8786"}
    with pytest.raises(PluginNotFoundError, match="dask, local"):
        configured_plugins(Settings(executor="ray")).executor()


def test_inline_units_run_here_and_carry_errors() -> None:
    executor = LocalExecutor(LocalOptions(), Settings())
    assert executor.submit(units.pid_and_threads, 4).result()[:2] == (os.getpid(), 8)
    with pytest.raises(ValueError, match="boom"):
        executor.submit(units.fail, "boom").result()
    assert multiprocessing.active_children() == []


def test_a_pool_shares_the_thread_budget() -> None:
    executor = LocalExecutor(LocalOptions(), Settings(training_processes=2, num_threads=5))
    try:
        assert executor.unit_settings(Settings(num_threads=5)).num_threads == 2
        futures = [executor.submit(units.pid_and_threads, n) for n in range(4)]
        results = [future.result(timeout=60) for future in futures]
    finally:
        executor.close()
    assert [doubled for _, doubled, _ in results] == [0, 2, 4, 6]
    assert os.getpid() not in {pid for pid, _, _ in results}
    assert {threads for _, _, threads in results} == {"2"}


def test_a_killed_process_is_replaced_and_its_unit_run_again(tmp_path: Path) -> None:
    executor = LocalExecutor(LocalOptions(retries=2), Settings(training_processes=2))
    try:
        pid = executor.submit(units.die_once, str(tmp_path / "marker")).result(timeout=60)
        assert pid != int((tmp_path / "marker").read_text())  # a new process ran it
        with pytest.raises(BrokenProcessPool):
            executor.submit(units.die_always).result(timeout=60)
    finally:
        executor.close()

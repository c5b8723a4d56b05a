"""A real Dask cluster on 127.0.0.1 for the tests: ``dask scheduler`` and ``dask worker``s.

Each process is started by the test on free ports, without a nanny (a killed worker
stays dead, so its work must move to the other worker), with one thread, from the
repository root; :meth:`DaskCluster.stop` kills them all.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.serve_process import ROOT, free_port


def missing() -> str | None:
    """Why the Dask tests cannot run here, or None."""
    if importlib.util.find_spec("distributed") is None:
        return "distributed is not installed: pip install -e '.[test]' (or '.[dask]')"
    return None


@dataclass
class DaskCluster:
    """A running scheduler and its workers (by name)."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: Path = Path()

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> pid, as the scheduler knows them."""
        with self.client() as client:
            return {address: int(pid) for address, pid in client.run(os.getpid).items()}

    def kill_worker_running(self, prefix: str, timeout: float = 120.0) -> int:
        """SIGKILL the worker that runs a task whose key starts with ``prefix``; its pid."""
        pids = self.worker_pids()
        with self.client() as client:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for address, keys in client.processing().items():
                    if any(str(key).startswith(prefix) for key in keys):
                        os.kill(pids[address], signal.SIGKILL)
                        return pids[address]
                time.sleep(0.05)
        raise AssertionError(f"no task {prefix}* was seen running")

    def stop(self) -> None:
        for process in [*self.workers.values(), self.scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait()


def start(logs: Path, environ: Mapping[str, str], n_workers: int = 2) -> DaskCluster:
    """A scheduler and ``n_workers`` one-thread workers with ``environ``; waits for them."""
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _spawn(
        [*_cli("dask_scheduler"), "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        logs / "scheduler.log",
        env,
    )
    cluster = DaskCluster(address, scheduler, logs=logs)
    try:
        for index in range(n_workers):
            name = f"worker-{index}"
            command = [*_cli("dask_worker"), address, "--name", name, "--nthreads", "1"]
            command += ["--no-nanny", "--host", "127.0.0.1", "--no-dashboard"]
            cluster.workers[name] = _spawn(command, logs / f"{name}.log", env)
        _wait_for_workers(cluster, n_workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _cli(module: str) -> list[str]:
    return [sys.executable, "-m", f"distributed.cli.{module}"]


def _spawn(command: list[str], log: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=output, stderr=subprocess.STDOUT
        )


def _wait_for_workers(cluster: DaskCluster, n_workers: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with cluster.client() as client:
                client.wait_for_workers(n_workers, timeout=max(deadline - time.monotonic(), 1))
                return
        except (OSError, TimeoutError) as exc:
            if time.monotonic() > deadline or cluster.scheduler.poll() is not None:
                text = "\n".join(p.read_text()[-2000:] for p in cluster.logs.glob("*.log"))
                raise AssertionError(f"the Dask cluster did not start: {exc}\n{text}") from None
            time.sleep(0.2)

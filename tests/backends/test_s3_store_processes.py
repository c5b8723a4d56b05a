"""The ``s3`` store with real processes: a publisher SIGKILLed, two publishers racing, and
two processes of one host fetching the same version (``tests/support/s3_worker.py``).

Every process talks to moto's S3 server in its own process; the tests skip without moto.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlcore.serving.tenant_model import TenantModel
from mlcore.storage.names import version_order
from service.model_holder import ModelHolder
from tests.support.app_support import tiny_artifact
from tests.support.moto_s3 import CREDENTIALS, MotoS3, s3_store
from tests.support.serve_process import ROOT


class Worker:
    """One ``tests.support.s3_worker`` process; its stdout lines arrive in a queue."""

    def __init__(
        self, moto: MotoS3, bucket: str, cache: Path, log: Path, *args: str, barrier: str = ""
    ) -> None:
        env = {
            **os.environ,
            **CREDENTIALS,
            "S3_WORKER_OPTIONS": json.dumps(moto.options(bucket)),
            "S3_WORKER_CACHE": str(cache),
            "S3_WORKER_BARRIER": barrier,
        }
        self.log = log
        with open(log, "wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.s3_worker", *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def expect(self, word: str, timeout: float = 60.0) -> list[str]:
        """The next line starting with ``word`` (earlier lines are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AssertionError(f"no {word!r} line; stderr:\n{self.log.read_text()}") from None
            self.seen.append(line)
            if line.split()[0] == word:
                return line.split()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 180.0) -> int:
        """Wait for the process to end; every line it printed is then in ``seen``."""
        status = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return status


def check_seq_version(store: Any, version: str) -> tuple[str, int]:
    """Load a ``seq_artifact`` version (sha256-checked download); every array agrees."""
    artifact = store.load("0", version)
    seq, writer = int(artifact.manifest["seq"]), str(artifact.manifest["writer"])
    assert np.all(artifact.arrays["item_factors"] == seq), "arrays of two versions mixed"
    assert np.all(artifact.arrays["positives_indices"] == seq)
    assert set(artifact.arrays["user_ids"].tolist()) == {f"{writer}-{seq}"}
    return writer, seq


def test_publisher_killed_between_upload_and_pointer_move(aws_env: MotoS3, tmp_path: Path) -> None:
    bucket = aws_env.new_bucket()
    worker = Worker(aws_env, bucket, tmp_path / "trainer", tmp_path / "w.log", "publish-then-hang")
    published = worker.expect("published")[1]
    uploaded = worker.expect("uploaded")[1]
    worker.kill()
    assert worker.process.returncode == -signal.SIGKILL
    server = s3_store(aws_env.options(bucket), tmp_path / "server")
    assert server.current_version("0") == published
    assert server.versions("0") == [published, uploaded]  # complete, kept, not current
    model = ModelHolder(server, interval=0).models()["0"]
    assert model.version == published
    expected = TenantModel(tiny_artifact("0", seed=1))
    row = model.user_row("2")
    assert row is not None and row == expected.user_row("2")
    for component in ("container_course", "engage_article"):
        assert model.recommend(row, component, 3) == expected.recommend(row, component, 3)
    after = s3_store(aws_env.options(bucket), tmp_path / "trainer2").publish(
        "0", tiny_artifact("0", seed=3)
    )
    assert after > uploaded and server.current_version("0") == after


@pytest.mark.slow
def test_publisher_killed_at_random_moments_leaves_a_complete_current_version(
    aws_env: MotoS3, tmp_path: Path
) -> None:
    bucket = aws_env.new_bucket()
    rng = random.Random(20261127)
    loaded, outcomes = 0, {"previous": 0, "new": 0}
    for kill in range(8):
        log = tmp_path / f"w{kill}.log"
        worker = Worker(
            aws_env, bucket, tmp_path / "trainer", log, "publish-loop", "w", str(loaded), "0"
        )
        worker.expect("begin")
        time.sleep(rng.uniform(0.0, 0.6))
        worker.kill()
        begun = max(int(line.split()[1]) for line in worker.seen if line.startswith("begin"))
        store = s3_store({**aws_env.options(bucket), "verify": True}, tmp_path / f"host{kill}")
        current = store.current_version("0")
        seq = check_seq_version(store, current)[1] if current else 0
        assert seq in (begun - 1, begun), f"serving {seq}, the writer had begun {begun}"
        outcomes["new" if seq == begun else "previous"] += 1
        loaded = seq
    assert outcomes["previous"] > 0, outcomes  # kills landed inside publishes


OUTCOMES = ("done", "superseded")


def _watch_pointer(moto: MotoS3, bucket: str, stop: threading.Event, seen: list[str]) -> None:
    client = moto.client()
    while not stop.is_set():
        try:
            body = client.get_object(Bucket=bucket, Key="current/0")["Body"].read()
        except client.exceptions.NoSuchKey:
            continue
        version = body.decode().strip()
        if not seen or seen[-1] != version:
            seen.append(version)
        time.sleep(0.005)


def test_two_racing_publishers_never_interleave_or_lose_a_pointer_move(
    aws_env: MotoS3, tmp_path: Path
) -> None:
    # On a busy machine two processes may happen to take turns; the invariants are checked
    # every round, and the rounds go on (at most three) until the publishers did collide.
    contended = 0
    for n in range(3):
        contended += _race_round(aws_env, tmp_path / f"round{n}")
        if contended:
            break
    assert contended > 0, "the publishers never raced in three rounds"


def _race_round(aws_env: MotoS3, tmp_path: Path) -> int:
    """Two publishers of 10 versions each; checks the invariants; returns the collisions."""
    tmp_path.mkdir()
    bucket = aws_env.new_bucket()
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=_watch_pointer, args=(aws_env, bucket, stop, seen))
    watcher.start()
    barrier = tmp_path / "go"
    try:
        workers = [
            Worker(
                aws_env,
                bucket,
                tmp_path / name,
                tmp_path / f"{name}.log",
                "publish-loop",
                name,
                str(first),
                "10",
                barrier=str(barrier),
            )
            for name, first in (("a", 0), ("b", 1000))
        ]
        for worker in workers:
            worker.expect("ready")
        barrier.touch()
        for worker in workers:
            assert worker.finish() == 0, worker.log.read_text()
    finally:
        stop.set()
        watcher.join()
    results = [line.split() for w in workers for line in w.seen if line.split()[0] in OUTCOMES]
    assert len(results) == 20
    versions = {r[2]: int(r[1]) for r in results}
    assert len(versions) == 20, "two publishes got the same version id"
    store = s3_store(aws_env.options(bucket), tmp_path / "server")
    for version, seq in versions.items():
        assert check_seq_version(store, version)[1] == seq
    assert seen == sorted(seen, key=version_order), "the pointer went back: a move was lost"
    assert store.current_version("0") == max(versions)
    superseded = sum(r[0] == "superseded" for r in results)
    logs = "".join(w.log.read_text() for w in workers)
    contended = logs.count("pointer moved meanwhile") + logs.count("was taken by another")
    return superseded + contended


def test_two_processes_of_a_host_fetch_a_version_once(aws_env: MotoS3, tmp_path: Path) -> None:
    bucket = aws_env.new_bucket()
    big = tiny_artifact("0")
    factors = np.arange(400_000 * 16, dtype=np.float32).reshape(400_000, 16)
    version = s3_store(aws_env.options(bucket), tmp_path / "trainer").publish(
        "0", type(big)(big.manifest, {**big.arrays, "item_factors": factors})
    )
    cache, barrier = tmp_path / "host", tmp_path / "go"
    workers = [
        Worker(aws_env, bucket, cache, tmp_path / f"{i}.log", "load", version, str(barrier))
        for i in range(2)
    ]
    for worker in workers:
        worker.expect("ready")
    barrier.touch()
    reports = [json.loads(_json_line(worker)) for worker in workers]
    assert sum(r["copied"] for r in reports) == 1
    assert reports[0]["inode"] == reports[1]["inode"]
    assert {r["sum"] for r in reports} == {float(factors.sum(dtype=np.float64))}
    tenant = cache / "tenants" / "0"
    assert sorted(p.name for p in (tenant / "versions").iterdir()) == [version]
    assert not list(tenant.glob(".download-*"))


def _json_line(worker: Worker, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = worker.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        worker.seen.append(line)
        if line.startswith("{"):
            return line

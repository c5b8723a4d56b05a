"""The whole scale-out path: ``mlservice train`` with ``ML_EXECUTOR=dask ML_MODEL_STORE=s3``
trains the demo export on a real Dask cluster (scheduler + two workers) into moto's S3
server, and two ``mlservice serve`` hosts with their own cache folders answer the same
``/user-items`` from it; a new version reaches both. Skips without distributed or moto.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.demo.export import DemoConfig, write_demo_export
from tests.cli.test_serve_s3 import signed_get
from tests.support import dask_cluster
from tests.support.app_support import KEY
from tests.support.moto_s3 import CREDENTIALS, SECRET_KEY, MotoS3
from tests.support.serve_process import (
    ROOT,
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)

pytestmark = pytest.mark.slow
QUERIES = [
    f"/user-items?totara_user_id={u}&item_type=container_course&tenant=0&n_items=5"
    for u in (2, 40, 77, 150)
]


@pytest.fixture
def cluster(tmp_path: Path, aws_env: MotoS3) -> Iterator[dask_cluster.DaskCluster]:
    reason = dask_cluster.missing()
    if reason:
        pytest.skip(reason)
    running = dask_cluster.start(tmp_path / "dask", CREDENTIALS)  # workers publish to S3
    try:
        yield running
    finally:
        running.stop()


def _train(tmp_path: Path, environ: dict[str, str], seed: int) -> str:
    env = {**environ, "ML_SEED": str(seed), "ML_MODELS_DIR": str(tmp_path / "trainer")}
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "train", "--data-dir", str(tmp_path / "export")]
        + ["--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert SECRET_KEY not in done.stdout + done.stderr
    return done.stdout


def _answers(base: str) -> list[object]:
    return [signed_get(base, query).json() for query in QUERIES]


def _both_moved_on(bases: list[str], first: list[object]) -> bool:
    """Both hosts answer alike, and not as they did before the new version."""
    one, other = (_answers(base) for base in bases)
    return one == other and one != first


def test_dask_training_into_s3_serves_the_same_answers_on_two_hosts(
    cluster: dask_cluster.DaskCluster, aws_env: MotoS3, tmp_path: Path
) -> None:
    config = DemoConfig(tenants=2, users=200, items=60, interactions=3000, now=1_760_000_000)
    write_demo_export(tmp_path / "export", config)
    bucket = aws_env.new_bucket()
    store = {"ML_MODEL_STORE": "s3", "ML_MODEL_STORE_OPTIONS": json.dumps(aws_env.options(bucket))}
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ |= {**CREDENTIALS, **store, "ML_TUNING_TRIALS": "3", "ML_EXECUTOR": "dask"}
    environ |= {"ML_EXECUTOR_OPTIONS": json.dumps({"address": cluster.address})}
    environ["ML_LOGS_DIR"] = str(tmp_path / "logs")
    assert "success" in _train(tmp_path, environ, seed=1)
    hosts = []
    try:
        for name in ("a", "b"):
            port = free_port()
            env = serve_environ(tmp_path / name, port, KEY, **CREDENTIALS, **store)
            log = tmp_path / f"serve-{name}.log"
            hosts.append((f"http://127.0.0.1:{port}", start_serve(log, env, "--no-trainer"), log))
        for base, process, log in hosts:
            wait_until_serving(base, process, log)
        first = _answers(hosts[0][0])
        assert all(len(answer["items"]) == 5 for answer in first)  # type: ignore[index]
        assert _answers(hosts[1][0]) == first
        _train(tmp_path, environ, seed=2)  # a new version, from other seeds
        deadline = time.monotonic() + 60
        while not _both_moved_on([base for base, _, _ in hosts], first):
            assert time.monotonic() < deadline, "the new version did not reach both hosts"
            time.sleep(0.5)
        versions = {signed_get(base, "/health-check").json()["totara"]["model_version_0"]
                    for base, _, _ in hosts}  # fmt: skip
        assert len(versions) == 1
    finally:
        for _, process, _ in hosts:
            stop_serve(process, grace=15)
    for name in ("a", "b"):
        assert (tmp_path / name / "models" / "s3-cache" / bucket).is_dir()  # its own cache

"""Events accepted by ``POST /interactions`` survive a ``kill -9`` of the whole service and
are folded in by the next refresh."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import requests

from mlcore.configured import configured_plugins
from mlcore.serving.tenant_model import TenantModel
from service.refresh_run import run_refresh
from tests.support.app_support import totara_headers
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)
from tests.support.training_support import KEY, export_settings, train, write_small_export

pytestmark = pytest.mark.slow


def test_accepted_events_survive_kill_9_and_reach_the_next_refresh(tmp_path: Path) -> None:
    folder = write_small_export(tmp_path / "export")
    settings = export_settings(folder, tmp_path, ML_RECOMMENDER="implicit-als", ML_BLEND="off")
    train(settings)
    store = configured_plugins(settings).model_store()
    before = store.current_version("0")
    model = TenantModel(store.load("0"))
    items = [r.item_id for r in model.popular("container_course", 5)]
    port = free_port()
    environ = serve_environ(
        tmp_path,
        port,
        KEY,
        ML_DATA_DIR=str(folder),
        ML_EVENT_INTAKE="1",
        ML_REFRESH_INTERVAL="0",
        ML_RECOMMENDER="implicit-als",
    )
    process = start_serve(tmp_path / "serve.log", environ)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, process, tmp_path / "serve.log")
        body = "\n".join(
            json.dumps(
                {
                    "tenant": "0",
                    "user_id": "killed-9",
                    "item_id": item,
                    "rating": 1,
                    "timestamp": 1_700_000_000 + n,
                }
            )
            for n, item in enumerate(items)
        )
        answer = requests.post(
            f"{base}/interactions", data=body, headers=totara_headers(KEY, time.time()), timeout=10
        )
        assert answer.status_code == 202, answer.text
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        stop_serve(process)
    assert store.current_version("0") == before  # nothing was refreshed before the kill
    outcomes = {o.tenant: o for o in run_refresh(settings)}
    assert outcomes["0"].status == "published", outcomes["0"].message
    model = TenantModel(store.load("0"))
    row = model.user_row("killed-9")
    assert row is not None
    listed = [r.item_id for r in model.recommend(row, "container_course", 20)]
    assert not set(listed) & set(items)

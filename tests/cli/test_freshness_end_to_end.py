"""Issue 13's acceptance, end to end: ``mlservice serve`` with ``ML_REFRESH_INTERVAL`` over
the export folder shows new activity in ``/user-items`` without a full retrain.

A learner's new interactions appended to the export leave their list, and a brand-new
learner with five interactions gets a personalised list (not the unknown-user popularity
fallback), each within 60 s, over real HTTP on 127.0.0.1. The time limit is the issue's
functional bound, not a speed measurement (``benchmarks/freshness_benchmark.py`` measures).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.totara.token import signed_headers
from tests.support.export_rows import append_rows
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)
from tests.support.training_support import KEY, export_settings, train

pytestmark = pytest.mark.slow
LIMIT = 60.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A trained tenant served with refreshes every 2 s; (base URL, export folder)."""
    export = tmp_path / "export"
    config = DemoConfig(tenants=1, users=200, items=40, interactions=3000, now=1_700_000_000)
    write_demo_export(export, config)
    backend = {"ML_RECOMMENDER": "implicit-als", "ML_BLEND": "off"}
    (outcome,) = train(export_settings(export, tmp_path, **backend))
    assert outcome.version is not None and outcome.promoted == "implicit-als", outcome.message
    port = free_port()
    environ = serve_environ(
        tmp_path, port, KEY, ML_DATA_DIR=str(export), ML_REFRESH_INTERVAL="2", **backend
    )
    log = tmp_path / "serve.log"
    process = start_serve(log, environ)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, process, log)
        yield base, export
    finally:
        stop_serve(process)


def user_items(base: str, user: str) -> list[str]:
    """The learner's courses as the export names them (``/user-items`` answers bare ids)."""
    answer = requests.get(
        f"{base}/user-items",
        params={"tenant": "0", "totara_user_id": user, "item_type": "container_course"}
        | {"n_items": 10},
        headers=signed_headers(KEY, time.time),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return [f"container_course{item[0]}" for item in answer.json()["items"]]


def within_limit(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_new_interactions_in_the_export_leave_the_learners_list(served: tuple[str, Path]) -> None:
    base, export = served
    top = user_items(base, "5")[:3]
    assert len(top) == 3
    rows = [["5", item, "1", str(1_800_000_000 + n)] for n, item in enumerate(top)]
    append_rows(export / "user_interactions_0.csv", rows)
    assert within_limit(lambda: not set(user_items(base, "5")) & set(top))


def test_a_brand_new_learner_gets_a_personalised_list(served: tuple[str, Path]) -> None:
    base, export = served
    fallback = user_items(base, "brand-new")  # unknown: the popularity fallback
    taken = fallback[:5]
    with open(export / "user_data_0.csv", encoding="utf-8") as handle:
        width = len(next(csv.reader(handle)))
    append_rows(export / "user_data_0.csv", [["brand-new", *([""] * (width - 1))]])
    rows = [["brand-new", item, "1", str(1_800_000_000 + n)] for n, item in enumerate(taken)]
    append_rows(export / "user_interactions_0.csv", rows)
    assert within_limit(lambda: not set(user_items(base, "brand-new")) & set(taken))
    assert user_items(base, "brand-new") != fallback

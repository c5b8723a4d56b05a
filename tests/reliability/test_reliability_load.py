"""Concurrent clients on 127.0.0.1 while models are swapped: zero failed requests.

``mlservice serve`` (gunicorn, 2 workers) serves two tenants; six client threads send
signed ``/user-items`` and ``/similar-items`` requests, each on a new connection like
Totara's, for 6 s, while three new versions are published (two tenants at 2 s, one at
4 s). Every answer must be HTTP 200 ``success: true`` and equal to the in-process app's
answer for one of that tenant's versions (never a mix), and the newest versions must be
served before the end. Throughput and p99 are printed, not asserted; the longer run is
``benchmarks/load_benchmark.py`` (numbers in ``benchmarks/README.md``).

``test_serve_gunicorn.py::test_model_swap_under_load_loses_no_request`` checks one swap
of one query with keep-alive sessions; this one covers several swaps, tenants, both
item endpoints and connection-per-request clients.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import falcon.testing
import pytest

from benchmarks.load_benchmark import free_port, run_load, start_service, stop_service
from mlcore.config import Settings
from mlcore.interfaces import ModelArtifact
from mlcore.totara.token import make_token
from plugins.filesystem_store.store import FilesystemModelStore
from service.app import create_app
from tests.support.app_support import tiny_artifact
from tests.support.memory_store import MemoryModelStore

KEY = "load-Key-9090"
SECONDS = 6.0
VERSIONS = {"0": [0, 10], "3": [3, 77, 78]}  # seeds of each tenant's versions, in order
PATHS = [
    f"/user-items?totara_user_id={user}&item_type={kind}&tenant={tenant}&n_items=10"
    for tenant in VERSIONS
    for user in (2, 7, 424242)
    for kind in ("engage_article", "container_course", "totara_playlist")
] + [
    f"/similar-items?totara_item_id={item}&tenant={tenant}&n_items=5"
    for tenant in VERSIONS
    for item in ("engage_article2", "container_workspace1", "engage_article103")
]


def _tenant(path: str) -> str:
    return path.split("tenant=")[1].split("&")[0]


def expected_answers(artifact: ModelArtifact, tenant: str) -> dict[str, object]:
    """The in-process app's answer to every path of ``tenant`` with this version."""
    store = MemoryModelStore()
    store.publish(tenant, artifact)
    client = falcon.testing.TestClient(create_app(Settings(totara_key=KEY), store))
    now = str(int(time.time()))
    headers = {"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, KEY)}
    answers = {}
    for path in PATHS:
        if _tenant(path) == tenant:
            route, query = path.split("?")
            answers[path] = client.simulate_get(route, query_string=query, headers=headers).json
    return answers


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, FilesystemModelStore]]:
    tmp = tmp_path_factory.mktemp("load")
    store = FilesystemModelStore(tmp / "models")
    for tenant, seeds in VERSIONS.items():
        store.publish(tenant, tiny_artifact(tenant, seed=seeds[0]))
    port = free_port()
    process = start_service(tmp / "models", tmp / "logs", port, KEY, workers=2, reload_interval=0.2)
    try:
        yield port, store
    finally:
        stop_service(process)


def test_swaps_under_concurrent_load_lose_no_request(
    served: tuple[int, FilesystemModelStore],
) -> None:
    port, store = served
    artifacts = {t: [tiny_artifact(t, seed=s) for s in seeds] for t, seeds in VERSIONS.items()}
    allowed: dict[str, list[object]] = {path: [] for path in PATHS}
    for tenant, versions in artifacts.items():
        for artifact in versions:
            for path, answer in expected_answers(artifact, tenant).items():
                allowed[path].append(answer)
    newest = {path: answers[-1] for path, answers in allowed.items()}
    for tenant, seeds in VERSIONS.items():  # versions are told apart by their answers
        distinct = [len({json.dumps(a) for a in allowed[p]}) for p in PATHS if _tenant(p) == tenant]
        assert max(distinct) == len(seeds)

    events = [
        (SECONDS / 3, lambda: store.publish("0", artifacts["0"][1])),
        (SECONDS / 3, lambda: store.publish("3", artifacts["3"][1])),
        (2 * SECONDS / 3, lambda: store.publish("3", artifacts["3"][2])),
    ]
    result = run_load(port, KEY, PATHS, clients=6, seconds=SECONDS, events=events)

    assert result.failures == []
    assert result.requests > 50
    seen_newest = set()
    for index, body in result.answers:
        path = PATHS[index]
        answer = json.loads(body)
        assert answer in allowed[path], path
        if answer == newest[path]:
            seen_newest.add(_tenant(path))
    assert seen_newest == set(VERSIONS)
    print(
        f"{result.requests} requests in {result.seconds:.1f} s, {result.throughput:.0f}/s, "
        f"p50 {result.percentile_ms(50):.1f} ms, p99 {result.percentile_ms(99):.1f} ms, 0 failed"
    )

"""Broken model versions: workers fall back, never serve garbage (issue 14, items 3 and 8).

"The previous model keeps serving" used to hold only for a worker that was already
running: a freshly started worker whose tenant's current version was broken answered
"no such tenant", and a version whose arrays disagreed (rows, NaN) was served as 500s
or empty lists. Now every worker loads the newest kept version that loads and passes
the serving kind's check, logs it and reports it in the health check; the store checks
every file's size against its ``.npy`` header before mapping it (a file changed in
place is refused, never mapped) and publishes files read-only; ``mlservice models list``
lists every tenant even when one current version is broken.

One end-to-end case runs ``mlservice serve`` (2 workers), truncates the current ``.npy``
in place (the workers die of SIGBUS on their next access, gunicorn restarts them) and
checks that the restarted workers serve the kept version.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import falcon.testing
import numpy as np
import pytest
import requests

import mlcore.storage.version_folder
from mlcore.config import Settings
from mlcore.errors import ModelStoreError
from mlcore.totara.token import make_token
from plugins.filesystem_store.store import FilesystemModelStore
from service.app import create_app
from service.cli import main as cli_main
from service.model_holder import ModelHolder
from tests.support.app_support import KEY, signed_get, tiny_artifact
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)

QUERIES = [
    f"totara_user_id={user}&item_type={kind}&tenant=0&n_items=5"
    for user in (2, 7, 13)
    for kind in ("container_course", "engage_article")
]


def _store(tmp_path: Path, dim: int = 4) -> tuple[FilesystemModelStore, str, str]:
    """Tenant 0 with an old (v1) and a current (v2) version, tenant 1 with one."""
    store = FilesystemModelStore(tmp_path / "models")
    old = store.publish("0", tiny_artifact("0", seed=0, dim=dim))
    current = store.publish("0", tiny_artifact("0", seed=1, dim=dim))
    store.publish("1", tiny_artifact("1", seed=2, dim=dim))
    return store, old, current


def _answers(store: FilesystemModelStore) -> list[object]:
    client = falcon.testing.TestClient(create_app(Settings(totara_key=KEY), store))
    return [signed_get(client, "/user-items", query) for query in QUERIES]


def _version_dir(store: FilesystemModelStore, version: str) -> Path:
    return store.root / "tenants" / "0" / "versions" / version


def _writable(path: Path) -> Path:
    path.chmod(0o644)  # published files are read-only
    return path


def _truncate(store: FilesystemModelStore, version: str) -> None:
    path = _writable(_version_dir(store, version) / "user_factors.npy")
    os.truncate(path, path.stat().st_size // 2)


def _extend(store: FilesystemModelStore, version: str) -> None:
    with open(_writable(_version_dir(store, version) / "item_bias.npy"), "ab") as handle:
        handle.write(b"\0" * 64)


def _delete(store: FilesystemModelStore, version: str) -> None:
    (_version_dir(store, version) / "item_factors.npy").unlink()


def _bad_manifest(store: FilesystemModelStore, version: str) -> None:
    _writable(_version_dir(store, version) / "manifest.json").write_text("{not json")


def _nan_in_place(store: FilesystemModelStore, version: str) -> None:
    """NaN written over the item factors' data, size and header unchanged."""
    path = _writable(_version_dir(store, version) / "item_factors.npy")
    array = np.load(path, mmap_mode="r+")
    array[1, 0] = np.nan
    array.flush()
    del array


def _rows_disagree(store: FilesystemModelStore, version: str) -> None:
    """The user factors rewritten with two rows fewer than the user ids, manifest to match
    (every file agrees with its manifest entry; the arrays disagree with each other)."""
    folder = _version_dir(store, version)
    manifest_path = _writable(folder / "manifest.json")
    manifest = json.loads(manifest_path.read_text())
    for name in ("user_factors", "user_bias"):
        path = _writable(folder / f"{name}.npy")
        array = np.load(path)[:-2]
        path.unlink()
        written = mlcore.storage.version_folder.write_array(path, array)
        manifest["files"][name] = mlcore.storage.version_folder.array_entry(name, written)
    manifest_path.write_text(json.dumps(manifest))


BREAKAGES: dict[str, tuple[Callable[[FilesystemModelStore, str], None], str]] = {
    "truncated in place": (_truncate, "user_factors.npy is"),
    "extended in place": (_extend, "item_bias.npy is"),
    "missing array": (_delete, "item_factors.npy is missing"),
    "bad manifest": (_bad_manifest, "bad manifest.json"),
    "NaN in the factors": (_nan_in_place, "item_factors contains NaN"),
    "rows disagree": (_rows_disagree, "user_factors has 10 rows, expected 12"),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_a_fresh_worker_serves_the_newest_kept_version_that_loads_and_checks(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, old, current = _store(tmp_path)
    (FilesystemModelStore(tmp_path / "old")).publish("0", store.load("0", old))
    expected = _answers(FilesystemModelStore(tmp_path / "old"))
    breaker, reason = BREAKAGES[name]
    breaker(store, current)
    broken = store.current_version("0")
    with caplog.at_level(logging.WARNING, logger="service.model_holder"):
        models = ModelHolder(store).models()  # a newly started worker
    assert models["0"].version == old  # "no such tenant" / served broken before the fix
    assert models["1"].version == store.current_version("1")
    assert f"tenant 0: current version {broken} cannot be served" in caplog.text
    assert reason in caplog.text and f"serving kept version {old}" in caplog.text
    assert _answers(store) == expected
    client = falcon.testing.TestClient(create_app(Settings(totara_key=KEY), store))
    block = signed_get(client, "/health-check")["totara"]
    assert block["model_version_0"] == old
    assert block["model_fallback_0"].startswith(f"current version {broken} cannot be served: ")
    assert reason in block["model_fallback_0"]
    assert "model_fallback_1" not in block


def test_a_running_worker_keeps_its_model_and_a_tenant_without_any_good_version_is_absent(
    tmp_path: Path,
) -> None:
    store, old, current = _store(tmp_path)
    holder = ModelHolder(store, interval=0)
    assert holder.models()["0"].version == current
    broken = store.publish("0", store.load("0", current))
    _rows_disagree(store, broken)  # a new current version, broken
    assert holder.models()["0"].version == current
    for version in store.versions("0"):
        (_version_dir(store, version) / "item_factors.npy").unlink()
    assert "0" not in ModelHolder(store).models()  # nothing to fall back to
    assert "1" in ModelHolder(store).models()


def test_sizes_are_verified_before_a_file_is_mapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _old, current = _store(tmp_path)
    _truncate(store, current)
    mapped: list[str] = []
    real_load = np.load

    def spy(path: object, *args: object, **kwargs: object) -> object:
        mapped.append(Path(str(path)).name)
        return real_load(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mlcore.storage.version_folder.np, "load", spy)
    with pytest.raises(ModelStoreError) as raised:
        store.load("0", current)
    assert "user_factors.npy is" in str(raised.value)
    assert "published files are never changed" in str(raised.value)
    assert "user_factors.npy" not in mapped


def test_published_files_are_read_only(tmp_path: Path) -> None:
    store, _old, current = _store(tmp_path)
    files = list(_version_dir(store, current).iterdir())
    assert {path.suffix for path in files} == {".npy", ".json"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, path


def test_models_list_shows_every_tenant_even_with_a_broken_current_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, _old, current = _store(tmp_path)
    _bad_manifest(store, current)
    status = cli_main(["models", "list", "--models-dir", str(store.root)])
    out = capsys.readouterr().out
    rows = out.splitlines()
    header = next(i for i, row in enumerate(rows) if row.startswith("tenant "))
    table = rows[header + 1 :]
    lines = {line.split()[0]: line for line in table}
    assert set(lines) == {"0", "1"}, out  # aborted with exit 2 before the fix
    assert "BROKEN: " in lines["0"] and "bad manifest.json" in lines["0"]
    assert "success" in lines["1"]
    assert status == 1


@pytest.mark.slow
def test_workers_restarted_after_an_in_place_truncation_serve_the_kept_version(
    tmp_path: Path,
) -> None:
    """The issue's case: SIGBUS kills the workers; their replacements must not say
    "no such tenant" (6 good and 4 failed of 10 probes before the fix)."""
    store, old, current = _store(tmp_path, dim=1024)  # a user's row spans a page
    (FilesystemModelStore(tmp_path / "old")).publish("0", store.load("0", old))
    expected = _answers(FilesystemModelStore(tmp_path / "old"))
    port = free_port()
    environ = serve_environ(tmp_path, port, KEY)
    process = start_serve(tmp_path / "serve.log", environ, "--no-trainer")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, tmp_path / "serve.log")
        path = _version_dir(store, current) / "user_factors.npy"
        os.truncate(_writable(path), 128)  # the header only: every row is gone
        answers = [_probe(base, QUERIES[i % len(QUERIES)]) for i in range(40)]
    finally:
        stop_serve(process)
    settled = answers[10:]  # the first probes may meet a dying worker
    assert all(a is not None and a["success"] is True for a in settled), answers
    for index, answer in enumerate(answers[10:], start=10):
        assert answer == expected[index % len(QUERIES)]
    log = (tmp_path / "serve.log").read_text()
    assert "SIGBUS" in log  # the workers that had the file mapped died
    assert f"serving kept version {old}" in log


def _probe(base: str, query: str) -> dict[str, object] | None:
    now = str(int(time.time()))
    headers = {"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, KEY)}
    try:
        answer = requests.get(f"{base}/user-items?{query}", headers=headers, timeout=5)
    except requests.RequestException:
        time.sleep(0.3)
        return None
    body = answer.json()
    return body if isinstance(body, dict) else None

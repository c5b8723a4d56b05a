"""The ``s3`` model store against moto's S3 server: options, layout, cache, conditional
writes, abandoned uploads, errors and secrets.

What every store must do is in ``tests/contracts/test_model_store_contract.py``; killed
and racing processes are in ``test_s3_store_processes.py``. moto runs in its own process
(``tests/support/moto_s3.py``); these tests skip when moto or boto3 is not installed.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.errors import ConfigError, ModelNotFoundError, ModelStoreError
from mlcore.interfaces import ChangeTracking, ModelArtifact, ModelStore
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from tests.contracts.model_store_contract import artifact
from tests.support.moto_s3 import SECRET_KEY, MotoS3, s3_store
from tests.support.serve_process import free_port


@pytest.fixture
def bucket(aws_env: MotoS3) -> str:
    return aws_env.new_bucket()


def host(aws_env: MotoS3, bucket: str, folder: Path, **options: Any) -> Any:
    keep = options.pop("keep_versions", 5)
    return s3_store(aws_env.options(bucket, **options), folder, keep_versions=keep)


def keys(aws_env: MotoS3, bucket: str) -> dict[str, bytes]:
    client = aws_env.client()
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_options_are_checked_and_the_cache_defaults_under_models_dir(
    aws_env: MotoS3, tmp_path: Path
) -> None:
    registry = Registry(make_plugin_manager())
    settings = Settings(models_dir=tmp_path / "models", keep_versions=4)
    with pytest.raises(ConfigError, match="needs a bucket"):
        registry.create("model store", "s3", {}, settings=settings)
    with pytest.raises(ConfigError, match="prefix"):
        registry.create("model store", "s3", {"bucket": "b", "prefix": "a/../x"}, settings=settings)
    options = {"bucket": "my-bucket", "prefix": "/ml/prod/", "endpoint_url": aws_env.endpoint}
    store = registry.create("model store", "s3", options, settings=settings)
    assert isinstance(store, ModelStore) and isinstance(store, ChangeTracking)
    assert store.cache.root == tmp_path / "models" / "s3-cache" / "my-bucket" / "ml" / "prod"
    assert store.keep_versions == store.cache.keep_versions == 4
    assert store.bucket.prefix == "ml/prod/"
    assert "s3://my-bucket/ml/prod/" in store.describe()


def test_bucket_layout_pointer_and_published_copy(
    aws_env: MotoS3, bucket: str, tmp_path: Path
) -> None:
    store = host(aws_env, bucket, tmp_path / "trainer", prefix="svc/prod")
    first = store.publish("0", artifact(1))
    second = store.publish("0", artifact(2))
    stored = keys(aws_env, bucket)
    assert stored["svc/prod/current/0"] == f"{second}\n".encode()
    assert second in stored["svc/prod/generation"].decode()
    for version in (first, second):
        folder = f"svc/prod/tenants/0/versions/{version}/"
        names = {k[len(folder) :] for k in stored if k.startswith(folder)}
        assert names == {"claim", "manifest.json"} | {f"{n}.npy" for n in artifact().arrays}
        assert json.loads(stored[folder + "manifest.json"])["version"] == version
    # The publishing host kept its upload as the cached copy: no download needed.
    cached = store.cache.folder("0", second)
    assert (cached / "manifest.json").read_bytes() == stored[
        f"svc/prod/tenants/0/versions/{second}/manifest.json"
    ]
    assert store.cache.cached_versions("0") == [first, second]


def test_a_corrupt_or_missing_object_is_refused_and_nothing_is_cached(
    aws_env: MotoS3, bucket: str, tmp_path: Path
) -> None:
    version = host(aws_env, bucket, tmp_path / "trainer").publish("0", artifact(3))
    client = aws_env.client()
    key = f"tenants/0/versions/{version}/item_factors.npy"
    data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[-1] ^= 0xFF
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    reader = host(aws_env, bucket, tmp_path / "server")
    with pytest.raises(ModelStoreError, match=r"item_factors.npy is corrupt \(sha256 differs\)"):
        reader.load("0")
    client.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ModelStoreError, match="item_factors.npy"):
        reader.load("0")
    tenant_dir = tmp_path / "server" / "tenants" / "0"
    assert reader.cache.cached_versions("0") == []
    assert not list(tenant_dir.glob(".download-*"))
    newer = host(aws_env, bucket, tmp_path / "trainer").publish("0", artifact(4))
    assert reader.load("0").manifest["version"] == newer


def test_the_service_refuses_stale_conditional_writes(
    aws_env: MotoS3, bucket: str, tmp_path: Path
) -> None:
    from plugins.s3_store.bucket import ConditionFailed

    objects = host(aws_env, bucket, tmp_path).bucket
    old = objects.put("current/9", b"a\n", if_none_match=True)
    with pytest.raises(ConditionFailed):
        objects.put("current/9", b"b\n", if_none_match=True)
    new = objects.put("current/9", b"b\n", if_match=old)
    with pytest.raises(ConditionFailed):
        objects.put("current/9", b"c\n", if_match=old)
    assert objects.get("current/9").body == b"b\n" and objects.get("current/9").etag == new


def _before_pointer_write(store: Any, monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    """Run ``action`` once, after ``store`` read the pointer and before it writes it."""
    real_put = store.bucket.put
    fired: list[bool] = []

    def put(key: str, body: bytes, **conditions: Any) -> str:
        if key == "current/0" and not fired:
            fired.append(True)
            action()
        return real_put(key, body, **conditions)

    monkeypatch.setattr(store.bucket, "put", put)


def test_a_pointer_moved_meanwhile_is_read_again_and_never_overwritten_blindly(
    aws_env: MotoS3, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    a, b = host(aws_env, bucket, tmp_path / "a"), host(aws_env, bucket, tmp_path / "b")
    first = b.publish("0", artifact(1))
    b.publish("0", artifact(2))
    # A reads the pointer, B rolls back, A's write (If-Match on the old ETag) is refused;
    # A reads again: the rollback target is older, so A's newer version becomes current.
    _before_pointer_write(a, monkeypatch, lambda: b.rollback("0", first))
    with caplog.at_level(logging.INFO, logger="plugins.s3_store"):
        newest = a.publish("0", artifact(3))
    assert "the current pointer moved meanwhile" in caplog.text
    assert b.current_version("0") == newest and b.load("0").manifest["value"] == 3


def test_a_newer_version_made_current_meanwhile_stays_current(
    aws_env: MotoS3, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.s3_store.store import PublishSuperseded

    a, b = host(aws_env, bucket, tmp_path / "a"), host(aws_env, bucket, tmp_path / "b")
    b.publish("0", artifact(1))
    newer: list[str] = []
    # A has claimed and uploaded its version; B claims a later id and publishes it whole.
    _before_pointer_write(a, monkeypatch, lambda: newer.append(b.publish("0", artifact(5))))
    with pytest.raises(PublishSuperseded, match="stays current") as raised:
        a.publish("0", artifact(4))
    assert raised.value.version < newer[0]
    assert b.current_version("0") == newer[0]
    assert raised.value.version in b.versions("0")  # complete and kept, only not current


def test_a_service_ignoring_conditional_writes_is_refused_before_uploading(
    aws_env: MotoS3, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = host(aws_env, bucket, tmp_path)
    real_put = store.bucket.put
    monkeypatch.setattr(store.bucket, "put", lambda key, body, **_: real_put(key, body))
    with pytest.raises(ModelStoreError, match=r"ignores conditional writes \(If-None-Match"):
        store.publish("0", artifact())
    assert store.tenants() == [] and store.versions("0") == []
    assert set(keys(aws_env, bucket)) == {"conditional-write-probe"}


def test_abandoned_uploads_are_ignored_then_removed_after_an_hour(
    aws_env: MotoS3, bucket: str, tmp_path: Path
) -> None:
    store = host(aws_env, bucket, tmp_path)
    kept = store.publish("0", artifact(1))
    abandoned = "20991231T000000Z-000050"
    client = aws_env.client()
    for name in ("claim", "item_factors.npy"):
        client.put_object(Bucket=bucket, Key=f"tenants/0/versions/{abandoned}/{name}", Body=b"x")
    assert store.versions("0") == [kept]
    after = store.publish("0", artifact(2))
    assert after.endswith("-000051")  # the abandoned id stays taken
    assert any(abandoned in key for key in keys(aws_env, bucket))  # younger than an hour
    later = host(aws_env, bucket, tmp_path)
    later.clock = lambda: time.time() + 7200
    later.publish("0", artifact(3))
    assert not any(abandoned in key for key in keys(aws_env, bucket))
    assert later.versions("0")[:2] == [kept, after]


def test_the_cache_keeps_the_newest_versions_and_the_one_in_use(
    aws_env: MotoS3, bucket: str, tmp_path: Path
) -> None:
    writer = host(aws_env, bucket, tmp_path / "trainer", keep_versions=10)
    ids = [writer.publish("0", artifact(i)) for i in range(5)]
    server = host(aws_env, bucket, tmp_path / "server", keep_versions=2)
    for version in ids:
        server.load("0", version)
    assert server.cache.cached_versions("0") == ids[-2:]
    old = server.load("0", ids[0])  # a rollback target is fetched again and kept
    assert server.cache.cached_versions("0") == [ids[0], *ids[-2:]]
    np.testing.assert_array_equal(old.arrays["item_factors"], np.zeros((4, 3)))


def test_errors_name_the_bucket_and_never_a_secret(
    aws_env: MotoS3, bucket: str, tmp_path: Path, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore's debug logging too
    store = host(aws_env, bucket, tmp_path / "a")
    first = store.publish("0", artifact(1))
    store.publish("0", artifact(2))
    host(aws_env, bucket, tmp_path / "b").load("0")
    store.rollback("0", first)
    missing = host(aws_env, "no-such-bucket-here", tmp_path / "c")
    with pytest.raises(ModelStoreError, match="no-such-bucket-here.*NoSuchBucket") as raised:
        missing.tenants()
    with pytest.raises(ModelNotFoundError):
        host(aws_env, bucket, tmp_path / "d").load("7")
    texts = [caplog.text, str(raised.value), repr(store), store.describe()]
    assert "copied into the local cache" in caplog.text and "published" in caplog.text
    assert all(SECRET_KEY not in text for text in texts)


def test_manifest_only_versions_and_unknown_versions(
    aws_env: MotoS3, bucket: str, tmp_path: Path
) -> None:
    store = host(aws_env, bucket, tmp_path / "a")
    version = store.publish("4", ModelArtifact(manifest={"message": "too small"}))
    assert host(aws_env, bucket, tmp_path / "b").load("4", version).arrays == {}
    with pytest.raises(ModelNotFoundError, match="no version"):
        host(aws_env, bucket, tmp_path / "c").load("4", "20990101T000000Z-000001")
    with pytest.raises(ModelNotFoundError, match="not a version id"):
        store.load("4", "../../x")


def test_a_host_serves_what_it_last_knew_while_s3_is_unreachable(
    aws_env: MotoS3, bucket: str, tmp_path: Path, caplog: Any
) -> None:
    from service.model_holder import ModelHolder
    from tests.support.app_support import tiny_artifact

    trainer = host(aws_env, bucket, tmp_path / "trainer")
    first = trainer.publish("0", tiny_artifact("0", seed=1))
    server = host(aws_env, bucket, tmp_path / "server")
    assert ModelHolder(server, interval=0).models()["0"].version == first
    trainer.publish("0", tiny_artifact("0", seed=2))  # the server never saw this one
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: S3 is down
    restarted = s3_store({**aws_env.options(bucket), "endpoint_url": nowhere}, tmp_path / "server")
    with caplog.at_level(logging.WARNING, logger="plugins.s3_store"):
        models = ModelHolder(restarted, interval=0).models()
    assert models["0"].version == first and models["0"].manifest["seed"] == 1
    assert "using what this host last knew" in caplog.text
    assert caplog.text.count("using what this host last knew") == 1  # then no more tries
    assert restarted.change_token() == "unreachable" and restarted.tenants() == ["0"]
    empty = s3_store({**aws_env.options(bucket), "endpoint_url": nowhere}, tmp_path / "new")
    with pytest.raises(ModelStoreError, match="Could not connect"):
        empty.tenants()  # a host that knows nothing reports the outage


def test_a_rollback_target_pruned_meanwhile_puts_the_pointer_back(
    aws_env: MotoS3, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = host(aws_env, bucket, tmp_path / "operator")
    old, current = operator.publish("0", artifact(1)), operator.publish("0", artifact(2))
    client = aws_env.client()
    prune = lambda: client.delete_object(  # noqa: E731 - what a trainer's prune does first
        Bucket=bucket, Key=f"tenants/0/versions/{old}/manifest.json"
    )
    _before_pointer_write(operator, monkeypatch, prune)
    with pytest.raises(ModelNotFoundError, match="pruned meanwhile"):
        operator.rollback("0", old)
    assert host(aws_env, bucket, tmp_path / "other").current_version("0") == current


def test_a_broken_cached_copy_is_copied_again(
    aws_env: MotoS3, bucket: str, tmp_path: Path, caplog: Any
) -> None:
    version = host(aws_env, bucket, tmp_path / "trainer").publish("0", artifact(6))
    server = host(aws_env, bucket, tmp_path / "server")
    server.load("0")
    (server.cache.folder("0", version) / "item_factors.npy").unlink()  # an operator's mistake
    with caplog.at_level(logging.WARNING, logger="plugins.s3_store"):
        again = host(aws_env, bucket, tmp_path / "server").load("0")
    assert "is broken" in caplog.text and "copying it again" in caplog.text
    np.testing.assert_array_equal(again.arrays["item_factors"], np.full((4, 3), 6))

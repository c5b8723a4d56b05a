"""``mlservice train``, ``models``, ``recommend`` and ``plugins`` with ``ML_MODEL_STORE=s3``
against moto's S3 server (skips without moto)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcore.config import VARIABLES
from service.cli import main
from tests.support.moto_s3 import SECRET_KEY, MotoS3


@pytest.fixture
def s3_env(aws_env: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[MotoS3, str]:
    for name in list(VARIABLES) + ["ML_CONFIG_FILE"]:
        monkeypatch.delenv(name, raising=False)
    bucket = aws_env.new_bucket()
    monkeypatch.setenv("ML_MODEL_STORE", "s3")
    options = aws_env.options(bucket, prefix="mlservice")
    monkeypatch.setenv("ML_MODEL_STORE_OPTIONS", json.dumps(options))
    monkeypatch.setenv("ML_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("ML_LOGS_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("ML_TUNING_TRIALS", "0")
    monkeypatch.setenv("ML_NUM_THREADS", "1")
    monkeypatch.setenv("ML_RECOMMENDER", "popularity")
    return aws_env, bucket


def test_train_list_show_recommend_and_roll_back_in_s3(
    s3_env: tuple[MotoS3, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moto, bucket = s3_env
    export = tmp_path / "export"
    sizes = ["--tenants", "2", "--users", "60", "--items", "40", "--interactions", "900"]
    assert main(["demo-data", str(export), *sizes, "--now", "1790000000"]) == 0
    for _run in range(2):
        assert main(["train", "--quiet", "--data-dir", str(export)]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    output = capsys.readouterr().out.splitlines()
    assert output[0].startswith("Models in model store s3 ")
    listing = [line.split() for line in output[2:]]
    assert [row[0] for row in listing] == ["0", "1"] and listing[0][2] == "2"
    current = listing[0][1]
    keys = moto.client().list_objects_v2(Bucket=bucket, Prefix="mlservice/current/")
    assert sorted(o["Key"] for o in keys["Contents"]) == [
        "mlservice/current/0",
        "mlservice/current/1",
    ]
    assert main(["models", "show", "--tenant", "0", "--files"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == current and "item_popularity" in shown["files"]
    assert main(["recommend", "--tenant", "0", "--user", "3", "--type", "engage_article"]) == 0
    assert "engage_article" in capsys.readouterr().out
    assert main(["models", "rollback", "--tenant", "0"]) == 0
    assert f"was {current}" in capsys.readouterr().out
    main(["models", "list"])
    assert capsys.readouterr().out.splitlines()[2].split()[1] < current
    cached = tmp_path / "models" / "s3-cache" / bucket / "mlservice" / "tenants" / "0"
    assert len(list((cached / "versions").iterdir())) == 2


def test_plugins_lists_the_s3_store_and_a_missing_bucket_is_a_clear_error(
    s3_env: tuple[MotoS3, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    moto, _bucket = s3_env
    assert main(["plugins", "--options"]) == 0
    out = capsys.readouterr().out
    assert "s3" in out and "endpoint_url" in out and "filesystem" in out
    monkeypatch.setenv("ML_MODEL_STORE_OPTIONS", json.dumps(moto.options("not-a-bucket-here")))
    assert main(["models", "list"]) != 0
    err = capsys.readouterr().err
    assert "not-a-bucket-here" in err and "NoSuchBucket" in err and "Traceback" not in err
    assert SECRET_KEY not in err

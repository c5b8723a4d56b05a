"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import moto_s3


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[moto_s3.MotoS3]:
    """moto's S3 server in its own process for the whole session (skips without moto)."""
    reason = moto_s3.missing()
    if reason:
        pytest.skip(reason)
    server = moto_s3.start(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_server: moto_s3.MotoS3, monkeypatch: pytest.MonkeyPatch) -> moto_s3.MotoS3:
    """The test credentials in this process's environment (the AWS chain reads them)."""
    for name, value in moto_s3.CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return moto_server

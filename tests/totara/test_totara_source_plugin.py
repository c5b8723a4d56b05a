"""The ``totara`` plugin: factory, settings, TLS over real HTTPS, and the status query."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mlcore.config import Settings, load_settings
from mlcore.errors import ConfigError, DataSourceError
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from mlcore.totara.tls import tls_verify
from plugins.totara_source import TotaraSource
from tests.support.fake_totara import STATUS_PATH, FakeTotara

KEY = "plugin-key-123"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    export = tmp_path / "export"
    export.mkdir()
    (export / "tenants.csv").write_bytes(b"tenants\n0\n")
    return export


def build(settings: Settings, **collaborators: object) -> TotaraSource:
    source: TotaraSource = Registry(make_plugin_manager()).create(
        "data source", settings.data_source_name, settings=settings, **collaborators
    )
    return source


def test_ml_totara_url_selects_totara_and_factory_uses_download_settings() -> None:
    settings = load_settings(
        {
            "ML_TOTARA_URL": "https://totara.example/",
            "ML_TOTARA_KEY": KEY,
            "ML_DOWNLOAD_TIMEOUT": "7.5",
            "ML_DOWNLOAD_RETRIES": "2",
            "ML_DOWNLOAD_RETRY_WAIT": "5",
        }
    )
    assert settings.data_source_name == "totara"
    source = build(settings)
    assert isinstance(source, TotaraSource)
    assert (source.policy.timeout, source.policy.retries, source.policy.retry_wait) == (7.5, 2, 5.0)
    assert source.verify is True
    assert source.describe() == "Totara at https://totara.example"
    assert KEY not in repr(source.__dict__.get("policy")) and KEY not in source.describe()


def test_options_override_url_and_limit() -> None:
    settings = Settings(totara_url="https://a.example", totara_key=KEY, data_source="totara")
    source: TotaraSource = Registry(make_plugin_manager()).create(
        "data source",
        "totara",
        {"url": "http://b.example", "max_file_bytes": "1000"},
        settings=settings,
    )
    assert source.base_url == "http://b.example" and source.policy.max_file_bytes == 1000


def test_factory_needs_url_and_key() -> None:
    with pytest.raises(ConfigError, match="ML_TOTARA_URL"):
        build(Settings(data_source="totara", totara_key=KEY))
    with pytest.raises(ConfigError, match="ML_TOTARA_KEY"):
        build(Settings(totara_url="https://totara.example"))


def test_tls_settings() -> None:
    assert tls_verify(Settings()) is True
    assert tls_verify(Settings(tls_verify=False, ca_bundle="/nowhere")) is False
    with pytest.raises(ConfigError, match="ML_CA_BUNDLE"):
        tls_verify(Settings(ca_bundle="/nowhere/ca.pem"))
    assert load_settings({"ML_TLS_VERIFY": "false"}).tls_verify is False


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + [
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_totara(folder: Path, certificate: tuple[Path, Path]) -> Iterator[FakeTotara]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with FakeTotara(folder, key=KEY, tls=context) as fake:
        yield fake


def test_untrusted_certificate_is_refused_by_default(https_totara: FakeTotara) -> None:
    source = build(Settings(totara_url=https_totara.url, totara_key=KEY))
    with pytest.raises(DataSourceError, match="TLS error downloading tenants.csv.*ML_CA_BUNDLE"):
        source.read_file("tenants.csv")


def test_ca_bundle_makes_the_certificate_trusted(
    https_totara: FakeTotara, certificate: tuple[Path, Path]
) -> None:
    settings = Settings(totara_url=https_totara.url, totara_key=KEY, ca_bundle=str(certificate[0]))
    assert build(settings).read_file("tenants.csv") == b"tenants\n0\n"


def test_explicit_opt_out_skips_verification(
    https_totara: FakeTotara, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(totara_url=https_totara.url, totara_key=KEY, tls_verify=False)
    assert build(settings).read_file("tenants.csv") == b"tenants\n0\n"
    assert "verification" in caplog.text and "OFF" in caplog.text


@pytest.fixture
def totara(folder: Path) -> Iterator[FakeTotara]:
    with FakeTotara(folder, key=KEY) as fake:
        yield fake


@pytest.mark.parametrize(
    "answer",
    [{"data": {"totara_webapi_status": {"status": "ok"}}}, {"errors": [{"message": "nope"}]}, 500],
)
def test_fake_totara_status_query(totara: FakeTotara, answer: object) -> None:
    """The fake's §6.3 endpoint, which the health-check tests use."""
    totara.status_answer = answer
    query = {"operationName": "totara_webapi_status_nosession", "variables": {}, "extensions": {}}
    response = requests.post(totara.url + STATUS_PATH, json=query, timeout=5)
    if isinstance(answer, int):
        assert response.status_code == answer
    else:
        assert response.status_code == 200 and response.json() == answer
    [seen] = totara.requests
    assert (seen.method, seen.path) == ("POST", STATUS_PATH)
    wrong = requests.post(totara.url + STATUS_PATH, json={"operationName": "x"}, timeout=5)
    assert wrong.status_code == 400

"""The ``totara`` data source over real HTTP on 127.0.0.1 against tests/support/fake_totara.py."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mlcore.errors import DataSourceError
from plugins.totara_source import NO_MULTITENANCY, DownloadPolicy, TotaraSource
from tests.support.fake_totara import EXPORT_PREFIX, Behaviour, FakeTotara

KEY = "s3cr3t-key-Zq9"
NOW = 1_700_000_000.0
TENANT_FILES = {
    "tenants.csv": b"tenants\n0\n7\n",
    "user_data_0.csv": b"user_id,lang,city_town,country,interests,aspiring_role,positions,competencies\n1,en,,NZ,,,,\n",
    "item_data_0.csv": b"item_id,topic,text\ncontainer_course1,,hello\n",
    "user_interactions_0.csv": b"user_id,item_id,rating,timestamp\n1,container_course1,0,1634700000\n",
}


@pytest.fixture
def export_folder(tmp_path: Path) -> Path:
    for name, content in TENANT_FILES.items():
        (tmp_path / name).write_bytes(content)
    return tmp_path


@pytest.fixture
def totara(export_folder: Path) -> Iterator[FakeTotara]:
    with FakeTotara(export_folder, key=KEY, clock=lambda: NOW) as fake:
        yield fake


class Sleeps(list[float]):
    """Records requested waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_source(
    url: str,
    *,
    key: str = KEY,
    clock_offset: float = 0.0,
    sleeps: Sleeps | None = None,
    **policy: float,
) -> TotaraSource:
    return TotaraSource(
        url,
        key,
        session=requests.Session(),
        policy=DownloadPolicy(**policy),  # type: ignore[arg-type]
        clock=lambda: NOW + clock_offset,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def test_200_returns_the_exact_bytes_with_lowercase_token_headers(totara: FakeTotara) -> None:
    assert make_source(totara.url).read_file("user_data_0.csv") == TENANT_FILES["user_data_0.csv"]
    [seen] = totara.export_requests()
    assert seen.path == EXPORT_PREFIX + "user_data_0.csv" and seen.status == 200
    assert {"x-totara-ml-key", "x-totara-time"} <= set(seen.headers)
    assert seen.header("x-totara-time") == str(int(NOW))


@pytest.mark.parametrize("offset", [-30, -12.5, 0, 30])
def test_token_accepted_within_thirty_seconds_inclusive(totara: FakeTotara, offset: float) -> None:
    source = make_source(totara.url, clock_offset=offset)
    assert source.read_file("tenants.csv") == TENANT_FILES["tenants.csv"]


@pytest.mark.parametrize("offset", [-31, 31, 3600])
def test_token_outside_window_gets_404_and_a_clear_error(totara: FakeTotara, offset: float) -> None:
    with pytest.raises(DataSourceError, match="HTTP 404.*clocks agree within 30 s"):
        make_source(totara.url, clock_offset=offset).read_file("tenants.csv")
    assert [r.status for r in totara.export_requests()] == [404]


def test_wrong_key_gets_404(totara: FakeTotara) -> None:
    with pytest.raises(DataSourceError, match="HTTP 404.*ML_TOTARA_KEY"):
        make_source(totara.url, key="other").read_file("tenants.csv")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-totara-time": str(int(NOW))},
        {"x-totara-ml-key": "0" * 64},
        {"x-totara-time": "", "x-totara-ml-key": ""},
    ],
)
def test_fake_totara_answers_404_to_missing_headers(
    totara: FakeTotara, headers: dict[str, str]
) -> None:
    answer = requests.get(totara.url + EXPORT_PREFIX + "tenants.csv", headers=headers, timeout=5)
    assert answer.status_code == 404


def test_fresh_token_for_every_request(totara: FakeTotara) -> None:
    totara.behaviours["item_data_0.csv"] = Behaviour(statuses=[202, 202])
    ticks = iter([NOW - 20, NOW - 5, NOW + 10])
    sleeps = Sleeps()
    source = TotaraSource(
        totara.url, KEY, session=requests.Session(), clock=lambda: next(ticks), sleep=sleeps
    )
    assert source.read_file("item_data_0.csv") == TENANT_FILES["item_data_0.csv"]
    sent = [r.header("x-totara-time") for r in totara.export_requests()]
    assert sent == [str(int(NOW - 20)), str(int(NOW - 5)), str(int(NOW + 10))]
    assert len({r.header("x-totara-ml-key") for r in totara.export_requests()}) == 3
    assert sleeps == [60.0, 120.0]


def test_202_retries_are_bounded_and_back_off_with_a_cap(totara: FakeTotara) -> None:
    totara.behaviours["user_data_0.csv"] = Behaviour(forever=202)
    sleeps = Sleeps()
    source = make_source(totara.url, sleeps=sleeps, retries=3, retry_wait=60, max_retry_wait=100)
    with pytest.raises(DataSourceError, match="still answers 202.*after 4 requests"):
        source.read_file("user_data_0.csv")
    assert [r.status for r in totara.export_requests()] == [202] * 4
    assert sleeps == [60.0, 100.0, 100.0]


def test_zero_retries_means_one_request(totara: FakeTotara) -> None:
    totara.export_complete = False
    with pytest.raises(DataSourceError, match="202"):
        make_source(totara.url, retries=0).read_file("tenants.csv")
    assert len(totara.export_requests()) == 1


def test_missing_file_of_an_exported_tenant_is_202_not_ready(totara: FakeTotara) -> None:
    with pytest.raises(DataSourceError, match="202"):
        make_source(totara.url, retries=1).read_file("user_data_7.csv")
    assert [r.status for r in totara.export_requests()] == [202, 202]


def test_204_tenants_means_single_tenant_zero(export_folder: Path) -> None:
    with FakeTotara(export_folder, key=KEY, multitenancy=False, clock=lambda: NOW) as fake:
        assert make_source(fake.url).read_file("tenants.csv") == NO_MULTITENANCY
        assert [r.status for r in fake.export_requests()] == [204]


def test_204_on_another_file_is_an_error(totara: FakeTotara) -> None:
    totara.behaviours["user_data_0.csv"] = Behaviour(statuses=[204])
    with pytest.raises(DataSourceError, match="HTTP 204 for user_data_0.csv"):
        make_source(totara.url).read_file("user_data_0.csv")


@pytest.mark.parametrize("name", ["abc.csv", "index.php", "user_data_9.csv"])
def test_names_outside_the_export_get_404(totara: FakeTotara, name: str) -> None:
    with pytest.raises(DataSourceError, match=f"HTTP 404 for {name}"):
        make_source(totara.url).read_file(name)


def test_500_fails_at_once_without_retry(totara: FakeTotara) -> None:
    totara.behaviours["tenants.csv"] = Behaviour(forever=500)
    sleeps = Sleeps()
    with pytest.raises(DataSourceError, match="HTTP 500 for tenants.csv"):
        make_source(totara.url, sleeps=sleeps).read_file("tenants.csv")
    assert len(totara.export_requests()) == 1 and sleeps == []


@pytest.mark.parametrize("suffix", ["/", "//"])
def test_trailing_slashes_are_stripped(totara: FakeTotara, suffix: str) -> None:
    make_source(totara.url + suffix).read_file("tenants.csv")
    assert [r.path for r in totara.export_requests()] == [EXPORT_PREFIX + "tenants.csv"]


def test_scheme_is_case_insensitive(totara: FakeTotara) -> None:
    url = totara.url.replace("http://", "HTTP://")
    assert make_source(url).read_file("tenants.csv") == TENANT_FILES["tenants.csv"]


@pytest.mark.parametrize("bad", ["ftp://{hostport}", "{hostport}", "file:///etc", "//{hostport}"])
def test_non_http_url_fails_without_any_request(totara: FakeTotara, bad: str) -> None:
    url = bad.format(hostport=totara.url.removeprefix("http://"))
    with pytest.raises(DataSourceError, match="must start with http:// or https://"):
        make_source(url).read_file("tenants.csv")
    assert totara.requests == []


def test_timeout_is_a_clear_error(totara: FakeTotara) -> None:
    totara.behaviours["tenants.csv"] = Behaviour(delay=1.0)
    started = time.monotonic()
    with pytest.raises(DataSourceError, match=r"timed out after 0.2 s \(ML_DOWNLOAD_TIMEOUT\)"):
        make_source(totara.url, timeout=0.2).read_file("tenants.csv")
    assert time.monotonic() - started < 0.9


def test_connection_refused_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(
        DataSourceError, match=f"cannot download tenants.csv from Totara at http://127.0.0.1:{port}"
    ):
        make_source(f"http://127.0.0.1:{port}").read_file("tenants.csv")


def test_declared_oversized_file_is_refused(totara: FakeTotara) -> None:
    with pytest.raises(DataSourceError, match="declares .* bytes, more than the limit of 20 bytes"):
        make_source(totara.url, max_file_bytes=20).read_file("user_data_0.csv")


def test_oversized_stream_is_refused_before_it_is_all_read(totara: FakeTotara) -> None:
    huge = b"x" * (64 * 1024 * 1024)
    totara.behaviours["user_data_0.csv"] = Behaviour(body=huge, omit_length=True)
    with pytest.raises(DataSourceError, match="sent more than 1024 bytes"):
        make_source(totara.url, max_file_bytes=1024).read_file("user_data_0.csv")
    deadline = time.monotonic() + 5
    while totara.aborted_writes == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert totara.aborted_writes == 1, "the client should hang up instead of reading 64 MiB"


def test_file_exactly_at_the_limit_is_accepted(totara: FakeTotara) -> None:
    size = len(TENANT_FILES["user_data_0.csv"])
    totara.behaviours["user_data_0.csv"] = Behaviour(omit_length=True)
    assert len(make_source(totara.url, max_file_bytes=size).read_file("user_data_0.csv")) == size


def test_truncated_body_is_an_error(totara: FakeTotara) -> None:
    totara.behaviours["user_interactions_0.csv"] = Behaviour(truncate_to=10)
    with pytest.raises(DataSourceError, match="user_interactions_0.csv"):
        make_source(totara.url).read_file("user_interactions_0.csv")


def test_refuses_path_like_names_without_a_request(totara: FakeTotara) -> None:
    for name in ["../config.php", "a/b.csv", ".hidden", ""]:
        with pytest.raises(DataSourceError, match="refusing export file name"):
            make_source(totara.url).read_file(name)
    assert totara.requests == []


def test_key_and_tokens_never_appear_in_logs_or_errors(
    totara: FakeTotara, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    totara.behaviours["user_data_0.csv"] = Behaviour(statuses=[202], forever=500)
    totara.behaviours["item_data_0.csv"] = Behaviour(delay=0.5)
    messages = []
    source = TotaraSource(
        totara.url,
        KEY,
        session=requests.Session(),
        policy=DownloadPolicy(timeout=0.2),
        verify=False,
        clock=lambda: NOW,
        sleep=Sleeps(),
    )
    source.read_file("tenants.csv")
    for name in ["user_data_0.csv", "item_data_0.csv", "abc.csv"]:
        with pytest.raises(DataSourceError) as error:
            source.read_file(name)
        messages.append(str(error.value))
    messages.append(source.describe())
    tokens = {r.header("x-totara-ml-key") for r in totara.export_requests()}
    assert len(tokens) >= 1 and len(totara.export_requests()) >= 4
    text = caplog.text + "\n".join(messages)
    assert "202" in caplog.text and "TLS certificate verification" in caplog.text
    for secret in [KEY, *tokens]:
        assert secret and secret not in text


def test_tls_opt_out_warns_once(totara: FakeTotara, caplog: pytest.LogCaptureFixture) -> None:
    source = TotaraSource(
        totara.url, KEY, session=requests.Session(), verify=False, clock=lambda: NOW
    )
    source.read_file("tenants.csv")
    source.read_file("user_data_0.csv")
    warnings = [r for r in caplog.records if "verification" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_describe_hides_credentials_in_the_url() -> None:
    source = make_source("https://admin:hunter2@totara.example:8443/lms/?token=abc#x")
    assert source.describe() == "Totara at https://totara.example:8443/lms"


def test_redirects_are_not_followed(totara: FakeTotara) -> None:
    totara.behaviours["tenants.csv"] = Behaviour(
        forever=302, location="https://elsewhere.example/x?k=1"
    )
    with pytest.raises(DataSourceError, match="HTTP 302.*https://elsewhere.example/x; redirects"):
        make_source(totara.url).read_file("tenants.csv")
    assert len(totara.requests) == 1


def test_gzip_encoded_file_is_decoded(totara: FakeTotara) -> None:
    totara.behaviours["item_data_0.csv"] = Behaviour(gzip=True)
    assert make_source(totara.url).read_file("item_data_0.csv") == TENANT_FILES["item_data_0.csv"]


def test_gzip_bomb_is_refused_by_its_decoded_size(totara: FakeTotara) -> None:
    totara.behaviours["item_data_0.csv"] = Behaviour(gzip=True, body=bytes(8 * 1024 * 1024))
    with pytest.raises(DataSourceError, match="sent more than 1048576 bytes"):
        make_source(totara.url, max_file_bytes=1024 * 1024).read_file("item_data_0.csv")

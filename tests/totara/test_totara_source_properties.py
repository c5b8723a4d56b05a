"""Properties of the ``totara`` source over real HTTP: bytes round-trip, retry bounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.errors import DataSourceError
from plugins.totara_source import DownloadPolicy, TotaraSource
from tests.support.fake_totara import Behaviour, FakeTotara

KEY = "prop-key"
FILE = "user_interactions_0.csv"


@pytest.fixture(scope="module")
def totara(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeTotara]:
    folder: Path = tmp_path_factory.mktemp("export")
    (folder / "tenants.csv").write_bytes(b"tenants\n0\n")
    (folder / FILE).write_bytes(b"user_id,item_id,rating,timestamp\n")
    with FakeTotara(folder, key=KEY) as fake:
        yield fake


def source(totara: FakeTotara, waits: list[float], **policy: float) -> TotaraSource:
    return TotaraSource(
        totara.url,
        KEY,
        session=requests.Session(),
        policy=DownloadPolicy(**policy),  # type: ignore[arg-type]
        sleep=waits.append,
    )


@settings(max_examples=25, deadline=None)
@given(body=st.binary(max_size=5000), gzip=st.booleans())
def test_any_body_arrives_unchanged(totara: FakeTotara, body: bytes, gzip: bool) -> None:
    totara.behaviours[FILE] = Behaviour(body=body, gzip=gzip)
    assert source(totara, []).read_file(FILE) == body


@settings(max_examples=20, deadline=None)
@given(
    retries=st.integers(min_value=0, max_value=4),
    not_ready=st.integers(min_value=0, max_value=6),
    first_wait=st.floats(min_value=0.5, max_value=100),
    cap=st.floats(min_value=1, max_value=300),
)
def test_202_retries_are_bounded(
    totara: FakeTotara, retries: int, not_ready: int, first_wait: float, cap: float
) -> None:
    totara.requests.clear()
    totara.behaviours[FILE] = Behaviour(statuses=[202] * not_ready)
    waits: list[float] = []
    reader = source(totara, waits, retries=retries, retry_wait=first_wait, max_retry_wait=cap)
    if not_ready <= retries:
        assert reader.read_file(FILE) == b"user_id,item_id,rating,timestamp\n"
    else:
        with pytest.raises(DataSourceError, match="still answers 202"):
            reader.read_file(FILE)
    assert len(totara.export_requests(FILE)) == min(not_ready, retries) + 1
    assert waits == [min(first_wait * 2**k, cap) for k in range(len(waits))]
    assert len(waits) == min(not_ready, retries)

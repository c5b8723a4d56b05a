"""Access log (no user ids by default), JSON log lines, rate-limited 401 reasons."""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import parse_qsl, urlencode

import falcon.testing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.config import Settings
from mlcore.totara.token import make_token, token_problem
from service.access_log import AccessLog, logged_query, request_id
from service.app import create_app
from service.logging_setup import JsonFormatter, TextFormatter, configure_root
from service.rate_limit import RateLimit
from tests.support.app_support import KEY, NOW, tiny_artifact
from tests.support.memory_store import MemoryModelStore

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)


@given(
    st.lists(st.tuples(st.sampled_from(["totara_user_id", "tenant", "n_items"]), text), max_size=5)
)
def test_user_ids_never_reach_the_log(pairs: list[tuple[str, str]]) -> None:
    logged = parse_qsl(logged_query(urlencode(pairs), user_ids=False), keep_blank_values=True)
    assert logged == [(n, "-" if n == "totara_user_id" else v) for n, v in pairs]


def test_user_ids_are_kept_on_request_and_ids_are_plain() -> None:
    assert logged_query("totara_user_id=42&tenant=0", user_ids=True) == "totara_user_id=42&tenant=0"
    assert request_id({"HTTP_X_REQUEST_ID": "abc-123"}) == "abc-123"
    assert len(request_id({"HTTP_X_REQUEST_ID": "bad id\n"})) == 16


def logged(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


def app(**access: bool) -> falcon.testing.TestClient:
    store = MemoryModelStore()
    store.publish("0", tiny_artifact("0"))
    api = create_app(Settings(totara_key=KEY), store, clock=lambda: NOW)
    endpoints = frozenset({"/user-items", "/health-check"})
    return falcon.testing.TestClient(AccessLog(api, listener="api", endpoints=endpoints, **access))


def signed(offset: int = 0, key: str = KEY) -> dict[str, str]:
    now = str(int(NOW) + offset)
    return {"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, key)}


def test_one_access_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    query = "totara_user_id=31337&item_type=engage_article&tenant=0&n_items=2"
    answer = app().simulate_get("/user-items", query_string=query, headers=signed())
    assert answer.status_code == 200
    (record,) = logged(caplog, "service.access")
    assert record.status == 200 and record.tenant == "0" and record.path == "/user-items"
    assert "31337" not in record.getMessage() and "totara_user_id=-" in record.query
    assert record.latency_ms >= 0 and len(record.request_id) == 16
    assert record.bytes == len(answer.content)


def test_access_log_can_be_turned_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app(enabled=False).simulate_get("/health-check", headers=signed())
    assert logged(caplog, "service.access") == []


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"X-Totara-Time": "12a", "X-Totara-Ml-Key": "x"}, "malformed"),
        (signed(offset=45), "stale by +45 s"),
        (signed(offset=-31), "stale by -31 s"),
        (signed(key="other"), "wrong key"),
    ],
)
def test_every_401_says_why(
    headers: dict[str, str], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answer = app().simulate_get("/health-check", headers=headers)
    assert answer.status_code == 401
    (record,) = logged(caplog, "service.auth")
    assert f": {reason} (" in record.getMessage() and record.event == "auth_failure"
    assert KEY not in caplog.text
    assert (
        token_problem(headers.get("X-Totara-Time"), headers.get("X-Totara-Ml-Key"), KEY, NOW)
        == reason
    )


def test_rejections_are_rate_limited_and_the_gap_is_reported() -> None:
    now = [0.0]
    limit = RateLimit(burst=2, period=60, clock=lambda: now[0])
    assert [limit.allow() for _ in range(4)] == [(True, 0), (True, 0), (False, 0), (False, 0)]
    now[0] = 61
    assert limit.allow() == (True, 2)


def test_json_lines_carry_the_extras_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = configure_root("json", stream=stream)
    try:
        log = logging.getLogger("test.json")
        log.info("served %s", "x", extra={"tenant": "3", "request_id": "r1", "latency_ms": 1.5})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "served x" and first["level"] == "INFO"
    assert (first["tenant"], first["request_id"], first["latency_ms"]) == ("3", "r1", 1.5)
    assert first["logger"] == "test.json" and first["time"].endswith("+00:00")
    assert "ValueError: boom" in second["traceback"]
    bare = JsonFormatter(tracebacks=False).format(
        logging.makeLogRecord({"msg": "m", "exc_info": (ValueError, ValueError("x"), None)})
    )
    assert "traceback" not in json.loads(bare)


def test_text_lines_leave_tracebacks_out_unless_verbose() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})
    assert "Traceback" not in TextFormatter(tracebacks=False).format(record)
    assert "Traceback" in TextFormatter(tracebacks=True).format(record)

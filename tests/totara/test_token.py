"""Token scheme of contract §3.1 / §3.3 / §3.4."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.totara.token import make_token, signed_headers, token_is_valid

VECTORS = [
    ("123456", "a44934344c553000cb198d77cae685d33563617a01b17dc60d45a5557ad9c21d"),
    ("0", "e4564920dabbb068898fbb32f98a67fe6d98520686d726d10dbc7e5badc37ead"),
    ("1000", "03203b76ce4a4cf093f39eeedb61a5966a20dccfca1cc4fdfb18e0006f444e9b"),
]


@pytest.mark.parametrize(("time_string", "expected"), VECTORS)
def test_contract_vectors(time_string: str, expected: str) -> None:
    assert make_token(time_string, "abc123") == expected


@given(st.integers(min_value=0, max_value=2**40), st.text(min_size=1))
def test_token_is_plain_sha256_of_concatenation(seconds: int, key: str) -> None:
    token = make_token(str(seconds), key)
    assert token == hashlib.sha256((str(seconds) + key).encode("utf-8")).hexdigest()
    assert token == token.lower() and len(token) == 64


def test_signed_headers_are_lowercase_integer_and_fresh() -> None:
    times = iter([1700000000.9, 1700000005.2])
    first = signed_headers("abc123", lambda: next(times))
    second = signed_headers("abc123", lambda: next(times))
    assert first == {
        "x-totara-time": "1700000000",
        "x-totara-ml-key": make_token("1700000000", "abc123"),
    }
    assert second["x-totara-time"] == "1700000005"
    assert "abc123" not in "".join(first.values())


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-31, False), (-30, True), (0, True), (30, True), (31, False)]
)
def test_window_is_thirty_seconds_inclusive(offset: int, accepted: bool) -> None:
    now = 1_700_000_000
    sent = str(now + offset)
    assert token_is_valid(sent, make_token(sent, "k"), "k", now + 0.9) is accepted


@pytest.mark.parametrize(
    ("time_value", "key_value"),
    [
        (None, make_token("100", "k")),
        ("", make_token("100", "k")),
        ("100", None),
        ("100", ""),
        ("100", make_token("100", "other")),
        ("100", make_token("100", "k").upper()),
        ("100.0", make_token("100.0", "k")),
        (" 100", make_token(" 100", "k")),
        ("-100", make_token("-100", "k")),
        ("١٠٠", make_token("١٠٠", "k")),
    ],
)
def test_invalid_tokens_are_rejected(time_value: str | None, key_value: str | None) -> None:
    assert token_is_valid(time_value, key_value, "k", 100) is False


def test_empty_shared_key_never_validates() -> None:
    assert token_is_valid("100", make_token("100", ""), "", 100) is False


@given(st.integers(min_value=0, max_value=2**33), st.integers(min_value=-60, max_value=60))
def test_valid_exactly_within_window(now: int, offset: int) -> None:
    sent = str(max(0, now + offset))
    expected = abs(int(sent) - now) <= 30
    assert token_is_valid(sent, make_token(sent, "secret"), "secret", now) is expected


@given(
    st.one_of(st.text(), st.integers(0, 20_000).map(lambda n: "1" * n)),
    st.one_of(st.text(), st.integers(0, 200_000).map(lambda n: "a" * n)),
)
def test_any_header_values_give_an_answer_never_an_exception(time_value: str, key_value: str) -> None:
    """Issue 14, item 5: lengths are capped before parsing (``int()`` of 4,301 digits raises)."""
    assert token_is_valid(time_value, key_value, "k", 1_700_000_000) is False


def test_a_valid_token_is_refused_only_when_its_time_string_is_absurdly_long() -> None:
    now = 1_700_000_000
    for time_string in (str(now), str(now).zfill(20)):
        assert token_is_valid(time_string, make_token(time_string, "k"), "k", now)
    padded = str(now).zfill(21)
    assert not token_is_valid(padded, make_token(padded, "k"), "k", now)

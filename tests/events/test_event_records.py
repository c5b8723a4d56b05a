"""Parsing posted interaction events: valid bodies round-trip, bad ones name the record."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.events.records import EventError, InteractionEvent, parse_events

ids = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=20,
).filter(lambda s: s == s.strip())
events = st.builds(
    InteractionEvent,
    tenant=ids,
    user_id=ids,
    item_id=ids,
    rating=st.sampled_from([0, 1]),
    timestamp=st.integers(0, 4_000_000_000),
)


def as_json(event: InteractionEvent) -> dict[str, object]:
    return {
        "tenant": event.tenant,
        "user_id": event.user_id,
        "item_id": event.item_id,
        "rating": event.rating,
        "timestamp": event.timestamp,
    }


@given(st.lists(events, min_size=1, max_size=20), st.booleans())
def test_valid_bodies_round_trip_as_array_or_lines(
    posted: list[InteractionEvent], lines: bool
) -> None:
    records = [as_json(e) for e in posted]
    body = "\n".join(json.dumps(r) for r in records) if lines else json.dumps(records)
    assert parse_events(body.encode(), max_records=20) == posted


@given(st.lists(events, min_size=2, max_size=8), st.data())
def test_one_bad_record_refuses_the_body_and_is_named(posted, data) -> None:
    records = [as_json(e) for e in posted]
    bad = data.draw(st.integers(0, len(records) - 1))
    field, value = data.draw(
        st.sampled_from(
            [
                ("rating", 2),
                ("rating", "1"),
                ("timestamp", -5),
                ("timestamp", 1.5),
                ("user_id", ""),
                ("item_id", None),
            ]
        )
    )
    records[bad][field] = value
    with pytest.raises(EventError, match=f"record {bad + 1}: {field}"):
        parse_events(json.dumps(records).encode(), max_records=20)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "no records"),
        (b"[]", "no records"),
        (b"\xff\xfe", "not UTF-8"),
        (b'[{"tenant": ', "not valid JSON"),
        (b'{"tenant": "0"}\nnot json', "line 2 is not valid JSON"),
        (b'{"a": 1}', "record 1: missing tenant"),
        (b"[1]", "record 1: must be a JSON object"),
        (
            b'{"tenant": "0", "user_id": 1, "item_id": "x", "rating": 1, "timestamp": 5, "extra": 1}',
            "unknown field",
        ),
    ],
)
def test_malformed_bodies_get_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(EventError, match=message):
        parse_events(body, max_records=10)


def test_too_many_records_are_refused() -> None:
    record = {"tenant": "0", "user_id": "1", "item_id": "x", "rating": 1, "timestamp": 5}
    with pytest.raises(EventError, match="3 records; at most 2"):
        parse_events(json.dumps([record] * 3).encode(), max_records=2)

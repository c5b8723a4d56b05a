"""Parse and validate posted interaction events (``POST /interactions``).

A body is a JSON array of objects or JSON lines (one object per line), each
``{"tenant", "user_id", "item_id", "rating", "timestamp"}``: ``tenant``, ``user_id``
and ``item_id`` are non-empty strings or integers of at most 255 UTF-8 bytes
(``item_id`` is the prefixed id ``/user-items`` returns, e.g. ``container_course12``),
``rating`` is 0 or 1, ``timestamp`` whole Unix seconds. Every problem names the
record (1-based) and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlcore.dataset import MAX_ID_BYTES
from mlcore.errors import MLCoreError

FIELDS = ("tenant", "user_id", "item_id", "rating", "timestamp")
#: Latest accepted timestamp: the year 9999.
MAX_TIMESTAMP = 253_402_300_799


class EventError(MLCoreError):
    """A posted body or record is invalid; the message names the record and field."""


@dataclass(frozen=True)
class InteractionEvent:
    """One learner's interaction with one item, as posted."""

    tenant: str
    user_id: str
    item_id: str
    rating: int
    timestamp: int


def parse_events(body: bytes, max_records: int) -> list[InteractionEvent]:
    """The events of a posted body (a JSON array, or JSON lines).

    Raises:
        EventError: Not UTF-8 JSON, more than ``max_records`` records, or a bad record.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EventError(f"the body is not UTF-8 (byte {exc.start})") from None
    stripped = text.strip()
    if not stripped:
        raise EventError("the body holds no records")
    values = _json_array(stripped) if stripped.startswith("[") else _json_lines(stripped)
    if len(values) > max_records:
        raise EventError(f"{len(values)} records; at most {max_records} per request")
    if not values:
        raise EventError("the body holds no records")
    return [event_of(value, number) for number, value in enumerate(values, start=1)]


def _json_array(text: str) -> list[Any]:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventError(f"the body is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(values, list):
        raise EventError("the body must be a JSON array of records or JSON lines")
    return values


def _json_lines(text: str) -> list[Any]:
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise EventError(f"line {number} is not valid JSON: {exc.msg}") from None
    return values


def event_of(value: Any, number: int) -> InteractionEvent:
    """One validated record.

    Raises:
        EventError: Naming the record ``number`` and what is wrong with it.
    """
    if not isinstance(value, Mapping):
        raise EventError(f"record {number}: must be a JSON object with {', '.join(FIELDS)}")
    missing = [name for name in FIELDS if name not in value]
    if missing:
        raise EventError(f"record {number}: missing {', '.join(missing)}")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise EventError(f"record {number}: unknown field(s) {', '.join(map(str, unknown))}")
    rating, timestamp = value["rating"], value["timestamp"]
    if type(rating) is not int or rating not in (0, 1):
        raise EventError(f"record {number}: rating must be 0 or 1")
    if type(timestamp) is not int or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise EventError(f"record {number}: timestamp must be whole Unix seconds")
    return InteractionEvent(
        tenant=_identifier(value["tenant"], "tenant", number),
        user_id=_identifier(value["user_id"], "user_id", number),
        item_id=_identifier(value["item_id"], "item_id", number),
        rating=rating,
        timestamp=timestamp,
    )


def _identifier(value: Any, name: str, number: int) -> str:
    if type(value) is int and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise EventError(
            f"record {number}: {name} must be a non-empty string without spaces around it"
        )
    if len(value.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES or "\x00" in value:
        raise EventError(
            f"record {number}: {name} is longer than {MAX_ID_BYTES} bytes or holds NUL"
        )
    return value

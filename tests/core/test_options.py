"""Typed plugin options: strings from configuration become the declared types, exactly."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.errors import ConfigError
from mlcore.options import build_options, describe_options


@dataclass(frozen=True)
class Example:
    count: int = 3
    rate: float = 0.05
    enabled: bool = True
    loss: Literal["warp", "bpr", "logistic"] = "warp"
    sizes: list[int] = field(default_factory=lambda: [1, 2])
    names: tuple[str, ...] = ()
    limit: int | None = None
    label: str = ""


def _build(**raw: object) -> Example:
    return build_options(Example, raw, context="recommender 'example'")


@given(st.integers(-(10**12), 10**12))
def test_ints_round_trip(value: int) -> None:
    assert _build(count=str(value)).count == value
    assert _build(count=value).count == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip(value: float) -> None:
    assert _build(rate=repr(value)).rate == value
    assert _build(rate=str(value)).rate == value


@given(st.booleans(), st.sampled_from([str.lower, str.upper, str.title]))
def test_bools_round_trip(value: bool, case: object) -> None:
    for spelling in ("true", "yes", "on", "1") if value else ("false", "no", "off", "0"):
        assert _build(enabled=case(spelling)).enabled is value  # type: ignore[operator]
    assert _build(enabled=value).enabled is value


@given(st.sampled_from(["warp", "bpr", "logistic"]))
def test_literals_round_trip(value: str) -> None:
    assert _build(loss=value).loss == value


@given(st.lists(st.integers(-1000, 1000), max_size=6))
def test_int_lists_round_trip(values: list[int]) -> None:
    assert _build(sizes=json.dumps(values)).sizes == values
    assert _build(sizes=values).sizes == values


@given(st.lists(st.text(max_size=5), max_size=4))
def test_string_tuples_round_trip(values: list[str]) -> None:
    assert _build(names=json.dumps(values)).names == tuple(values)


@given(st.one_of(st.none(), st.integers(0, 10**6)))
def test_optional_ints_round_trip(value: int | None) -> None:
    text = "none" if value is None else str(value)
    assert _build(limit=text).limit == value
    assert _build(limit=value).limit == value


def test_defaults_when_nothing_is_given() -> None:
    assert _build() == Example()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"count": "three"}, "option 'count': 'three' is not a int"),
        ({"count": "2.5"}, "is not a int"),
        ({"count": 2.5}, "is not an int"),
        ({"count": True}, "True is not a int"),
        ({"rate": "fast"}, "is not a float"),
        ({"enabled": "perhaps"}, "is not a boolean"),
        ({"loss": "hinge"}, "'hinge' is not one of warp, bpr, logistic"),
        ({"sizes": '[1, "x"]'}, "'x' is not a int"),
        ({"sizes": "{}"}, "expected a list"),
        ({"limit": "lots"}, "is not a int | None"),
        ({"label": 5}, "5 is not a string"),
    ],
)
def test_wrong_types_name_the_plugin_and_option(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="recommender 'example'") as info:
        _build(**raw)
    assert message in str(info.value)


def test_unknown_options_list_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        _build(epochs="3")
    text = str(info.value)
    assert "unknown option(s) epochs" in text
    assert "count (int)" in text and "enabled (bool)" in text and "'warp' | 'bpr'" in text


def test_describe_options_lists_names_types_and_defaults() -> None:
    rows = {name: (type_name, default) for name, type_name, default in describe_options(Example)}
    assert rows["count"] == ("int", 3)
    assert rows["sizes"][1] == [1, 2]
    assert rows["loss"] == ("'warp' | 'bpr' | 'logistic'", "warp")


def test_non_dataclass_options_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        build_options(int, {}, context="x")

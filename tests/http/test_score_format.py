"""Score strings (contract §2.4) and prefix-less ids (§2.2)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.serving.tenant_model import Recommendation
from service.score_format import format_score, item_pairs

SCORE = re.compile(r"[ -](0|[1-9][0-9]*)\.[0-9]{4}")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.81234, " 0.8123"),
        (-0.15, "-0.1500"),
        (0.0, " 0.0000"),
        (-0.00001, "-0.0000"),
        (-0.0, "-0.0000"),
        (12.5, " 12.5000"),
        (1.23456, " 1.2346"),
    ],
)
def test_contract_table(value: float, expected: str) -> None:
    assert format_score(value) == expected


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_shape_sign_and_value(value: float) -> None:
    text = format_score(value)
    assert SCORE.fullmatch(text), text
    assert text.startswith("-") == (str(value).startswith("-"))
    assert abs(float(text) - value) <= 0.00005 + 1e-9 * abs(value)


@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_float32_scores_format_like_python_floats(value: float) -> None:
    import numpy as np

    assert format_score(np.float32(value)) == format(float(np.float32(value)), " .4f")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "engage_article",
                    "engage_microlearning",
                    "totara_playlist",
                    "container_workspace",
                    "container_course",
                ]
            ),
            st.integers(min_value=0, max_value=10**12),
            st.floats(allow_nan=False, allow_infinity=False, min_value=-100, max_value=100),
        )
    )
)
def test_item_pairs_strip_prefix_and_keep_order(rows: list[tuple[str, int, float]]) -> None:
    pairs = item_pairs(Recommendation(f"{c}{n}", s) for c, n, s in rows)
    assert pairs == [[str(n), format_score(s)] for _, n, s in rows]
    assert all(int(identifier) >= 0 for identifier, _ in pairs)

"""Byte-matrix CSV rows of the legacy outputs equal Python's formatting and csv parsing."""

from __future__ import annotations

import csv
import io

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from mlcore.legacy.csv_files import csv_field, csv_lines, field_matrix, fixed12

float32s = st.floats(width=32, allow_nan=False, allow_infinity=False)


def texts(matrix: np.ndarray) -> list[str]:
    return [bytes(row[row != 0]).decode() for row in matrix]


@given(st.lists(float32s, min_size=1, max_size=20))
@example([-0.0, 0.0, -1e-14, 0.5e-12, 1.5e-12, 2.5e-12, 999_999.9, 1e6, -3.4e38])
@example([2.203594684601, -1.0, 1e-45, 123456.0000005])
def test_fixed12_writes_what_python_writes(values: list[float]) -> None:
    array = np.array(values, dtype=np.float32)
    assert texts(fixed12(array)) == [f"{float(v):.12f}" for v in array.tolist()]


@given(st.lists(st.text(alphabet=st.sampled_from('ab,"\n\r 1_é'), max_size=8), min_size=1))
def test_fields_parse_back_and_are_quoted_only_when_needed(values: list[str]) -> None:
    fields = texts(field_matrix(values))
    assert fields == [csv_field(v) for v in values]
    for value, field in zip(values, fields, strict=True):
        if value:
            assert next(csv.reader(io.StringIO(field + "\n", newline=""))) == [value]
        if not any(char in value for char in ',"\r\n'):
            assert field == value


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["2", "10", "x, y", 'say "hi"']),
            st.sampled_from(["engage_article1", "container_course22"]),
            float32s,
        ),
        min_size=1,
        max_size=10,
    )
)
def test_csv_lines_read_back_as_three_fields_with_twelve_decimals(rows: list) -> None:
    users = field_matrix([r[0] for r in rows])
    items = field_matrix([r[1] for r in rows])
    values = np.array([r[2] for r in rows], dtype=np.float32)
    text = csv_lines(users, items, values).decode()
    assert text.endswith("\n") and text.count("\n") == len(rows) + sum("\n" in r[0] for r in rows)
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    expected = [[u, i, f"{float(np.float32(v)):.12f}"] for u, i, v in rows]
    assert parsed == expected
    assert all(len(row[2].split(".")[1]) == 12 for row in parsed)

"""``top_n_rows`` against ``top_n`` applied row by row (the specification)."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.serving import ranking
from mlcore.serving.ranking import top_n, top_n_rows

#: Few distinct values, so ties (also at the top-n boundary) are common.
TIED = [0.0, 1.0, 2.0, 2.5, 3.0, -np.inf]
ODD = [*TIED, np.inf, np.nan]
#: Many distinct values, so few chunks hold a row's best scores.
SPREAD = [*range(200), -np.inf]
FEW_TIES = [*range(20), -np.inf]


@st.composite
def _score_rows(
    draw: st.DrawFn, max_width: int, pools: list[list[float]]
) -> tuple[np.ndarray, int]:
    rows = draw(st.integers(0, 5))
    width = draw(st.integers(1, max_width))
    values = draw(st.sampled_from(pools))
    # Cells from a seeded generator: drawing each of up to 1,500 cells is too slow.
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    picked = rng.choice(np.array(values, dtype=np.float32), size=rows * width)
    n = draw(st.one_of(st.integers(0, 6), st.integers(0, width + 3)))
    return picked.reshape(rows, width), n


def _assert_rows_match(scores: np.ndarray, n: int) -> None:
    top, counts = top_n_rows(scores, n)
    assert top.dtype == np.int64 and top.shape == (scores.shape[0], min(n, scores.shape[1]))
    for row in range(scores.shape[0]):
        expected = top_n(scores[row], n)
        assert counts[row] == expected.shape[0]
        assert top[row, : counts[row]].tolist() == expected.tolist()
        assert (top[row, counts[row] :] == -1).all()


@settings(max_examples=250, deadline=None)
@given(_score_rows(300, [TIED, ODD, SPREAD, FEW_TIES, [1.0, -np.inf], [0.5]]))
def test_top_n_rows_equals_top_n_row_by_row(case: tuple[np.ndarray, int]) -> None:
    _assert_rows_match(*case)


@settings(max_examples=250, deadline=None)
@given(_score_rows(120, [SPREAD, FEW_TIES, ODD]), st.sampled_from([1, 2, 3]))
def test_small_chunks_give_the_same_rows(case: tuple[np.ndarray, int], chunk: int) -> None:
    # Small chunks make the candidate gathering (chunks of columns) run on small arrays.
    with mock.patch.object(ranking, "_CHUNK", chunk):
        _assert_rows_match(*case)


def test_ties_by_lower_index_and_padding() -> None:
    scores = np.array(
        [
            [1, 3, 3, 2, 3],  # three tied at the top, two wanted
            [-np.inf, 5, -np.inf, -np.inf, -np.inf],  # one candidate only
            [0, 0, 0, 0, 0],
        ],
        dtype=np.float32,
    )
    top, counts = top_n_rows(scores, 2)
    assert top.tolist() == [[1, 2], [1, -1], [0, 1]]
    assert counts.tolist() == [2, 1, 2]
    assert top_n_rows(scores, 0)[0].shape == (3, 0)
    assert top_n_rows(scores, 9)[0][0].tolist() == [1, 2, 4, 3, 0]

"""Vectorised rankings and CSV rows of the legacy outputs, against brute force."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlcore.legacy.rankings import (
    apply_seen_policy,
    block_bounds,
    cooccurrence_rows,
    family_ids,
    positives_mask,
    similar_block,
    top_k_rows,
)
from mlcore.serving.factors import FactorsKind


def cosine_rows(vectors: np.ndarray):  # noqa: ANN201 - the factor kind's similarity, as legacy uses it
    kind = FactorsKind({"item_factors": vectors})
    return lambda rows: kind.similarity_rows(
        np.arange(rows.start, rows.stop), slice(0, len(vectors))
    )


# Few distinct values, so ties are common and the tie rule is exercised.
score_matrices = hnp.arrays(
    np.float32,
    st.tuples(st.integers(1, 6), st.integers(1, 12)),
    elements=st.sampled_from([-np.inf, -1.5, 0.0, 0.25, 0.25, 2.0]),
)


@given(score_matrices, st.integers(0, 14))
def test_top_k_rows_equals_a_full_stable_sort(scores: np.ndarray, k: int) -> None:
    columns, values = top_k_rows(scores, k)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, : min(k, scores.shape[1])]
    np.testing.assert_array_equal(values, np.take_along_axis(scores, expected, axis=1))
    finite = np.isfinite(values)
    np.testing.assert_array_equal(columns[finite], expected[finite])


def test_positives_mask_marks_exactly_the_csr_entries_of_the_block() -> None:
    matrix = sp.csr_matrix(np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0], [1, 1, 1]]))
    mask = positives_mask(matrix.indptr, matrix.indices, slice(1, 4), 3)
    np.testing.assert_array_equal(mask, matrix[1:4].toarray().astype(bool))


def test_exclude_removes_only_positive_items() -> None:
    scores = np.array([[3.0, 1.0, 2.0], [0.5, 0.4, 0.3]], dtype=np.float32)
    positives = np.array([[True, False, False], [False, False, False]])
    apply_seen_policy(scores, positives, "exclude")
    np.testing.assert_array_equal(scores, np.float32([[-np.inf, 1.0, 2.0], [0.5, 0.4, 0.3]]))


def test_downrank_subtracts_three_tenths_of_the_other_items_range() -> None:
    scores = np.array(
        [[3.0, 1.0, 2.0, 5.0], [1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]], dtype=np.float32
    )
    positives = np.array(
        [[True, False, False, True], [True, True, True, True], [False] * 4], dtype=bool
    )
    apply_seen_policy(scores, positives, "downrank")
    # Row 0: others are 1 and 2, range 1, so positives lose 0.3.
    np.testing.assert_allclose(scores[0], [2.7, 1.0, 2.0, 4.7], rtol=1e-6)
    # All positive (no other items) or none positive: unchanged.
    np.testing.assert_array_equal(scores[1], [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(scores[2], [1.0, 1.0, 1.0, 1.0])


def test_block_bounds_cover_every_row_once() -> None:
    blocks = list(block_bounds(10_001, 2_000))
    covered = np.concatenate([np.arange(b.start, b.stop) for b in blocks])
    np.testing.assert_array_equal(covered, np.arange(10_001))
    assert all(b.stop - b.start <= 2_000 for b in blocks)


def test_similar_block_matches_brute_force_cosine_without_the_item_itself() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((9, 4)).astype(np.float32)
    vectors[4] = 0.0  # no direction: never ranked, never returned
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    rows = slice(2, 7)
    columns, values = similar_block(cosine_rows(vectors)(rows), rows, 3)
    for offset, target in enumerate(range(2, 7)):
        finite = np.isfinite(values[offset])
        if target == 4:
            assert not finite.any()
            continue
        brute = [(float(unit[target] @ unit[j]), j) for j in range(9) if j not in (target, 4)]
        best = sorted(brute, key=lambda pair: (-pair[0], pair[1]))[:3]
        assert columns[offset][finite].tolist() == [j for _, j in best]
        np.testing.assert_allclose(values[offset][finite], [s for s, _ in best], rtol=1e-5)


def test_family_scope_keeps_articles_with_microlearning_and_types_apart() -> None:
    item_types = np.array([0, 1, 2, 3, 4, 2], dtype=np.int8)
    unit = np.ones((6, 2), dtype=np.float32) / np.sqrt(2)
    families = family_ids(item_types)
    columns, values = similar_block(
        cosine_rows(unit)(slice(0, 6)), slice(0, 6), 5, families=families
    )
    kept = [set(columns[r][np.isfinite(values[r])].tolist()) for r in range(6)]
    assert kept == [set(), set(), {3, 5}, {2, 5}, set(), {2, 3}]


def test_cooccurrence_is_the_cosine_of_interaction_columns() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]], dtype=float))
    values = cooccurrence_rows(matrix)(slice(0, 4))
    np.testing.assert_allclose(values[0, 1], 0.5, rtol=1e-6)
    np.testing.assert_allclose(values[0, 2], 1 / np.sqrt(2), rtol=1e-6)
    assert values[0, 3] == -np.inf and values[3].max() == -np.inf

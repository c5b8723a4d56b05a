"""Serving kind "neighbours": numpy scoring equals the sparse product; artifacts are checked."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.interfaces import ServingArrays
from mlcore.serving import neighbours
from mlcore.serving.artifact import build_artifact
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.evaluation import serving_scores
from plugins.implicit_recommender import make_item_knn
from plugins.implicit_recommender.item_knn import ItemKNNOptions, top_k_rows
from tests.support.recommender_data import ITEMS, random_dataset


@st.composite
def sparse_matrices(draw: st.DrawFn, rows: int, columns: int) -> sp.csr_matrix:
    cells = draw(
        st.lists(
            st.tuples(
                st.integers(0, rows - 1),
                st.integers(0, columns - 1),
                st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]),
            ),
            max_size=rows * columns,
            unique_by=lambda cell: cell[:2],
        )
    )
    data = [c[2] for c in cells]
    indices = ([c[0] for c in cells], [c[1] for c in cells])
    return sp.csr_matrix((data, indices), shape=(rows, columns), dtype=np.float32)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_numpy_user_scores_equal_the_sparse_product(data: st.DataObject) -> None:
    n_users, n_items = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 8))
    user_items = data.draw(sparse_matrices(n_users, n_items))
    similarity = data.draw(sparse_matrices(n_items, n_items))
    arrays = {
        **neighbours.csr_arrays(similarity, neighbours.SIMILARITY),
        **neighbours.csr_arrays(user_items, neighbours.USER_ITEMS),
    }
    expected = (user_items.astype(np.float64) @ similarity.astype(np.float64)).toarray()
    for user in range(n_users):
        scores = neighbours.NeighboursKind(arrays).user_scores(user, slice(0, n_items))
        assert scores.dtype == np.float32 and scores.shape == (n_items,)
        np.testing.assert_allclose(scores, expected[user], rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_top_k_rows_keeps_the_k_largest_of_each_row(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 8))
    matrix = data.draw(sparse_matrices(n, n))
    k = data.draw(st.integers(1, 4))
    pruned = top_k_rows(matrix, k)
    for row in range(n):
        original, kept = matrix.getrow(row), pruned.getrow(row)
        assert kept.nnz == min(k, original.nnz)
        assert set(kept.indices) <= set(original.indices)
        np.testing.assert_array_equal(kept.toarray(), original.toarray() * (kept.toarray() != 0))
        dropped = set(original.indices) - set(kept.indices)
        if kept.nnz and dropped:
            assert min(kept.data) >= max(original[0, j] for j in dropped)


def _knn_model() -> tuple[TenantModel, ServingArrays]:
    dataset = random_dataset(seed=2)
    serving = make_item_knn(options=ItemKNNOptions(neighbours=4)).fit(dataset).export()
    artifact = build_artifact(dataset, serving, backend="item-knn", algorithm="x", details={})
    return TenantModel(artifact), serving


def test_similar_items_follow_the_similarity_rows() -> None:
    model, serving = _knn_model()
    similarity = neighbours.csr_from_arrays(serving.extra, neighbours.SIMILARITY, len(ITEMS))
    item = ITEMS.index("engage_article2")
    returned = model.similar(item, 3)
    family = slice(ITEMS.index("engage_article1"), ITEMS.index("totara_playlist1"))
    row = similarity.getrow(item).toarray()[0][family]
    expected = np.sort(row[row > 0])[::-1][:3]
    np.testing.assert_allclose([r.score for r in returned][: expected.size], expected, rtol=1e-6)


def test_user_scores_match_evaluation_scores_and_downrank_works() -> None:
    model, serving = _knn_model()
    batch = serving_scores(serving)(np.arange(len(model.user_ids)))
    for user in range(batch.shape[0]):
        np.testing.assert_allclose(model.scores(user, slice(0, len(ITEMS))), batch[user], rtol=1e-6)
        downranked = model.recommend(user, "container_course", 6, seen="downrank")
        assert len(downranked) == 6


def test_artifact_refuses_neighbour_arrays_that_do_not_fit() -> None:
    dataset = random_dataset(seed=1)
    serving = make_item_knn().fit(dataset).export()
    broken = dict(serving.extra)
    broken["similarity_indptr"] = broken["similarity_indptr"][:-1]
    with pytest.raises(ValueError, match="similarity_indptr"):
        build_artifact(
            dataset,
            ServingArrays(**{**serving.__dict__, "extra": broken}),
            backend="item-knn",
            algorithm="x",
            details={},
        )
    missing = {k: v for k, v in serving.extra.items() if not k.startswith("user_items")}
    with pytest.raises(ValueError, match="user_items_indptr"):
        build_artifact(
            dataset,
            ServingArrays(**{**serving.__dict__, "extra": missing}),
            backend="item-knn",
            algorithm="x",
            details={},
        )


def test_unknown_serving_kind_is_refused() -> None:
    serving = ServingArrays("mystery", *(np.zeros((1, 1)),) * 2, np.zeros((1, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="unknown serving kind 'mystery'"):
        serving_scores(serving)

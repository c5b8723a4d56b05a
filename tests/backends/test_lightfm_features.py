"""Feature matrices per LightFM mode (contract §8.4) with identity columns."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.lightfm_recommender.features import build_features
from plugins.lightfm_recommender.stopwords import load_stop_words
from plugins.lightfm_recommender.text_features import tfidf_features
from tests.support.lightfm_fixtures import tiny_dataset


def test_mf_is_identity_only() -> None:
    dataset = tiny_dataset()
    features = build_features(dataset, "mf")
    np.testing.assert_array_equal(features.users.toarray(), np.eye(dataset.n_users))
    np.testing.assert_array_equal(features.items.toarray(), np.eye(dataset.n_items))
    assert dict(features.counts) == {"user_identity": 40, "item_identity": 30}


def test_partial_appends_the_data_layer_features_after_identity() -> None:
    dataset = tiny_dataset()
    features = build_features(dataset, "partial", normalize=False)
    users, items = features.users.toarray(), features.items.toarray()
    assert users.shape == (40, 40 + 3) and items.shape == (30, 30 + 7)
    np.testing.assert_array_equal(users[:, :40], np.eye(40))
    np.testing.assert_array_equal(users[:, 40:], dataset.user_features.toarray())
    np.testing.assert_array_equal(items[:, 30:], dataset.item_features.toarray())
    assert features.users.dtype == np.float32 and features.items.dtype == np.float32


def test_hybrid_appends_tfidf_of_user_texts_and_item_documents() -> None:
    dataset = tiny_dataset()
    features = build_features(dataset, "hybrid", normalize=False)
    words = load_stop_words().words
    user_tfidf, user_terms = tfidf_features(dataset.user_texts, words)
    item_tfidf, item_terms = tfidf_features(dataset.item_documents, words)
    assert "python" in user_terms and "cuisine" in user_terms and "http" not in user_terms
    assert features.counts["user_tfidf"] == len(user_terms) > 0
    assert features.counts["item_tfidf"] == len(item_terms) > 0
    assert features.users.shape == (40, 40 + 3 + len(user_terms))
    assert features.items.shape == (30, 30 + 7 + len(item_terms))
    np.testing.assert_allclose(features.users[:, 43:].toarray(), user_tfidf.toarray())
    np.testing.assert_allclose(features.items[:, 37:].toarray(), item_tfidf.toarray())
    assert features.stop_words_source


@pytest.mark.parametrize("mode", ["mf", "partial", "hybrid"])
def test_normalized_rows_sum_to_one(mode: str) -> None:
    features = build_features(tiny_dataset(), mode)
    for matrix in (features.users, features.items):
        np.testing.assert_allclose(np.asarray(matrix.sum(axis=1)).ravel(), 1.0, rtol=1e-5)


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown LightFM mode"):
        build_features(tiny_dataset(), "deep")

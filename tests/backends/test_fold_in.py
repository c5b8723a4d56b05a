"""Backend fold-in against the libraries' own updates and the frozen item side."""

from __future__ import annotations

import numpy as np
import pytest

from mlcore.interfaces import FoldInRequest
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.fold_in import stored_fold_in, with_users
from mlcore.training.refresh_build import RefreshBuilder
from plugins.implicit_recommender.factor_models import ImplicitALSOptions, ImplicitALSRecommender
from plugins.sequence_recommender import SequenceOptions, SequenceRecommender
from tests.support.recommender_data import random_dataset
from tests.support.refresh_support import make_recommender, published, with_events

LATER = 1_800_000_000


@pytest.mark.parametrize(("alpha", "regularization"), [(1.0, 10.0), (4.0, 0.5)])
def test_als_fold_in_equals_implicits_recalculate_user(alpha: float, regularization: float) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    dataset = random_dataset(seed=2, n_users=40, density=0.3)
    options = ImplicitALSOptions(
        factors=8, alpha=alpha, regularization=regularization, iterations=5
    )
    recommender = ImplicitALSRecommender(options, seed=1, num_threads=1).fit(dataset)
    serving = recommender.export()
    changed = with_events(
        dataset,
        [
            ("u4", "container_course1", 1, LATER),
            ("u9", "engage_article2", 0, LATER),
            ("new", "totara_playlist1", 1, LATER),
        ],
    )
    rows = np.array([changed.user_ids.tolist().index(u) for u in ("u4", "u9", "new")])
    users = with_users(changed, rows)
    arrays = serving.named_arrays()
    _, params = stored_fold_in(arrays)
    folded = recommender.fold_in(FoldInRequest(arrays, params, users, np.array([4, 9, -1])))
    library = AlternatingLeastSquares(
        factors=8, regularization=regularization, alpha=alpha, dtype=np.float32, num_threads=1
    )
    library.item_factors = np.asarray(serving.item_factors)
    expected = library.recalculate_user(np.arange(3), users.weights.tocsr())
    np.testing.assert_allclose(folded.user_factors, expected, rtol=2e-3, atol=2e-4)


def test_lightfm_fold_in_keeps_every_item_and_moves_the_user_to_the_new_items() -> None:
    dataset = random_dataset(seed=4, n_users=40, density=0.3)
    base = published(dataset, "lightfm")
    picks = ["container_course2", "container_course3", "engage_article3"]
    changed = with_events(dataset, [("u5", item, 1, LATER + n) for n, item in enumerate(picks)])
    result = RefreshBuilder(make_recommender).build(base, "v1", changed)
    for name in ("item_factors", "item_bias"):
        np.testing.assert_array_equal(result.artifact.arrays[name], base.arrays[name])
    before, after = TenantModel(base, "v1"), TenantModel(result.artifact, "v2")
    row = after.user_row("u5")
    old = before.scores(before.user_row("u5"), slice(0, after.arrays["item_bias"].shape[0]))
    new = after.scores(row, slice(0, old.shape[0]))
    gained = [new[after.item_row(i)] - old[before.item_row(i)] for i in picks]
    assert np.mean(gained) > np.mean(new - old)


def test_sequence_fold_in_is_the_query_row_of_the_users_newest_items() -> None:
    """A changed and a new user get the query rows a fit of the new data would give them
    (their ``history`` newest items, the newest weighing 1), with the published window."""
    dataset = random_dataset(seed=6, n_users=40, density=0.3)
    options = SequenceOptions(regularization=5.0, history=4, history_half_life=2.0)
    serving = SequenceRecommender(options, num_threads=1).fit(dataset).export()
    picks = ["container_course2", "engage_article3", "totara_playlist1"]
    events = [("u5", item, 1, LATER + n) for n, item in enumerate(picks)]
    changed = with_events(dataset, [*events, ("new", "container_course1", 1, LATER)])
    rows = np.array([changed.user_ids.tolist().index(u) for u in ("u5", "new")])
    arrays = serving.named_arrays()
    _, params = stored_fold_in(arrays)
    request = FoldInRequest(arrays, params, with_users(changed, rows), np.array([5, -1]))
    folded = SequenceRecommender(SequenceOptions(), num_threads=1).fold_in(request)
    refit = SequenceRecommender(options, num_threads=1).fit(changed)
    np.testing.assert_allclose(folded.user_items.toarray(), refit.user_items_[rows].toarray())
    newest = folded.user_items.toarray()[0]
    assert newest[changed.item_ids.tolist().index(picks[-1])] == 1.0
    assert np.count_nonzero(newest) == 4

"""Folding changed users into a published model, for every backend the service serves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from mlcore.interfaces import ModelArtifact
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.refresh_build import RefreshBuilder, RefreshUnsupported
from tests.support.recommender_data import ITEMS, random_dataset
from tests.support.refresh_support import BACKENDS, make_recommender, published, with_events

LATER = 1_800_000_000


@pytest.fixture(scope="module")
def dataset():
    return random_dataset(seed=5, n_users=40, density=0.3)


@pytest.fixture(scope="module", params=BACKENDS)
def base(request, dataset) -> tuple[str, ModelArtifact]:
    return request.param, published(dataset, request.param)


def refreshed(base: ModelArtifact, dataset) -> TenantModel:
    result = RefreshBuilder(make_recommender).build(base, "v1", dataset)
    assert result.artifact is not None
    model = TenantModel(result.artifact, "v2")
    model.check()
    return model


def unseen_course(dataset, user: str) -> str:
    row = dataset.user_ids.tolist().index(user)
    seen = set(dataset.interactions[row].indices.tolist())
    return next(
        i for n, i in enumerate(ITEMS) if i.startswith("container_course") and n not in seen
    )


def test_an_item_just_interacted_with_leaves_the_users_list(base, dataset) -> None:
    name, artifact = base
    before = TenantModel(artifact, "v1")
    user = "u3"
    top = [r.item_id for r in before.recommend(before.user_row(user), "container_course", 3)]
    changed = with_events(dataset, [(user, top[0], 1, LATER)])
    after = refreshed(artifact, changed)
    listed = [r.item_id for r in after.recommend(after.user_row(user), "container_course", 10)]
    assert top[0] not in listed, name
    assert after.manifest["refresh"] is True and after.manifest["base_version"] == "v1"
    assert after.manifest["refresh_counts"]["users_changed"] == 1


def test_users_whose_data_did_not_change_keep_their_scores(base, dataset) -> None:
    name, artifact = base
    user = "u7"
    changed = with_events(dataset, [(user, unseen_course(dataset, user), 1, LATER)])
    before, after = TenantModel(artifact, "v1"), refreshed(artifact, changed)
    for other in ("u0", "u12", "u39"):
        np.testing.assert_allclose(
            after.scores(after.user_row(other), slice(0, len(ITEMS))),
            before.scores(before.user_row(other), slice(0, len(ITEMS))),
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )


def test_a_new_learner_with_five_interactions_is_known_and_personalised(base, dataset) -> None:
    name, artifact = base
    picks = [
        "container_course1",
        "container_course2",
        "engage_article1",
        "engage_article2",
        "totara_playlist1",
    ]
    changed = with_events(dataset, [("newbie", item, 1, LATER + n) for n, item in enumerate(picks)])
    after = refreshed(artifact, changed)
    row = after.user_row("newbie")
    assert row is not None, name
    listed = [r.item_id for r in after.recommend(row, "container_course", 10)]
    assert not set(listed) & set(picks)
    if name != "popularity":  # popularity ranks every learner alike, by design
        scores = after.scores(row, slice(0, len(ITEMS)))
        assert np.ptp(scores) > 0
        assert (
            listed != [r.item_id for r in after.popular("container_course", 10)] or len(listed) < 2
        )


def test_nothing_changed_publishes_nothing(base, dataset) -> None:
    _, artifact = base
    assert RefreshBuilder(make_recommender).build(artifact, "v1", dataset).artifact is None


def test_a_model_without_digests_is_not_refreshed(dataset) -> None:
    artifact = published(dataset, "popularity")
    arrays = {k: v for k, v in artifact.arrays.items() if k != "user_digest"}
    with pytest.raises(RefreshUnsupported, match="next full training"):
        RefreshBuilder(make_recommender).build(
            ModelArtifact(artifact.manifest, arrays), "v1", dataset
        )


def _with_new_course(dataset):
    """The dataset plus ``container_course99`` (topic features of course 1) and a fan of it."""
    position = int(dataset.type_offsets[1])  # the end of the courses
    features = sp.csr_matrix(dataset.item_features)
    row = features[ITEMS.index("container_course1")]
    items = dataset.item_ids.tolist()
    items.insert(position, "container_course99")
    shifted = np.where(dataset.item_index >= position, dataset.item_index + 1, dataset.item_index)
    grown = dataclasses.replace(
        dataset,
        item_ids=items,
        item_types=np.insert(dataset.item_types, position, 0),
        item_features=sp.vstack([features[:position], row, features[position:]], format="csr"),
        item_documents=(
            *dataset.item_documents[:position],
            "new",
            *dataset.item_documents[position:],
        ),
        item_index=shifted.astype(np.int32),
    )
    return with_events(grown, [("u1", "container_course99", 1, LATER)])


def test_new_items_join_in_partial_mode_and_stay_out_otherwise(dataset) -> None:
    grown = _with_new_course(dataset)
    lightfm = RefreshBuilder(make_recommender).build(published(dataset, "lightfm"), "v1", grown)
    ease_base = published(dataset, "ease")
    ease = RefreshBuilder(make_recommender).build(ease_base, "v1", grown)
    assert lightfm.counts["items_new"] == 1 and lightfm.counts["items_left_out"] == 0
    assert TenantModel(lightfm.artifact, "v2").item_row("container_course99") is not None
    # Left out, u1's interaction with it is no change: nothing to publish.
    assert ease.artifact is None and ease.counts["items_left_out"] == 1
    also = with_events(grown, [("u2", unseen_course(dataset, "u2"), 1, LATER)])
    ease = RefreshBuilder(make_recommender).build(ease_base, "v1", also)
    assert ease.counts["users_changed"] == 1
    assert TenantModel(ease.artifact, "v2").item_row("container_course99") is None

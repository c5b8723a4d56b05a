"""TenantModel on hand-built artifacts: type filter, seen items, ties, fallback, similar items."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mlcore.interfaces import ModelArtifact
from mlcore.item_types import COMPONENTS, FAMILIES
from mlcore.serving.ranking import top_n
from mlcore.serving.tenant_model import TenantModel

# Items grouped by component: 2 courses, 1 workspace, 3 articles, 2 microlearning, 2 playlists.
COUNTS = (2, 1, 3, 2, 2)
OFFSETS = np.concatenate([[0], np.cumsum(COUNTS)]).astype(np.int64)
ITEM_IDS = np.array(
    [f"{c}{k + 1}" for c, n in zip(COMPONENTS, COUNTS, strict=True) for k in range(n)]
)
N_ITEMS = len(ITEM_IDS)


def _artifact(
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    positives: list[list[int]],
    *,
    user_bias: np.ndarray | None = None,
    item_bias: np.ndarray | None = None,
    popularity: np.ndarray | None = None,
    message: str = "success",
) -> ModelArtifact:
    n_users = user_factors.shape[0]
    norms = np.linalg.norm(item_factors, axis=1, keepdims=True)
    unit = np.divide(item_factors, norms, out=np.zeros_like(item_factors), where=norms > 0)
    indptr = np.concatenate([[0], np.cumsum([len(p) for p in positives])]).astype(np.int64)
    indices = np.array([i for p in positives for i in sorted(p)], dtype=np.int32)
    return ModelArtifact(
        manifest={"tenant": "0", "message": message, "algorithm": "hybrid"},
        arrays={
            "user_ids": np.array([str(10 + u) for u in range(n_users)]),
            "item_ids": ITEM_IDS,
            "type_offsets": OFFSETS,
            "user_factors": user_factors.astype(np.float32),
            "user_bias": (np.zeros(n_users) if user_bias is None else user_bias).astype(np.float32),
            "item_factors": item_factors.astype(np.float32),
            "item_bias": (np.zeros(N_ITEMS) if item_bias is None else item_bias).astype(np.float32),
            "item_unit": unit.astype(np.float32),
            "positives_indptr": indptr,
            "positives_indices": indices,
            "item_popularity": (
                np.arange(N_ITEMS, dtype=np.float32) if popularity is None else popularity
            ).astype(np.float32),
        },
    )


def _simple_model(positives: list[list[int]] | None = None) -> TenantModel:
    # One user, 1-d factors: item i scores i (+ bias 0), so higher index = better.
    items = np.arange(N_ITEMS, dtype=np.float32)[:, None]
    return TenantModel(_artifact(np.ones((1, 1)), items, positives or [[]]), version="v1")


def _ids(ranked: list) -> list[str]:
    return [r.item_id for r in ranked]


def test_ids_rows_and_metadata() -> None:
    model = _simple_model()
    assert model.trained and model.tenant == "0" and model.algorithm == "hybrid"
    assert model.user_row("10") == 0 and model.user_row("99") is None
    assert model.item_row("engage_article2") == 4 and model.item_row("engage_article9") is None


@pytest.mark.parametrize("component", COMPONENTS)
def test_recommend_returns_only_the_requested_type(component: str) -> None:
    ranked = _simple_model().recommend(0, component, 10)
    assert ranked and all(r.item_id.rstrip("0123456789") == component for r in ranked)
    assert len(ranked) == COUNTS[COMPONENTS.index(component)]
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


def test_exclude_drops_positives_and_fills_from_the_next_items() -> None:
    model = _simple_model([[5, 3]])  # engage_article3 (row 5) and engage_article1 (row 3)
    assert _ids(model.recommend(0, "engage_article", 2)) == ["engage_article2"]
    assert _ids(model.recommend(0, "totara_playlist", 1)) == ["totara_playlist2"]


def test_downrank_is_the_originals_rule() -> None:
    # Scores are the row numbers 0..9; positives 5 and 4 (articles 3 and 2).
    model = _simple_model([[4, 5]])
    ranked = model.recommend(0, "engage_article", 3, seen="downrank")
    # Non-positive scores span 0..9, so positives lose 0.5 * 9 = 4.5: 5 -> 0.5, 4 -> -0.5.
    assert _ids(ranked) == ["engage_article1", "engage_article3", "engage_article2"]
    assert [r.score for r in ranked] == pytest.approx([3.0, 0.5, -0.5])


def test_downrank_does_nothing_when_every_item_is_positive() -> None:
    model = _simple_model([list(range(N_ITEMS))])
    ranked = model.recommend(0, "container_course", 2, seen="downrank")
    assert [r.score for r in ranked] == [1.0, 0.0]


def test_ties_are_broken_by_item_index() -> None:
    flat = TenantModel(_artifact(np.ones((1, 1)), np.ones((N_ITEMS, 1)), [[]]))
    assert _ids(flat.recommend(0, "engage_article", 3)) == [
        "engage_article1",
        "engage_article2",
        "engage_article3",
    ]


def test_n_zero_and_more_than_available() -> None:
    model = _simple_model()
    assert model.recommend(0, "engage_article", 0) == []
    assert model.popular("engage_article", 0) == []
    assert model.similar(3, 0) == []
    assert len(model.recommend(0, "container_workspace", 50)) == 1


def test_popular_fallback_ranks_by_interaction_share() -> None:
    popularity = np.array([5, 1, 0, 2, 9, 2, 7, 1, 3, 0], dtype=np.float32)
    model = TenantModel(
        _artifact(np.ones((1, 1)), np.ones((N_ITEMS, 1)), [[]], popularity=popularity)
    )
    ranked = model.popular("engage_article", 3)
    assert _ids(ranked) == ["engage_article2", "engage_article1", "engage_article3"]
    assert [r.score for r in ranked] == pytest.approx([9 / 30, 2 / 30, 2 / 30])


def test_untrained_tenant_knows_no_users() -> None:
    model = TenantModel(ModelArtifact(manifest={"message": "too small"}))
    assert not model.trained and model.user_row("10") is None and model.item_row("x1") is None


def test_similar_items_stay_in_the_family_and_exclude_the_item() -> None:
    rng = np.random.default_rng(3)
    model = TenantModel(_artifact(np.ones((1, 4)), rng.normal(size=(N_ITEMS, 4)), [[]]))
    unit = model.arrays["item_unit"]
    for row in range(N_ITEMS):
        component = COMPONENTS[int(np.searchsorted(OFFSETS, row, side="right")) - 1]
        ranked = model.similar(row, N_ITEMS)
        family = FAMILIES[component]
        assert all(r.item_id.rstrip("0123456789") in family for r in ranked)
        assert ITEM_IDS[row] not in _ids(ranked)
        members = [i for i in range(N_ITEMS) if ITEM_IDS[i].rstrip("0123456789") in family]
        assert len(ranked) == len(members) - 1
        for r in ranked:
            other = ITEM_IDS.tolist().index(r.item_id)
            assert r.score == pytest.approx(float(unit[other] @ unit[row]), abs=1e-6)
    # An article's neighbours include microlearning items (one Totara table).
    assert any(r.item_id.startswith("engage_microlearning") for r in model.similar(3, 10))


def _brute_force(scores: np.ndarray, allowed: list[int], n: int) -> list[int]:
    return sorted(allowed, key=lambda i: (-float(scores[i]), i))[:n]


_small_ints = arrays(
    np.float32, st.tuples(st.just(N_ITEMS), st.integers(1, 3)), elements=st.integers(-3, 3)
)


@settings(max_examples=60, deadline=None)
@given(
    item_factors=_small_ints,
    user=arrays(np.float32, 3, elements=st.integers(-3, 3)),
    item_bias=arrays(np.float32, N_ITEMS, elements=st.integers(-2, 2)),
    positives=st.sets(st.integers(0, N_ITEMS - 1)),
    component=st.sampled_from(COMPONENTS),
    n=st.integers(0, 6),
    seen=st.sampled_from(["exclude", "downrank"]),
)
def test_recommend_equals_a_brute_force_sort(
    item_factors: np.ndarray,
    user: np.ndarray,
    item_bias: np.ndarray,
    positives: set[int],
    component: str,
    n: int,
    seen: str,
) -> None:
    # Small integers keep every float32 sum exact, so ties are real ties.
    d = item_factors.shape[1]
    artifact = _artifact(user[None, :d], item_factors, [sorted(positives)], item_bias=item_bias)
    model = TenantModel(artifact)
    scores = item_factors.astype(np.float64) @ user[:d].astype(np.float64) + item_bias
    window = range(
        int(OFFSETS[COMPONENTS.index(component)]), int(OFFSETS[COMPONENTS.index(component) + 1])
    )
    if seen == "exclude":
        allowed = [i for i in window if i not in positives]
    else:
        allowed = list(window)
        others = [scores[i] for i in range(N_ITEMS) if i not in positives]
        if positives and others:
            for i in positives:
                scores[i] -= 0.5 * (max(others) - min(others))
    expected = _brute_force(scores, allowed, n)
    ranked = model.recommend(0, component, n, seen=seen)  # type: ignore[arg-type]
    assert _ids(ranked) == [str(ITEM_IDS[i]) for i in expected]
    assert [r.score for r in ranked] == pytest.approx([scores[i] for i in expected])


@settings(max_examples=100, deadline=None)
@given(
    scores=arrays(
        np.float32,
        st.integers(0, 30),
        elements=st.one_of(st.integers(-4, 4).map(float), st.just(-np.inf)),
    ),
    n=st.integers(0, 35),
)
def test_top_n_equals_a_brute_force_sort(scores: np.ndarray, n: int) -> None:
    finite = [i for i in range(scores.shape[0]) if np.isfinite(scores[i])]
    assert top_n(scores, n).tolist() == _brute_force(scores, finite, n)

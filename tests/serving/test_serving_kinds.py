"""Every serving kind of the table: one score formula for one user, a batch and similar items."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.interfaces import ServingArrays
from mlcore.serving import blend, item_item, neighbours
from mlcore.serving.kind import ServingKind
from mlcore.serving.kinds import SERVING_KINDS, serving_kind


def random_arrays(kind: str, n_users: int, n_items: int, seed: int) -> dict[str, np.ndarray]:
    """Plausible arrays of ``kind`` for ``n_users`` × ``n_items``, as a plugin would export."""
    arrays = random_serving(kind, n_users, n_items, seed).named_arrays()
    return {**arrays, **serving_kind(kind).derived_arrays(arrays)}


def random_serving(kind: str, n_users: int, n_items: int, seed: int) -> ServingArrays:
    """Random exported arrays of ``kind`` (a blend: of one member of every other kind)."""
    rng = np.random.default_rng(seed)
    if kind == blend.KIND:
        members = [random_serving(k, n_users, n_items, seed + i) for i, k in enumerate(MEMBERS)]
        return blend.blend_arrays(members, rng.uniform(0.1, 2.0, len(members)).tolist())
    if kind == "factors":
        serving = ServingArrays(
            kind,
            rng.standard_normal((n_users, 3)).astype(np.float32),
            rng.standard_normal(n_users).astype(np.float32),
            rng.standard_normal((n_items, 3)).astype(np.float32),
            rng.standard_normal(n_items).astype(np.float32),
        )
    else:
        sim = sp.random(n_items, n_items, density=0.4, random_state=seed, dtype=np.float32)
        rows = sp.random(n_users, n_items, density=0.3, random_state=seed + 1, dtype=np.float32)
        serving = ServingArrays(
            kind,
            np.zeros((n_users, 0), np.float32),
            np.zeros(n_users, np.float32),
            np.zeros((n_items, 0), np.float32),
            np.zeros(n_items, np.float32),
            extra={
                **neighbours.csr_arrays(sim, neighbours.SIMILARITY),
                **neighbours.csr_arrays(rows, neighbours.USER_ITEMS),
            },
        )
    if kind == item_item.KIND:
        weights = rng.standard_normal((n_items, n_items)).astype(np.float32)
        extra = dict(serving.extra)
        for name in neighbours.SIMILARITY:
            del extra[name]
        serving = replace(serving, extra={**extra, item_item.WEIGHTS: weights})
    return serving


MEMBERS = ("factors", "neighbours", "item_item")


@pytest.mark.parametrize("kind", sorted(SERVING_KINDS))
@settings(max_examples=20, deadline=None)
@given(n_users=st.integers(1, 7), n_items=st.integers(1, 9), seed=st.integers(0, 10_000))
def test_one_user_and_a_batch_score_alike(kind: str, n_users: int, n_items: int, seed: int) -> None:
    arrays = random_arrays(kind, n_users, n_items, seed)
    scorer = serving_kind(kind)(arrays)
    batch = scorer.batch_scores(np.arange(n_users))
    assert batch.shape == (n_users, n_items) and batch.dtype == np.float32
    for user in range(n_users):
        whole = scorer.user_scores(user, slice(0, n_items))
        np.testing.assert_allclose(whole, batch[user], rtol=1e-5, atol=1e-5)
        window = slice(n_items // 3, n_items)
        np.testing.assert_allclose(
            scorer.user_scores(user, window), whole[window], rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("kind", sorted(SERVING_KINDS))
def test_similarity_of_one_item_equals_its_row_of_a_block(kind: str) -> None:
    arrays = random_arrays(kind, 4, 12, seed=3)
    scorer = serving_kind(kind)(arrays)
    block = scorer.similarity_rows(np.arange(12), slice(0, 12))
    for item in range(12):
        one = scorer.similarity_rows(np.array([item]), slice(2, 12))[0]
        np.testing.assert_allclose(one, block[item, 2:], rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(SERVING_KINDS))
def test_check_refuses_misshapen_or_non_finite_arrays(kind: str) -> None:
    arrays = random_arrays(kind, 4, 6, seed=1)
    cls: type[ServingKind] = serving_kind(kind)
    cls.check(arrays, 4, 6)
    with pytest.raises(ValueError, match="rows, expected 5"):
        cls.check(arrays, 5, 6)
    poisoned = dict(arrays, item_bias=np.array([0, 0, np.nan, 0, 0, 0], np.float32))
    with pytest.raises(ValueError, match="item_bias contains NaN"):
        cls.check(poisoned, 4, 6)
    missing = {k: v for k, v in arrays.items() if k != "user_bias"}
    with pytest.raises(ValueError, match="user_bias is missing"):
        cls.check(missing, 4, 6)


def test_unknown_kind_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown serving kind 'tree'.*blend, factors, item_item"):
        serving_kind("tree")

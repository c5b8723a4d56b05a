"""Blend weights fitted on validation, and the blend kind's standardisation."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mlcore.interfaces import ServingArrays
from mlcore.serving.blend import standardised
from mlcore.training.blending import fit_blend_weights
from mlcore.training.splits import temporal_split
from tests.support.lightfm_fixtures import tiny_dataset


def scores_as_factors(scores: np.ndarray) -> ServingArrays:
    """Serving arrays whose scores are exactly ``scores`` (user one-hot × item columns)."""
    n_users, n_items = scores.shape
    return ServingArrays(
        "factors",
        np.eye(n_users, dtype=np.float32),
        np.zeros(n_users, np.float32),
        np.ascontiguousarray(scores.T, dtype=np.float32),
        np.zeros(n_items, np.float32),
    )


def test_weights_go_to_the_members_that_know_the_future_and_none_to_noise() -> None:
    split = temporal_split(tiny_dataset())
    rng = np.random.default_rng(0)
    truth = split.test.interactions.toarray()
    shape = truth.shape
    # Two members, each knowing half of the items' future; one member is noise.
    half = np.arange(shape[1]) % 2 == 0
    first = np.where(half, truth, 0) + 0.01 * rng.random(shape)
    second = np.where(~half, truth, 0) + 0.01 * rng.random(shape)
    noise = rng.random(shape)
    members = [scores_as_factors(s) for s in (first, noise, second)]
    fitted = fit_blend_weights(members, split)
    assert fitted.weights[0] > 0 and fitted.weights[2] > 0
    assert fitted.weights[1] == 0
    assert fitted.ndcg > max(fitted.single_ndcg)


def test_one_good_member_keeps_weight_one_alone() -> None:
    split = temporal_split(tiny_dataset())
    truth = split.test.interactions.toarray().astype(np.float64)
    rng = np.random.default_rng(1)
    members = [scores_as_factors(rng.random(truth.shape)), scores_as_factors(truth)]
    fitted = fit_blend_weights(members, split)
    assert fitted.weights == (0.0, 1.0)
    assert fitted.ndcg == fitted.single_ndcg[1]


@settings(max_examples=50, deadline=None)
@given(
    rows=arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 12)),
                elements=st.floats(-1e3, 1e3, width=32)),
    scale=st.floats(0.01, 100),
    shift=st.floats(-100, 100),
)
def test_standardised_rows_ignore_scale_and_shift(rows: np.ndarray, scale: float, shift: float) -> None:
    z = standardised(rows)
    assert z.shape == rows.shape and z.dtype == np.float32 and np.isfinite(z).all()
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-3)
    moved = standardised(rows.astype(np.float64) * scale + shift)
    varied = rows.std(axis=1) > 1e-2 * np.abs(rows).max(axis=1, initial=1)
    np.testing.assert_allclose(moved[varied], z[varied], atol=2e-2)
    constant = np.ptp(rows, axis=1) == 0
    assert np.all(z[constant] == 0)


def test_a_member_without_any_score_spread_contributes_nothing() -> None:
    flat = sp.csr_matrix(np.ones((2, 5)))
    np.testing.assert_array_equal(standardised(flat.toarray()), 0)


def test_a_required_member_keeps_a_positive_weight_beside_a_better_leader() -> None:
    split = temporal_split(tiny_dataset())
    truth = split.test.interactions.toarray().astype(np.float64)
    rng = np.random.default_rng(1)
    members = [scores_as_factors(rng.random(truth.shape)), scores_as_factors(truth)]
    fitted = fit_blend_weights(members, split, required=0)
    assert fitted.weights[0] > 0 and fitted.weights[1] == 1.0
    free = fit_blend_weights(members, split)
    assert fitted.ndcg <= free.ndcg

"""Fit blend weights on the temporal validation split.

The blend serves ``sum_m w_m * z_m(u, ·)``, where ``z_m`` are member ``m``'s
standardised scores (:mod:`mlcore.serving.blend`). Weights are found by
coordinate ascent on NDCG@10 over a grid: start from the best single member with
weight 1, then, member by member, try every grid weight and keep a change only
when it raises NDCG@10; repeat until a pass changes nothing (at most
``passes``). A member may end with weight 0 (it is then not served). Scores come
from :class:`mlcore.serving.blend.BlendKind` itself, so the weights are judged
on exactly what serving computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlcore.interfaces import ServingArrays
from mlcore.serving.blend import BlendKind, blend_arrays, combine
from mlcore.training.evaluation import evaluate
from mlcore.training.splits import Split, sample_users

#: Weights tried for each member, relative to the leading member's 1.
GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
#: Smallest relative NDCG@10 gain that changes a weight: on a few hundred validation
#: users, smaller gains are mostly noise, and a member kept for noise costs on new data.
MIN_GAIN = 0.01


@dataclass(frozen=True)
class BlendWeights:
    """Fitted weights, one per member, and the NDCG@10 they reach on the users scored.

    Attributes:
        weights: One weight per member, in the members' order (0: not served).
        ndcg: NDCG@10 of the blend on the (sampled) validation users.
        single_ndcg: NDCG@10 of each member alone on the same users.
    """

    weights: tuple[float, ...]
    ndcg: float
    single_ndcg: tuple[float, ...]

    @property
    def members_used(self) -> int:
        return sum(1 for weight in self.weights if weight > 0)


def fit_blend_weights(
    members: Sequence[ServingArrays],
    split: Split,
    *,
    max_users: int = 2000,
    seed: int = 42,
    passes: int = 3,
    grid: Sequence[float] = GRID,
    min_gain: float = MIN_GAIN,
    required: int | None = None,
) -> BlendWeights:
    """Weights for ``members`` (each fitted on ``split.train``) by NDCG@10 on ``split.test``.

    Args:
        members: Exported arrays of each candidate.
        split: The temporal split the members were fitted on.
        max_users: Validation users scored (a seeded sample above it).
        seed: Seed of the sample.
        passes: Most rounds of coordinate ascent.
        grid: Weights tried per member.
        min_gain: Relative NDCG@10 gain a weight change must bring.
        required: A member that must keep a weight above 0 (the configured
            ``ML_RECOMMENDER``: a blend is served *around* it); it starts at its best
            positive grid weight beside the leader.
    """
    validation = sample_users(split.test, max_users, seed)
    users = np.unique(validation.user_index)
    kind = BlendKind(blend_arrays(members, [1.0] * len(members)).named_arrays())
    parts = kind.member_scores(users)
    position = np.full(split.train.n_users, -1, dtype=np.int64)
    position[users] = np.arange(users.size)

    def ndcg(weights: Sequence[float]) -> float:
        blended = combine(weights, parts)
        return evaluate(
            lambda rows: blended[position[rows]], split.train, validation, k=10, with_auc=False
        ).ndcg

    singles = tuple(ndcg(_one_hot(len(members), m)) for m in range(len(members)))
    leader = int(np.argmax(singles))
    weights, best = list(_one_hot(len(members), leader)), singles[leader]
    if required is not None and required != leader:
        options = [[*weights[:required], v, *weights[required + 1 :]] for v in grid if v > 0]
        scored = [(ndcg(option), option) for option in options]
        best, weights = max(scored, key=lambda pair: pair[0])
    for _ in range(passes):
        changed = False
        for member in range(len(members)):
            if member == leader:
                continue
            for value in grid:
                if value == 0 and member == required:
                    continue
                trial = [*weights[:member], value, *weights[member + 1 :]]
                score = ndcg(trial)
                if score > best * (1.0 + min_gain) + 1e-12:
                    weights, best, changed = trial, score, True
        if not changed:
            break
    return BlendWeights(tuple(weights), best, singles)


def _one_hot(size: int, index: int) -> tuple[float, ...]:
    return tuple(1.0 if m == index else 0.0 for m in range(size))

"""Serving kind ``"blend"``: a weighted sum of several models' per-user standardised scores.

Models score on different scales (a dot product, a sum of similarities, ...), so
each member's scores of one user over **every** item are standardised first
(z-score: minus their mean, divided by their standard deviation; a constant row
becomes 0), then summed with the member weights::

    score(u, i) = sum_m w_m * (s_m(u, i) - mean_i s_m(u, ·)) / std_i s_m(u, ·)

Similar items use the same formula on each member's similarity row of the query
item (entries a member knows no relation for count as that row's lowest value;
an item no member relates to stays ``-inf``). One user, a batch and similar items
all go through :func:`standardised` and :func:`combine`, so the blend the trainer
validated is the blend that serves.

Arrays: ``blend_weights`` (M,) float32, ``blend_kinds`` (M,) unicode (each member's
serving kind), and every array of member ``m`` under the prefix ``blend<m>_``
(e.g. ``blend0_user_factors``); the blend's own factor arrays have width 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import ClassVar

import numpy as np

from mlcore.interfaces import ServingArrays
from mlcore.serving.kind import ServingKind

KIND = "blend"
WEIGHTS = "blend_weights"
KINDS = "blend_kinds"


def kind_class(name: str) -> type[ServingKind]:
    """A member's kind class from the table (imported here: the table lists this kind too)."""
    from mlcore.serving.kinds import serving_kind  # noqa: PLC0415 - the table imports us

    return serving_kind(name)


def member_prefix(index: int) -> str:
    """The array-name prefix of member ``index``."""
    return f"blend{index}_"


def standardised(scores: np.ndarray) -> np.ndarray:
    """(B, I) float32: each row minus its mean, divided by its standard deviation."""
    scores = np.asarray(scores, dtype=np.float64)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return ((scores - mean) / std).astype(np.float32)


def combine(weights: Sequence[float], parts: Sequence[np.ndarray]) -> np.ndarray:
    """(B, I) float32 weighted sum of standardised member scores."""
    total = np.zeros(parts[0].shape, dtype=np.float32)
    for weight, part in zip(weights, parts, strict=True):
        if weight:
            total += np.float32(weight) * part
    return total


def blend_arrays(members: Sequence[ServingArrays], weights: Sequence[float]) -> ServingArrays:
    """The serving arrays of a blend of ``members`` (none of them a blend) with ``weights``.

    Raises:
        ValueError: No members, a nested blend, or as many weights as members missing.
    """
    if not members or len(members) != len(weights):
        raise ValueError("a blend needs one weight per member and at least one member")
    extra: dict[str, np.ndarray] = {
        WEIGHTS: np.asarray(weights, dtype=np.float32),
        KINDS: np.asarray([member.kind for member in members], dtype=str),
    }
    for index, member in enumerate(members):
        if member.kind == KIND:
            raise ValueError("a blend cannot contain a blend")
        for name, array in member.named_arrays().items():
            extra[member_prefix(index) + name] = array
    n_users, n_items = members[0].user_bias.shape[0], members[0].item_bias.shape[0]
    return ServingArrays.without_factors(KIND, n_users, n_items, extra)


def member_arrays(arrays: Mapping[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
    """The arrays of member ``index``, under their own names."""
    prefix = member_prefix(index)
    return {name[len(prefix) :]: array for name, array in arrays.items() if name.startswith(prefix)}


class BlendKind(ServingKind):
    """Weighted sum of the members' standardised scores (see the module docstring)."""

    name: ClassVar[str] = KIND

    @classmethod
    def check(cls, arrays: Mapping[str, np.ndarray], n_users: int, n_items: int) -> None:
        super().check(arrays, n_users, n_items)
        if WEIGHTS not in arrays or KINDS not in arrays:
            raise ValueError(f"serving kind {KIND!r} needs arrays {WEIGHTS} and {KINDS}")
        weights, kinds = np.asarray(arrays[WEIGHTS]), np.asarray(arrays[KINDS])
        if weights.ndim != 1 or weights.shape != kinds.shape or weights.size == 0:
            raise ValueError(f"serving arrays {WEIGHTS} and {KINDS} must be equal, non-empty lists")
        if not np.isfinite(weights).all():
            raise ValueError(f"serving array {WEIGHTS} contains NaN or infinite values")
        for index, kind in enumerate(kinds.tolist()):
            if kind == KIND:
                raise ValueError("a blend cannot contain a blend")
            try:
                kind_class(str(kind)).check(member_arrays(arrays, index), n_users, n_items)
            except ValueError as exc:
                raise ValueError(f"blend member {index} ({kind}): {exc}") from None

    @classmethod
    def derived_arrays(cls, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        derived = super().derived_arrays(arrays)
        for index, kind in enumerate(np.asarray(arrays[KINDS]).tolist()):
            own = kind_class(str(kind)).derived_arrays(member_arrays(arrays, index))
            derived.update({member_prefix(index) + name: array for name, array in own.items()})
        return derived

    @cached_property
    def weights(self) -> tuple[float, ...]:
        """The member weights."""
        return tuple(float(w) for w in np.asarray(self.arrays[WEIGHTS]))

    @cached_property
    def members(self) -> tuple[ServingKind, ...]:
        """The scorer of each member."""
        kinds = np.asarray(self.arrays[KINDS]).tolist()
        return tuple(
            kind_class(str(kind))(member_arrays(self.arrays, index))
            for index, kind in enumerate(kinds)
        )

    @property
    def _n_items(self) -> int:
        return int(np.asarray(self.arrays["item_bias"]).shape[0])

    def member_scores(self, users: np.ndarray) -> list[np.ndarray]:
        """Each member's standardised (B, I) scores of the user rows ``users``."""
        return [standardised(member.batch_scores(users)) for member in self.members]

    def batch_scores(self, users: np.ndarray) -> np.ndarray:
        return combine(self.weights, self.member_scores(users))

    def user_scores(self, user: int, items: slice) -> np.ndarray:
        return self.batch_scores(np.array([user], dtype=np.int64))[0, items].copy()

    def similarity_rows(self, items: np.ndarray, window: slice) -> np.ndarray:
        everything = slice(0, self._n_items)
        parts, related = [], np.zeros((items.shape[0], self._n_items), dtype=bool)
        for member in self.members:
            rows = member.similarity_rows(items, everything)
            finite = np.isfinite(rows)
            related |= finite
            lowest = np.where(finite, rows, np.inf).min(axis=1, keepdims=True)
            lowest[~np.isfinite(lowest)] = 0.0
            parts.append(standardised(np.where(finite, rows, lowest)))
        result = combine(self.weights, parts)
        result[~related] = -np.inf
        return result[:, window]

"""The per-tenant dataset every recommender trains on, and its ids.

The core owns ids: Totara ids are mapped to matrix indices here, and backends see
only matrices. Ids are kept as :class:`Ids` (one UTF-8 byte blob and offsets), so
their memory is their total length, never rows × longest id. Items are **grouped by
component** in :data:`COMPONENTS` order, so each item type is the contiguous slice
``type_slice(c)``; serving relies on it to score one type with array views and no
copies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import repeat
from typing import Any, overload

import numpy as np
import scipy.sparse as sp

from mlcore.item_types import COMPONENTS

#: Longest Totara id accepted, in UTF-8 bytes (Totara's ids are short numbers).
MAX_ID_BYTES = 255


@dataclass(frozen=True, eq=False)
class Ids(Sequence[str]):
    """A sequence of ids stored as one UTF-8 byte blob and int64 offsets.

    A fixed-width numpy unicode array takes rows × longest id × 4 bytes (one 20 KB id
    among 5,000 users made every row 80 KB); this takes the ids' total UTF-8 length
    plus 8 bytes per id, and is stored as two plain arrays (no object dtype, no pickle).

    Attributes:
        blob: (B,) uint8, the ids' UTF-8 bytes back to back.
        offsets: (N + 1,) int64, id ``i`` is ``blob[offsets[i]:offsets[i + 1]]``.
    """

    blob: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, values: Iterable[Any]) -> Ids:
        """Ids from strings (anything else is converted with ``str``)."""
        if isinstance(values, Ids):
            return values
        texts = values.tolist() if isinstance(values, np.ndarray) else list(values)
        texts = [v if isinstance(v, str) else str(v) for v in texts]
        joined = "".join(texts)
        if joined.isascii():
            data, lengths = joined.encode("ascii"), list(map(len, texts))
        else:
            encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
            data, lengths = b"".join(encoded), list(map(len, encoded))
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(np.frombuffer(data, dtype=np.uint8), offsets)

    @classmethod
    def from_arrays(cls, blob: np.ndarray, offsets: np.ndarray) -> Ids:
        """Ids over stored arrays, checked.

        Raises:
            ValueError: The offsets do not cut the blob into ids.
        """
        blob, offsets = np.asarray(blob), np.asarray(offsets)
        if blob.ndim != 1 or blob.dtype != np.uint8 or offsets.ndim != 1 or offsets.dtype != np.int64:
            raise ValueError("id arrays must be a 1-d uint8 blob and 1-d int64 offsets")
        if (
            offsets.shape[0] < 1
            or offsets[0] != 0
            or offsets[-1] != blob.shape[0]
            or np.any(np.diff(offsets) < 0)
        ):
            raise ValueError(f"id offsets do not cut the {blob.shape[0]}-byte blob into ids")
        return cls(blob, offsets)

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice | np.ndarray) -> Ids: ...

    def __getitem__(self, index: int | slice | np.ndarray) -> str | Ids:
        """One id (``int``) or, like numpy, the ids of a slice or an index array."""
        if isinstance(index, slice | np.ndarray):
            return self.take(np.arange(len(self))[index])
        position = range(len(self))[index]  # IndexError and negative indices as for lists
        start, stop = self.offsets[position], self.offsets[position + 1]
        return self.blob[start:stop].tobytes().decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return iter(self.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ids):
            return np.array_equal(self.offsets, other.offsets) and np.array_equal(
                self.blob, other.blob
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(repr(v) for v in self[:3]) if len(self) else ""
        return f"Ids([{shown}{', ...' if len(self) > 3 else ''}], n={len(self)})"

    def tolist(self) -> list[str]:
        """Every id as a ``str``."""
        data = self.blob.tobytes()
        bounds = self.offsets.tolist()
        if data.isascii():  # byte offsets are character offsets
            text = data.decode("ascii")
            return [text[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        pieces = (data[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
        return [piece.decode("utf-8", "surrogatepass") for piece in pieces]

    def byte_lengths(self) -> np.ndarray:
        """(N,) int64 UTF-8 length of each id."""
        return np.diff(self.offsets)

    def take(self, rows: np.ndarray) -> Ids:
        """The ids at ``rows`` (an int array), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.offsets[rows]
        lengths = self.offsets[rows + 1] - starts
        offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        positions = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Ids(self.blob[positions], offsets)

    def positions(self) -> dict[str, int]:
        """id -> row (the last row of a repeated id)."""
        return {value: row for row, value in enumerate(self.tolist())}

    def lookup(self, queries: Ids) -> np.ndarray:
        """(len(queries),) int64 row of each query id, -1 when absent."""
        found = map(self.positions().get, queries.tolist(), repeat(-1))
        return np.fromiter(found, dtype=np.int64, count=len(queries))

    @property
    def nbytes(self) -> int:
        """Memory of the two arrays."""
        return int(self.blob.nbytes + self.offsets.nbytes)


@dataclass(frozen=True, eq=False)
class Dataset:
    """One tenant's users, items, interactions and features.

    Interactions are stored once, as aligned arrays of length N with at most one
    row per (user, item) (the latest, contract §8.3); the sparse matrices are
    derived from them.

    Attributes:
        tenant: Tenant id string.
        user_ids: U Totara user ids in ``user_data`` order (any sequence of strings is
            converted to :class:`Ids`).
        item_ids: I prefixed item ids, grouped by component (converted likewise).
        item_types: (I,) int8, index into :data:`COMPONENTS`, non-decreasing.
        user_index: (N,) int32, row of each interaction.
        item_index: (N,) int32, column of each interaction.
        ratings: (N,) int8, 0 or 1 as exported.
        timestamps: (N,) int64, Unix seconds.
        user_features: (U, Fu) float32 CSR, the ``partial`` user features (multi-hot
            fields, competency levels); no identity columns.
        user_feature_names: Fu names, e.g. ``lang_en``, ``competencies_scale_12``.
        item_features: (I, Fi) float32 CSR, component one-hot + ``topic_*`` columns.
        item_feature_names: Fi names.
        user_texts: U strings, ``city + " " + description`` (raw, for TF-IDF).
        item_documents: I strings, the ``document`` column (raw, for TF-IDF).
        stats: Counts from building, e.g. ``dropped_unknown_user``.
    """

    tenant: str
    user_ids: Ids
    item_ids: Ids
    item_types: np.ndarray
    user_index: np.ndarray
    item_index: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    user_features: sp.csr_matrix
    user_feature_names: tuple[str, ...]
    item_features: sp.csr_matrix
    item_feature_names: tuple[str, ...]
    user_texts: tuple[str, ...] = ()
    item_documents: tuple[str, ...] = ()
    stats: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("user_ids", "item_ids"):
            object.__setattr__(self, name, Ids.of(getattr(self, name)))

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_interactions(self) -> int:
        return int(self.user_index.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    @cached_property
    def interactions(self) -> sp.csr_matrix:
        """(U, I) float32 CSR with 1.0 for every interaction, whatever its rating."""
        return self._matrix(np.ones(self.n_interactions, dtype=np.float32))

    @cached_property
    def weights(self) -> sp.csr_matrix:
        """(U, I) float32 CSR with ``rating + 1`` (1 or 2); same pattern as ``interactions``."""
        return self._matrix(self.ratings.astype(np.float32) + 1.0)

    @cached_property
    def positives(self) -> sp.csr_matrix:
        """(U, I) float32 CSR with 1.0 where ``rating == 1`` (contract §8.3.6)."""
        keep = self.ratings == 1
        return sp.csr_matrix(
            (
                np.ones(int(keep.sum()), dtype=np.float32),
                (self.user_index[keep], self.item_index[keep]),
            ),
            shape=self.shape,
        )

    @cached_property
    def type_offsets(self) -> np.ndarray:
        """(len(COMPONENTS) + 1,) int64: items of type c are ``[offsets[c], offsets[c+1])``."""
        counts = np.bincount(self.item_types.astype(np.int64), minlength=len(COMPONENTS))
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def type_slice(self, component_index: int) -> slice:
        """The contiguous item slice of one component."""
        offsets = self.type_offsets
        return slice(int(offsets[component_index]), int(offsets[component_index + 1]))

    def item_popularity(self) -> np.ndarray:
        """(I,) float32 interaction counts per item."""
        return np.bincount(self.item_index, minlength=self.n_items).astype(np.float32)

    def user_digests(self) -> np.ndarray:
        """(U,) uint64 digest of each user's interactions (item ids, ratings, timestamps),
        ``partial`` features and text, independent of row order and of item positions.

        The refresh cycle compares them with a published model's to find the users whose
        data changed (:mod:`mlcore.training.refresh`).
        """
        item_hash = string_hashes(self.item_ids.tolist())
        rows = _mix(
            item_hash[self.item_index]
            ^ _mix(self.timestamps.astype(np.uint64) ^ (self.ratings.astype(np.uint64) << 62))
        )
        digest = np.zeros(self.n_users, dtype=np.uint64)
        np.add.at(digest, self.user_index, rows)
        features = sp.csr_matrix(self.user_features)
        if features.nnz:
            names = string_hashes(self.user_feature_names)
            values = features.data.astype(np.float32).view(np.uint32).astype(np.uint64)
            owners = np.repeat(np.arange(self.n_users), np.diff(features.indptr))
            np.add.at(digest, owners, _mix(names[features.indices] ^ (values << 32) ^ _SALT))
        if self.user_texts:
            digest ^= _mix(string_hashes(self.user_texts) ^ _SALT)
        return digest

    def with_interactions(self, keep: np.ndarray) -> Dataset:
        """The same users, items and features with only the interactions where ``keep``.

        Args:
            keep: (N,) bool mask over the interaction arrays.
        """
        return replace(
            self,
            user_index=self.user_index[keep],
            item_index=self.item_index[keep],
            ratings=self.ratings[keep],
            timestamps=self.timestamps[keep],
        )

    def _matrix(self, data: np.ndarray) -> sp.csr_matrix:
        matrix = sp.csr_matrix((data, (self.user_index, self.item_index)), shape=self.shape)
        matrix.sort_indices()
        return matrix


#: Separates the hashed fields of :meth:`Dataset.user_digests`.
_SALT = np.uint64(0x9E3779B97F4A7C15)


def string_hashes(values: Sequence[str]) -> np.ndarray:
    """(N,) uint64 stable hash of each string (BLAKE2b, the same in every process)."""
    return np.fromiter(
        (
            int.from_bytes(
                hashlib.blake2b(v.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                "little",
            )
            for v in values
        ),
        dtype=np.uint64,
        count=len(values),
    )


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser over uint64 values (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))

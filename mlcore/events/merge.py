"""Merge logged events into a tenant's dataset, counting nothing twice.

The dataset keeps one row per (user, item), the latest (contract §8.3); an event
for a pair the export already has replaces the exported row only when it is newer.
An event whose pair the export has at the same or a later time is *absorbed*:
the export caught up with it, and the log may drop it. Events for users the
export does not list yet add them (no profile features); events for items the
export does not list are left pending (an item's type and features come from
the export), and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset, Ids
from mlcore.events.event_log import StoredEvent
from mlcore.totara.dataset_builder import latest_per_pair


@dataclass(frozen=True, eq=False)
class MergedEvents:
    """A dataset with events merged in.

    Attributes:
        dataset: The export's dataset plus the events.
        absorbed: Log ids of events the export already holds (same pair, as new or newer).
        unknown_items: Events left pending because the export does not list their item.
        new_users: Users added because only events name them.
    """

    dataset: Dataset
    absorbed: tuple[int, ...]
    unknown_items: int
    new_users: int


def merge_events(dataset: Dataset, events: Sequence[StoredEvent]) -> MergedEvents:
    """``dataset`` with ``events`` merged (see the module docstring)."""
    if not events:
        return MergedEvents(dataset, (), 0, 0)
    item_rows = dataset.item_ids.positions()
    items = np.array([item_rows.get(e.event.item_id, -1) for e in events], dtype=np.int64)
    known_item = items >= 0
    chosen = [e for e, ok in zip(events, known_item.tolist(), strict=True) if ok]
    n_before = dataset.n_users
    dataset, users = _with_event_users(dataset, [e.event.user_id for e in chosen])
    items = items[known_item]
    absorbed = _absorbed(dataset, users, items, np.array([e.event.timestamp for e in chosen]))
    merged = _add_interactions(
        dataset,
        users,
        items,
        np.array([e.event.rating for e in chosen], dtype=np.int8),
        np.array([e.event.timestamp for e in chosen], dtype=np.int64),
    )
    return MergedEvents(
        merged,
        tuple(e.id for e, gone in zip(chosen, absorbed.tolist(), strict=True) if gone),
        int((~known_item).sum()),
        merged.n_users - n_before,
    )


def _with_event_users(dataset: Dataset, user_ids: list[str]) -> tuple[Dataset, np.ndarray]:
    """The dataset with users only events name appended; each event's user row."""
    rows = dataset.user_ids.positions()
    new = [u for u in dict.fromkeys(user_ids) if u not in rows]
    if new:
        n_old = dataset.n_users
        rows.update({u: n_old + i for i, u in enumerate(new)})
        features = sp.vstack(
            [dataset.user_features, sp.csr_matrix((len(new), dataset.user_features.shape[1]))],
            format="csr",
            dtype=np.float32,
        )
        dataset = replace(
            dataset,
            user_ids=Ids.of([*dataset.user_ids.tolist(), *new]),
            user_features=features,
            user_texts=(*dataset.user_texts, *([""] * len(new))) if dataset.user_texts else (),
            stats={**dataset.stats, "event_users": len(new)},
        )
    return dataset, np.array([rows[u] for u in user_ids], dtype=np.int64)


def _absorbed(
    dataset: Dataset, users: np.ndarray, items: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """Whether the export holds each event's pair at the same or a later time."""
    n_items = max(dataset.n_items, 1)
    pairs = dataset.user_index.astype(np.int64) * n_items + dataset.item_index
    order = np.argsort(pairs, kind="stable")
    sorted_pairs = pairs[order]
    wanted = users * n_items + items
    at = np.minimum(np.searchsorted(sorted_pairs, wanted), max(sorted_pairs.shape[0] - 1, 0))
    if sorted_pairs.shape[0] == 0:
        return np.zeros(wanted.shape[0], dtype=bool)
    found = sorted_pairs[at] == wanted
    return found & (dataset.timestamps[order[at]] >= times)


def _add_interactions(
    dataset: Dataset, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, times: np.ndarray
) -> Dataset:
    user_index = np.concatenate([dataset.user_index.astype(np.int64), users])
    item_index = np.concatenate([dataset.item_index.astype(np.int64), items])
    all_ratings = np.concatenate([dataset.ratings, ratings])
    timestamps = np.concatenate([dataset.timestamps, times])
    keep = latest_per_pair(user_index, item_index, timestamps, dataset.n_items)
    return replace(
        dataset,
        user_index=user_index[keep].astype(np.int32),
        item_index=item_index[keep].astype(np.int32),
        ratings=all_ratings[keep],
        timestamps=timestamps[keep],
    )

"""Tiny deterministic datasets for recommender tests (built directly, no export files).

:func:`block_dataset` has three blocks of users who share a block's items. One
user of the largest block, ``probe``, misses one course of the block
(:data:`WITHHELD`): any sane backend, popularity included, ranks it first among
the courses the probe has not seen (it is both the block's item and the most
popular unseen course).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.item_types import COMPONENT_INDEX, COMPONENTS, split_item_id

PROBE = "probe"
WITHHELD = "container_course3"

ITEMS = (
    "container_course1",
    "container_course2",
    "container_course3",
    "container_course4",
    "container_course5",
    "container_course6",
    "container_workspace1",
    "container_workspace2",
    "engage_article1",
    "engage_article2",
    "engage_article3",
    "engage_article4",
    "engage_microlearning5",
    "engage_microlearning6",
    "totara_playlist1",
    "totara_playlist2",
    "totara_playlist3",
)

#: block name -> (number of users, items every user of the block interacted with)
BLOCKS: dict[str, tuple[int, tuple[str, ...]]] = {
    "a": (
        7,
        (
            "container_course1",
            "container_course2",
            "container_course3",
            "engage_article1",
            "engage_article2",
            "engage_microlearning5",
        ),
    ),
    "b": (
        5,
        (
            "container_course4",
            "container_course5",
            "container_course6",
            "engage_article3",
            "engage_article4",
            "engage_microlearning6",
        ),
    ),
    "c": (
        4,
        (
            "totara_playlist1",
            "totara_playlist2",
            "totara_playlist3",
            "container_workspace1",
            "container_workspace2",
        ),
    ),
}


def block_dataset(tenant: str = "0") -> Dataset:
    """Users ``a0..a6``, ``b0..b4``, ``c0..c3`` and ``probe`` (block a without :data:`WITHHELD`).

    Ratings are 1 (positives) except the second half of block c's items, rated 0;
    timestamps increase with the interaction's position, so temporal splits work.
    """
    rows: list[tuple[str, str, int]] = []
    for block, (count, items) in BLOCKS.items():
        for number in range(count):
            for position, item in enumerate(items):
                rating = 0 if block == "c" and position >= 3 else 1
                rows.append((f"{block}{number}", item, rating))
    rows += [(PROBE, item, 1) for item in BLOCKS["a"][1] if item != WITHHELD]
    users = [f"{block}{n}" for block, (count, _) in BLOCKS.items() for n in range(count)]
    return make_dataset(tenant, users + [PROBE], ITEMS, rows)


def make_dataset(
    tenant: str,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    interactions: Sequence[tuple[str, str, int]],
) -> Dataset:
    """A :class:`Dataset` from ids and ``(user, item, rating)`` rows (time = row number).

    ``item_ids`` must already be grouped by component in :data:`COMPONENTS` order.
    Item features: component one-hot plus one ``topic_<block>`` column per block;
    user features: one ``lang_en`` column.
    """
    types = np.array([_component(item) for item in item_ids], dtype=np.int8)
    if np.any(np.diff(types) < 0):
        raise ValueError("item_ids must be grouped by component")
    user_row = {u: i for i, u in enumerate(user_ids)}
    item_row = {v: i for i, v in enumerate(item_ids)}
    n_users, n_items = len(user_ids), len(item_ids)
    topics = sorted(BLOCKS)
    item_topic = {item: topics.index(b) for b, (_, items) in BLOCKS.items() for item in items}
    features = np.zeros((n_items, len(COMPONENTS) + len(topics)), dtype=np.float32)
    features[np.arange(n_items), types] = 1.0
    for item, row in item_row.items():
        if item in item_topic:
            features[row, len(COMPONENTS) + item_topic[item]] = 1.0
    return Dataset(
        tenant=tenant,
        user_ids=np.array(user_ids, dtype=str).reshape(n_users),
        item_ids=np.array(item_ids, dtype=str).reshape(n_items),
        item_types=types,
        user_index=np.array([user_row[u] for u, _, _ in interactions], dtype=np.int32),
        item_index=np.array([item_row[i] for _, i, _ in interactions], dtype=np.int32),
        ratings=np.array([r for _, _, r in interactions], dtype=np.int8),
        timestamps=1_700_000_000 + np.arange(len(interactions), dtype=np.int64) * 60,
        user_features=sp.csr_matrix(np.ones((n_users, 1), dtype=np.float32)),
        user_feature_names=("lang_en",),
        item_features=sp.csr_matrix(features),
        item_feature_names=tuple(COMPONENTS) + tuple(f"topic_{t}" for t in topics),
        user_texts=tuple("" for _ in user_ids),
        item_documents=tuple(_document(item, item_topic.get(item)) for item in item_ids),
    )


def _component(item_id: str) -> int:
    parts = split_item_id(item_id)
    if parts is None:
        raise ValueError(f"not an item id: {item_id}")
    return COMPONENT_INDEX[parts[0]]


def _document(item_id: str, topic: int | None) -> str:
    words = {0: "leadership management coaching", 1: "python data science", 2: "safety health"}
    return f"{item_id} {words.get(topic if topic is not None else -1, 'general')}"


def random_dataset(seed: int = 0, n_users: int = 30, density: float = 0.25) -> Dataset:
    """Random interactions over :data:`ITEMS` (seeded), ratings 0 or 1."""
    rng = np.random.default_rng(seed)
    users = [f"u{n}" for n in range(n_users)]
    rows = [
        (user, item, int(rng.integers(0, 2)))
        for user in users
        for item in ITEMS
        if rng.random() < density
    ]
    return make_dataset(str(seed), users, ITEMS, rows)


TRENDING_NOW = 1_750_000_000
_CLASSICS = ("container_course1", "container_course2", "engage_article1", "totara_playlist1")
_TRENDING = ("container_course3", "container_course4", "engage_article3", "totara_playlist3")
_OTHERS = ("engage_article2", "engage_article4", "totara_playlist2", "totara_playlist4")


def write_trending_export(folder: Path, *, alumni: int = 6, active: int = 20) -> None:
    """A Totara export folder (contract §7), tenant ``0``, where recency matters.

    Alumni interacted with four classic items long ago; active users touched one
    classic long ago and three trending items in the last ten days. A temporal
    split's test items are the trending items of the active users, so time-decayed
    popularity beats plain popularity there.
    """
    folder.mkdir(parents=True, exist_ok=True)
    items = sorted(_CLASSICS + _TRENDING + _OTHERS, key=lambda i: (_component(i), i))
    item_lines = [f"item_id,{','.join(COMPONENTS)},document"]
    for item in items:
        one_hot = ",".join("1" if c == _component(item) else "0" for c in range(len(COMPONENTS)))
        item_lines.append(f"{item},{one_hot},{item} about learning")
    users = [str(2 + n) for n in range(alumni + active)]
    user_lines = [
        "user_id,lang,city,country,interests,asp_position,positions,organisations,"
        "competencies_scale,badges,description"
    ] + [f"{user},en,Wellington,NZ,,,,,,,learner {user}" for user in users]
    day = 86400
    rows = []
    for n, user in enumerate(users[:alumni]):
        for k, item in enumerate(_CLASSICS):
            rows.append((user, item, 1, TRENDING_NOW - 200 * day + (n * 4 + k) * 3600))
    for n, user in enumerate(users[alumni:]):
        rows.append((user, _CLASSICS[n % 4], 1, TRENDING_NOW - 150 * day + n * 3600))
        for k in range(3):
            item = _TRENDING[(n + k) % 4]
            rows.append((user, item, 1, TRENDING_NOW - (10 - 3 * k) * day + n * 60))
    interaction_lines = ["user_id,item_id,rating,timestamp"] + [
        f"{u},{i},{r},{t}" for u, i, r, t in rows
    ]
    for name, lines in {
        "tenants.csv": ["tenants", "0"],
        "item_data_0.csv": item_lines,
        "user_data_0.csv": user_lines,
        "user_interactions_0.csv": interaction_lines,
    }.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

"""A tiny tenant with two taste groups, features, texts and cold users (LightFM tests)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.item_types import COMPONENTS

#: Items per component (courses, workspaces, articles, microlearning, playlists).
TYPE_COUNTS = (12, 0, 9, 3, 6)
N_USERS = 40
#: The last users have no interactions: known only through their features.
N_COLD = 4

_TEXTS = (
    ("python data science", "London developer, loves Python & data! http://x.io a@b.c"),
    ("cooking kitchen recipes", "Paris chef: cuisine, recettes et cuisine 2024"),
)


def tiny_dataset(seed: int = 3) -> Dataset:
    """Users of group ``u % 2`` mostly interact with items of group ``i % 2``."""
    rng = np.random.default_rng(seed)
    item_types = np.repeat(np.arange(len(COMPONENTS), dtype=np.int8), TYPE_COUNTS)
    n_items = int(item_types.size)
    item_ids = np.array([f"{COMPONENTS[t]}{i + 1}" for i, t in enumerate(item_types)])
    users, items = [], []
    for user in range(N_USERS - N_COLD):
        liked = [i for i in range(n_items) if i % 2 == user % 2]
        other = [i for i in range(n_items) if i % 2 != user % 2]
        chosen = list(rng.choice(liked, 8, replace=False)) + list(rng.choice(other, 1))
        users += [user] * len(chosen)
        items += chosen
    n = len(users)
    user_groups = np.arange(N_USERS) % 2
    user_features = sp.csr_matrix(
        np.column_stack([user_groups == 0, user_groups == 1, rng.integers(0, 4, N_USERS)]),
        dtype=np.float32,
    )
    topics = np.arange(n_items) % 2
    item_features = sp.csr_matrix(
        np.column_stack(
            [item_types[:, None] == np.arange(len(COMPONENTS))[None, :], topics == 0, topics == 1]
        ),
        dtype=np.float32,
    )
    return Dataset(
        tenant="7",
        user_ids=np.array([str(100 + u) for u in range(N_USERS)]),
        item_ids=item_ids,
        item_types=item_types,
        user_index=np.array(users, dtype=np.int32),
        item_index=np.array(items, dtype=np.int32),
        ratings=rng.integers(0, 2, n).astype(np.int8),
        timestamps=rng.permutation(n).astype(np.int64) + 1_600_000_000,
        user_features=user_features,
        user_feature_names=("lang_en", "lang_fr", "competencies_scale_1"),
        item_features=item_features,
        item_feature_names=(*COMPONENTS, "topic_1", "topic_2"),
        user_texts=tuple(_TEXTS[g][1] + f" user{u}" for u, g in enumerate(user_groups)),
        item_documents=tuple(_TEXTS[t][0] + f" item {i}" for i, t in enumerate(topics)),
    )

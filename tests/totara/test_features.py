"""``partial`` user and item features (contract §8.4)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.item_types import COMPONENTS
from mlcore.totara.features import item_features, top_categories, user_features
from mlcore.totara.tables import LIST_COLUMNS, ItemsTable, UsersTable


def users_with(**lists: tuple[tuple[str, ...], ...]) -> UsersTable:
    count = len(next(iter(lists.values())))
    return UsersTable(
        user_ids=np.array([str(i) for i in range(count)]),
        lists={name: lists.get(name, ((),) * count) for name in LIST_COLUMNS},
        competencies=((),) * count,
        cities=("",) * count,
        descriptions=("",) * count,
    )


def test_multi_hot_columns_named_col_value_without_city_or_description() -> None:
    users = UsersTable(
        user_ids=np.array(["2", "3"]),
        lists={
            **{name: ((), ()) for name in LIST_COLUMNS},
            "lang": (("en",), ("fr",)),
            "interests": (("i3", "i1"), ("i1",)),
        },
        competencies=((("123", 67), ("234", 56)), (("234", 2),)),
        cities=("Wellington", "Paris"),
        descriptions=("hello", "bonjour"),
    )
    matrix, names = user_features(users)
    assert names == (
        "lang_en",
        "lang_fr",
        "interests_i1",
        "interests_i3",
        "competencies_scale_123",
        "competencies_scale_234",
    )
    assert isinstance(matrix, sp.csr_matrix) and matrix.dtype == np.float32
    assert matrix.toarray().tolist() == [[1, 0, 1, 1, 67, 56], [0, 1, 1, 0, 0, 2]]


def test_thirty_category_cut_keeps_most_frequent_ties_by_name() -> None:
    # 31 badges: "b00".."b29" once each, "z" three times, "a" twice -> 32 categories.
    cells = tuple((f"b{i:02d}",) for i in range(30)) + (("z",), ("z", "a"), ("z", "a"))
    kept = top_categories(cells, 30)
    assert len(kept) == 30
    assert {"z", "a"} <= set(kept)
    # 28 of the 30 single-use badges fit; ties are broken by name, so b28, b29 go.
    assert "b27" in kept and "b28" not in kept and "b29" not in kept
    matrix, names = user_features(users_with(badges=cells))
    assert names == tuple(f"badges_{value}" for value in kept)
    assert matrix.shape == (33, 30)


def test_exactly_thirty_categories_are_all_kept() -> None:
    cells = tuple((f"c{i}",) for i in range(30))
    assert len(top_categories(cells, 30)) == 30


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.sampled_from([f"v{i}" for i in range(45)]), max_size=4), max_size=40))
def test_cut_keeps_categories_at_least_as_frequent_as_any_dropped(cells: list[list[str]]) -> None:
    kept = top_categories([tuple(dict.fromkeys(c)) for c in cells], 30)
    counts: dict[str, int] = {}
    for cell in cells:
        for value in dict.fromkeys(cell):
            counts[value] = counts.get(value, 0) + 1
    assert len(kept) == min(30, len(counts))
    dropped = set(counts) - set(kept)
    for value in dropped:
        # Every kept category beats a dropped one on count, or ties and sorts first.
        assert all(
            counts[k] > counts[value] or (counts[k] == counts[value] and k < value) for k in kept
        )


def test_item_features_component_one_hot_then_topics() -> None:
    items = ItemsTable(
        item_ids=np.array(["totara_playlist1", "container_course2"]),
        item_types=np.array([4, 0], dtype=np.int8),
        topic_names=("topic_x",),
        topics=sp.csr_matrix(np.array([[1.0], [0.0]], dtype=np.float32)),
        documents=("a", "b"),
    )
    matrix, names = item_features(items)
    assert names == (*COMPONENTS, "topic_x")
    assert matrix.dtype == np.float32
    assert matrix.toarray().tolist() == [[0, 0, 0, 0, 1, 1], [1, 0, 0, 0, 0, 0]]


def test_no_users_gives_empty_matrix() -> None:
    matrix, names = user_features(UsersTable.empty())
    assert matrix.shape == (0, 0) and names == ()

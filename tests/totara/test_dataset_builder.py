"""Building a tenant Dataset from export files (contract §8.3, §8.4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.errors import DataSourceError, ExportFormatError
from mlcore.item_types import COMPONENTS
from mlcore.totara.dataset_builder import build_dataset, latest_per_pair, load_tenant_dataset
from mlcore.totara.export_files import parse_interactions, parse_item_data, parse_user_data
from mlcore.totara.tables import USER_DATA_HEADER
from tests.support.php_csv import php_csv

USER_HEADER = list(USER_DATA_HEADER)
ITEM_HEADER = ["item_id", *COMPONENTS, "topic_a", "document"]


def item_row(item_id: str, component: str, topic: str = "0") -> list[str]:
    return [item_id, *("1" if c == component else "0" for c in COMPONENTS), topic, f"doc {item_id}"]


class MemorySource:
    """A DataSource over a dict of file name -> bytes."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read_file(self, name: str) -> bytes:
        if name not in self.files:
            raise DataSourceError(f"no file {name}")
        return self.files[name]

    def describe(self) -> str:
        return "memory"


FILES = {
    "user_data_7.csv": php_csv(
        [
            USER_HEADER,
            ["30", "en", "Town", "NZ", "", "", "", "", "5:2", "", "likes maths"],
            ["10", "fr", "", "FR", "", "", "", "", "", "", "bio"],
            ["20", "en", "City", "NZ", "", "", "", "", "", "", ""],
        ]
    ),
    "item_data_7.csv": php_csv(
        [
            ITEM_HEADER,
            item_row("totara_playlist1", "totara_playlist", "1"),
            item_row("container_course2", "container_course"),
            item_row("engage_article3", "engage_article"),
            item_row("container_course1", "container_course", "1"),
            item_row("engage_microlearning4", "engage_microlearning"),
        ]
    ),
    "user_interactions_7.csv": php_csv(
        [
            ["user_id", "item_id", "rating", "timestamp"],
            ["10", "engage_article3", "0", "100"],
            ["10", "engage_article3", "1", "300"],  # latest: kept
            ["10", "engage_article3", "0", "200"],
            ["20", "totara_playlist1", "0", "50"],
            ["20", "totara_playlist1", "1", "50"],  # same time, later row: kept
            ["30", "container_course1", "1", "10"],
            ["99", "container_course1", "1", "10"],  # unknown user
            ["30", "engage_article999", "1", "10"],  # unknown item
            ["99", "engage_article999", "1", "10"],  # both unknown: counted as user
            ["30", "container_course2", "0", "40"],
        ]
    ),
}


def test_load_tenant_dataset_orders_cleans_and_counts() -> None:
    dataset = load_tenant_dataset(MemorySource(FILES), "7")
    assert dataset.tenant == "7"
    assert dataset.user_ids.tolist() == ["30", "10", "20"]
    assert dataset.item_ids.tolist() == [
        "container_course2",
        "container_course1",
        "engage_article3",
        "engage_microlearning4",
        "totara_playlist1",
    ]
    assert [COMPONENTS[t] for t in dataset.item_types] == [
        "container_course",
        "container_course",
        "engage_article",
        "engage_microlearning",
        "totara_playlist",
    ]
    assert dataset.type_slice(0) == slice(0, 2)
    assert dataset.type_slice(1) == slice(2, 2)
    assert dataset.type_slice(4) == slice(4, 5)
    assert dict(dataset.stats) == {
        "rows": 10,
        "ratings_clipped": 0,
        "dropped_unknown_user": 2,
        "dropped_unknown_item": 1,
        "duplicates_removed": 3,
        "interactions": 4,
    }
    assert dataset.user_index.dtype == np.int32 and dataset.item_index.dtype == np.int32
    assert dataset.ratings.dtype == np.int8 and dataset.timestamps.dtype == np.int64
    triples = {
        (dataset.user_ids[u], dataset.item_ids[i], int(r), int(t))
        for u, i, r, t in zip(
            dataset.user_index, dataset.item_index, dataset.ratings, dataset.timestamps, strict=True
        )
    }
    assert triples == {
        ("10", "engage_article3", 1, 300),
        ("20", "totara_playlist1", 1, 50),
        ("30", "container_course1", 1, 10),
        ("30", "container_course2", 0, 40),
    }


def test_matrices_interactions_weights_positives() -> None:
    dataset = load_tenant_dataset(MemorySource(FILES), "7")
    row = {u: k for k, u in enumerate(dataset.user_ids)}
    col = {i: k for k, i in enumerate(dataset.item_ids)}
    interactions = dataset.interactions.toarray()
    weights = dataset.weights.toarray()
    positives = dataset.positives.toarray()
    assert interactions.sum() == 4 and set(np.unique(interactions)) == {0.0, 1.0}
    assert weights[row["30"], col["container_course2"]] == 1.0  # rating 0 -> weight 1
    assert weights[row["30"], col["container_course1"]] == 2.0  # rating 1 -> weight 2
    assert (weights > 0).tolist() == (interactions > 0).tolist()
    assert positives.sum() == 3 and positives[row["30"], col["container_course2"]] == 0


def test_features_follow_grouped_item_order_and_user_order() -> None:
    dataset = load_tenant_dataset(MemorySource(FILES), "7")
    assert dataset.item_feature_names == (*COMPONENTS, "topic_a")
    items = dataset.item_features.toarray()
    assert items.dtype == np.float32
    for position, item_type in enumerate(dataset.item_types):
        assert items[position, : len(COMPONENTS)].argmax() == item_type
    topic_items = {dataset.item_ids[k] for k in np.flatnonzero(items[:, -1])}
    assert topic_items == {"totara_playlist1", "container_course1"}
    assert dataset.item_documents[0] == "doc container_course2"
    assert dataset.user_texts == ("Town likes maths", " bio", "City ")
    assert dataset.user_feature_names == (
        "lang_en",
        "lang_fr",
        "country_FR",
        "country_NZ",
        "competencies_scale_5",
    )
    assert dataset.user_features.toarray().tolist() == [
        [1, 0, 0, 1, 2],
        [0, 1, 1, 0, 0],
        [1, 0, 0, 1, 0],
    ]


def test_empty_files_give_an_empty_dataset() -> None:
    empty = {name: b"" for name in FILES}
    dataset = load_tenant_dataset(MemorySource(empty), "7")
    assert dataset.shape == (0, 0) and dataset.n_interactions == 0
    assert dataset.interactions.shape == (0, 0)


def test_interactions_without_user_data_are_all_dropped_and_counted() -> None:
    files = {**FILES, "user_data_7.csv": ",".join(USER_HEADER).encode()}
    dataset = load_tenant_dataset(MemorySource(files), "7")
    assert dataset.n_users == 0 and dataset.n_interactions == 0
    assert dataset.stats["dropped_unknown_user"] == 10


def test_malformed_file_error_names_it() -> None:
    files = {**FILES, "item_data_7.csv": FILES["item_data_7.csv"] + b"bad,1\n"}
    with pytest.raises(ExportFormatError) as caught:
        load_tenant_dataset(MemorySource(files), "7")
    assert caught.value.file == "item_data_7.csv"
    assert caught.value.line == 7


def test_build_dataset_from_tables_clips_ratings_into_stats() -> None:
    interactions = parse_interactions(
        php_csv(
            [["user_id", "item_id", "rating", "timestamp"], ["10", "engage_article3", "4", "1"]]
        ),
        "x.csv",
    )
    users = parse_user_data(FILES["user_data_7.csv"], "u.csv")
    items = parse_item_data(FILES["item_data_7.csv"], "i.csv")
    dataset = build_dataset("7", interactions, users, items)
    assert dataset.stats["ratings_clipped"] == 1
    assert dataset.ratings.tolist() == [1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=30
    )
)
def test_latest_per_pair_keeps_latest_then_last_row(rows: list[tuple[int, int, int]]) -> None:
    users, items, times = (np.array(column) for column in zip(*rows, strict=True))
    kept = latest_per_pair(users, items, times, n_items=4)
    expected: dict[tuple[int, int], int] = {}
    for position, (user, item, time) in enumerate(rows):
        best = expected.get((user, item))
        if best is None or time >= rows[best][2]:
            expected[(user, item)] = position
    assert sorted(kept.tolist()) == sorted(expected.values())

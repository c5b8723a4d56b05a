"""ml-latest-small mapped onto Totara's export format reads back through the real parser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlcore.dataset import Dataset
from mlcore.demo import movielens
from mlcore.totara.dataset_builder import load_tenant_dataset
from plugins.export_folder_source import ExportFolderSource


@pytest.fixture(scope="module")
def movies() -> Dataset:
    try:
        return movielens.load()
    except movielens.MovieLensMissingError as exc:
        pytest.skip(str(exc))


def test_written_export_parses_back_to_the_same_tenant(movies, tmp_path: Path) -> None:
    folder = movielens.write_export(movies, tmp_path / "export")
    parsed = load_tenant_dataset(ExportFolderSource(folder), "0")
    assert parsed.n_users == movies.n_users and parsed.n_items == movies.n_items
    assert parsed.n_interactions == movies.n_interactions == 100_836
    assert sorted(parsed.item_ids.tolist()) == sorted(movies.item_ids.tolist())
    original = {
        (movies.user_ids[u], movies.item_ids[i]): (r, t)
        for u, i, r, t in zip(
            movies.user_index, movies.item_index, movies.ratings, movies.timestamps, strict=True
        )
    }
    again = {
        (parsed.user_ids[u], parsed.item_ids[i]): (r, t)
        for u, i, r, t in zip(
            parsed.user_index, parsed.item_index, parsed.ratings, parsed.timestamps, strict=True
        )
    }
    assert again == original
    genres = [name for name in parsed.item_feature_names if name.startswith("topic_")]
    assert movielens.topic_column("Comedy") in genres
    assert int(np.count_nonzero(parsed.ratings)) == int(np.count_nonzero(movies.ratings))

"""MovieLens ``ml-latest-small`` mapped onto the Totara export model (benchmarks, tuning).

Mapping (stated next to every number that uses it):

* each movie is an item of type ``engage_article`` with id ``engage_article<movieId>``
  (articles are the Totara items that carry topics and a text document);
* each genre is a ``topic_<genre>`` column (``"`` ``'`` ``-`` ``,`` ``.`` and spaces
  removed, lower case, as Totara names topic columns); ``(no genres listed)`` is no topic;
* the ``document`` is the title, a space, then the movie's free-text tags;
* each rating is an interaction with its timestamp; ``rating`` is ``1`` for 4 stars or
  more and ``0`` below (so the weight ``rating + 1`` favours liked movies and a user's
  "positive items" are the ones they liked);
* users have no profile fields (no user features, empty texts).

The files are read from ``../shared/data/ml-latest-small`` (never copied into the
repository); when absent, :class:`MovieLensMissingError` says so.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset, Ids
from mlcore.item_types import COMPONENT_INDEX, COMPONENTS
from mlcore.totara.tables import USER_DATA_HEADER

#: ``../shared/data/ml-latest-small`` relative to the repository root (a source checkout).
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ml-latest-small"
ITEM_TYPE = "engage_article"
POSITIVE_STARS = 4.0
_TOPIC_DROP = re.compile(r"[\"'\-,.\s]")


class MovieLensMissingError(FileNotFoundError):
    """The ml-latest-small folder is absent; benchmarks that need it are skipped."""


def require_dir(path: Path | None = None) -> Path:
    """The MovieLens folder, or raise :class:`MovieLensMissingError` with a clear message."""
    folder = Path(path) if path is not None else DEFAULT_DIR
    if not (folder / "ratings.csv").is_file() or not (folder / "movies.csv").is_file():
        raise MovieLensMissingError(
            f"ml-latest-small not found at {folder} (expected ratings.csv and movies.csv); "
            "MovieLens benchmarks are skipped. See ../shared/data/README.md."
        )
    return folder


def topic_column(genre: str) -> str:
    """Totara's topic column name for a genre, e.g. ``Sci-Fi`` -> ``topic_scifi``."""
    return "topic_" + _TOPIC_DROP.sub("", genre).lower()


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [row for row in reader if row]


def load(path: Path | None = None, *, positives_only: bool = False) -> Dataset:
    """Read ml-latest-small as one tenant (``"0"``) of the export model.

    Args:
        path: The folder (default ``../shared/data/ml-latest-small``).
        positives_only: Keep only ratings >= 4 (protocol 1).

    Raises:
        MovieLensMissingError: The folder is absent.
    """
    folder = require_dir(path)
    movies = _rows(folder / "movies.csv")
    ratings = _rows(folder / "ratings.csv")
    tags: dict[str, list[str]] = defaultdict(list)
    if (folder / "tags.csv").is_file():
        for _user, movie, tag, _time in _rows(folder / "tags.csv"):
            tags[movie].append(tag)
    movie_ids = [row[0] for row in movies]
    item_row = {movie: i for i, movie in enumerate(movie_ids)}
    user_ids = sorted({row[0] for row in ratings}, key=int)
    user_row = {user: i for i, user in enumerate(user_ids)}
    stars = np.array([float(row[2]) for row in ratings])
    keep = stars >= POSITIVE_STARS if positives_only else np.ones(stars.shape, dtype=bool)
    users = np.array([user_row[row[0]] for row in ratings], dtype=np.int32)[keep]
    items = np.array([item_row[row[1]] for row in ratings], dtype=np.int32)[keep]
    times = np.array([int(row[3]) for row in ratings], dtype=np.int64)[keep]
    item_features, names = _item_features([row[2] for row in movies])
    documents = tuple(
        " ".join([row[1], *tags.get(row[0], [])]).replace('"', "'").replace(",", " ").strip()
        for row in movies
    )
    return Dataset(
        tenant="0",
        user_ids=Ids.of(user_ids),
        item_ids=Ids.of(f"{ITEM_TYPE}{m}" for m in movie_ids),
        item_types=np.full(len(movie_ids), COMPONENT_INDEX[ITEM_TYPE], dtype=np.int8),
        user_index=users,
        item_index=items,
        ratings=(stars[keep] >= POSITIVE_STARS).astype(np.int8),
        timestamps=times,
        user_features=sp.csr_matrix((len(user_ids), 0), dtype=np.float32),
        user_feature_names=(),
        item_features=item_features,
        item_feature_names=names,
        user_texts=("",) * len(user_ids),
        item_documents=documents,
        stats={"ratings": len(ratings), "kept": int(keep.sum())},
    )


def _item_features(genres: list[str]) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """Component one-hot columns (all ``engage_article``) followed by ``topic_*`` columns."""
    per_item = [
        sorted({topic_column(g) for g in text.split("|") if g and g != "(no genres listed)"})
        for text in genres
    ]
    topics = sorted({t for item in per_item for t in item})
    names = (*COMPONENTS, *topics)
    column = {name: j for j, name in enumerate(names)}
    rows, cols = [], []
    for i, item_topics in enumerate(per_item):
        for name in (ITEM_TYPE, *item_topics):
            rows.append(i)
            cols.append(column[name])
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(genres), len(names)))
    return matrix, names


def write_export(dataset: Dataset, folder: Path) -> Path:
    """Write ``dataset`` as a Totara export folder (tenant ``0``) for ``mlservice train``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tenants.csv").write_text("tenants\n0\n", encoding="utf-8")
    with (folder / "user_data_0.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(USER_DATA_HEADER)
        for user in dataset.user_ids.tolist():
            writer.writerow([user, "", "", "", "", "", "", "", "", "", ""])
    _write_items(dataset, folder / "item_data_0.csv")
    with (folder / "user_interactions_0.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["user_id", "item_id", "rating", "timestamp"])
        for u, i, r, t in zip(
            dataset.user_index, dataset.item_index, dataset.ratings, dataset.timestamps, strict=True
        ):
            writer.writerow([dataset.user_ids[u], dataset.item_ids[i], int(r), int(t)])
    return folder


def _write_items(dataset: Dataset, path: Path) -> None:
    dense = dataset.item_features.toarray().astype(int)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["item_id", *dataset.item_feature_names, "document"])
        for i, item in enumerate(dataset.item_ids.tolist()):
            writer.writerow([item, *dense[i].tolist(), dataset.item_documents[i]])

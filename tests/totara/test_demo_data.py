"""Demo export: contract §7 format, PHP quoting, determinism and the planted structure."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.demo.export import USER_HEADER, YEAR_SECONDS, DemoConfig, TenantSize, write_demo_export
from mlcore.item_types import COMPONENTS
from mlcore.totara.csv_reader import read_rows
from mlcore.totara.dataset_builder import load_tenant_dataset
from mlcore.totara.export_files import parse_tenants
from mlcore.totara.php_csv import php_csv_line
from mlcore.training.fitting import MIN_ITEMS, MIN_USERS
from plugins.export_folder_source import ExportFolderSource

NOW = 1_790_000_000
CONFIG = DemoConfig(tenants=4, users=200, items=80, interactions=3000, seed=7, now=NOW)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_export(folder, CONFIG)
    return folder


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        (["1", "en", "Wellington"], "1,en,Wellington\n"),
        (["a b", "x,y", 'say "hi"'], '"a b","x,y","say ""hi"""\n'),
        (["two\nlines", ""], '"two\nlines",\n'),
        (["tab\there"], '"tab\there"\n'),
        (['back\\"slash'], '"back\\"slash"\n'),  # PHP leaves \" alone
    ],
)
def test_php_csv_line_quotes_only_when_needed(fields: list[str], line: str) -> None:
    assert php_csv_line(fields) == line


# Text without a backslash before a quote: PHP's one ambiguous case is excluded.
_cells = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\\\x00"))


@given(st.lists(st.lists(_cells, min_size=1, max_size=5), min_size=1, max_size=5))
def test_what_the_writer_writes_the_export_reader_reads_back(rows: list[list[str]]) -> None:
    rows = [row for row in rows if row != [""]]  # an empty line is no record
    text = "".join(php_csv_line(row) for row in rows)
    assert read_rows(text, "x.csv") == rows


def test_tenants_and_headers_follow_the_contract(export: Path) -> None:
    assert (export / "tenants.csv").read_bytes() == b"tenants\n0\n1\n2\n3\n"
    for tenant in "0123":
        assert _rows(export / f"user_data_{tenant}.csv")[0] == USER_HEADER.split(",")
        header = _rows(export / f"item_data_{tenant}.csv")[0]
        assert header[: 1 + len(COMPONENTS)] == ["item_id", *COMPONENTS]
        assert header[-1] == "document"
        assert all(h.startswith("topic_") for h in header[1 + len(COMPONENTS) : -1])
        interactions = _rows(export / f"user_interactions_{tenant}.csv")
        assert interactions[0] == ["user_id", "item_id", "rating", "timestamp"]


def test_every_row_is_well_formed(export: Path) -> None:
    items = _rows(export / "item_data_0.csv")
    width = len(items[0])
    for row in items[1:]:
        assert len(row) == width
        assert sum(int(v) for v in row[1:6]) == 1
        assert row[0].startswith(COMPONENTS[row[1:6].index("1")])
        assert "," not in row[-1] and '"' not in row[-1] and row[-1] == row[-1].strip()
    assert any("\n" in row[-1] for row in items[1:])  # real newlines inside quoted fields
    users = _rows(export / "user_data_0.csv")
    assert all(len(row) == 11 for row in users)
    user_ids = [int(row[0]) for row in users[1:]]
    assert user_ids == sorted(user_ids) and user_ids[0] == 2
    assert any("," in row[2] for row in users[1:])  # a quoted city such as "Bath, Somerset"
    for row in users[1:]:
        for pair in filter(None, row[8].split("|")):
            competency, level = pair.split(":")
            assert competency.isdigit() and level.isdigit()


def test_interactions_have_both_ratings_enrolments_and_last_year_times(export: Path) -> None:
    rows = _rows(export / "user_interactions_0.csv")[1:]
    # Repeated (user, item) draws are dropped, so heavy users may saturate their group.
    assert 0.95 * CONFIG.interactions <= len(rows) <= CONFIG.interactions
    assert {r[2] for r in rows} == {"0", "1"}
    assert all(r[2] == "1" for r in rows if r[1].startswith("container_course"))
    stamps = np.array([int(r[3]) for r in rows])
    assert stamps.max() <= NOW and stamps.min() > NOW - YEAR_SECONDS
    assert len({(r[0], r[1]) for r in rows}) == len(rows)
    types = {r[1].rstrip("0123456789") for r in rows}
    assert types == set(COMPONENTS)


def test_the_datasets_build_cleanly_and_the_last_tenant_is_tiny(export: Path) -> None:
    source = ExportFolderSource(export)
    assert parse_tenants(source.read_file("tenants.csv")) == ["0", "1", "2", "3"]
    sizes = {}
    for tenant in "0123":
        dataset = load_tenant_dataset(source, tenant)
        assert dataset.stats["interactions"] == dataset.stats["rows"]  # nothing dropped
        assert all(np.diff(dataset.type_offsets[:-1]) >= 0)
        sizes[tenant] = dataset.shape
    assert sizes["0"] == (200, 80) and sizes["1"] == (100, 40)
    assert sizes["3"][0] < MIN_USERS and sizes["3"][1] < MIN_ITEMS


def test_user_ids_and_item_ids_do_not_collide_across_tenants(export: Path) -> None:
    seen_users: set[str] = set()
    seen_items: set[str] = set()
    for tenant in "0123":
        users = {row[0] for row in _rows(export / f"user_data_{tenant}.csv")[1:]}
        items = {row[0] for row in _rows(export / f"item_data_{tenant}.csv")[1:]}
        assert not users & seen_users and not items & seen_items
        seen_users |= users
        seen_items |= items
    # Articles and microlearning share Totara's resource table: their numbers are unique.
    numbers = [i.rstrip("0123456789") and i[len(i.rstrip("0123456789")) :] for i in seen_items]
    resources = [n for i, n in zip(seen_items, numbers, strict=True) if i.startswith("engage_")]
    assert len(resources) == len(set(resources))


def _group_shares(export: Path, tenant: str) -> tuple[float, float]:
    """Share of interactions with an item tagged with the user's group topic: all, latest 20%."""
    items = _rows(export / f"item_data_{tenant}.csv")
    topics = items[0][6:-1]
    tags = {
        row[0]: {t for t, v in zip(topics, row[6:-1], strict=True) if v == "1"} for row in items[1:]
    }
    # Organisation ids are 300 + 2 * group + {0, 1}: they reveal the user's group.
    group = {
        row[0]: (int(row[7]) - 300) // 2 for row in _rows(export / f"user_data_{tenant}.csv")[1:]
    }
    rows = sorted(_rows(export / f"user_interactions_{tenant}.csv")[1:], key=lambda r: int(r[3]))
    hits = np.array([topics[group[r[0]]] in tags[r[1]] for r in rows])
    return float(hits.mean()), float(hits[int(len(hits) * 0.8) :].mean())


def test_planted_structure_users_mostly_pick_their_groups_items_over_time(export: Path) -> None:
    overall, latest = _group_shares(export, "0")
    n_topics = len(_rows(export / "item_data_0.csv")[0]) - 7
    chance = 1 / n_topics  # about what unstructured data would give
    assert overall > 3 * chance and latest > 3 * chance and overall > 0.45


def test_same_seed_same_bytes_other_seed_other_bytes(export: Path, tmp_path: Path) -> None:
    write_demo_export(tmp_path / "again", CONFIG)
    for path in export.iterdir():
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes()
    other = DemoConfig(**{**CONFIG.__dict__, "seed": 8})
    write_demo_export(tmp_path / "other", other)
    name = "user_interactions_0.csv"
    assert (tmp_path / "other" / name).read_bytes() != (export / name).read_bytes()


def test_one_tenant_and_bad_sizes() -> None:
    assert list(DemoConfig(tenants=1).sizes()) == ["0"]
    with pytest.raises(ValueError, match="at least"):
        DemoConfig(tenants=0).sizes()


def test_same_size_gives_every_tenant_the_sizes(tmp_path: Path) -> None:
    config = DemoConfig(tenants=3, users=40, items=20, interactions=300, same_size=True)
    assert set(config.sizes().values()) == {TenantSize(40, 20, 300)}
    summary = write_demo_export(tmp_path, config)
    assert [users for users, _, _ in summary.tenants.values()] == [40, 40, 40]

"""Hypothesis: whole export files written like PHP fputcsv parse back to the same values."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mlcore.item_types import COMPONENTS
from mlcore.totara.export_files import parse_interactions, parse_item_data, parse_user_data
from mlcore.totara.tables import LIST_COLUMNS, USER_DATA_HEADER
from tests.support.php_csv import php_csv

CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
FREE_TEXT = st.text(
    st.one_of(st.sampled_from(list(" ,\"\\\n\r\t|:'é😀")), CHARACTERS),
    max_size=15,
)
#: Category ids: anything without the list separator or outer whitespace.
CATEGORY = (
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="|:\x00"),
        min_size=1,
        max_size=6,
    )
    .map(str.strip)
    .filter(bool)
)
AMBIGUOUS = re.compile(r'\\"[,\r\n]')
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def clear(*texts: str) -> bool:
    return not any(AMBIGUOUS.search(text) for text in texts)


users = st.lists(
    st.fixed_dictionaries(
        {
            "lists": st.fixed_dictionaries(
                {name: st.lists(CATEGORY, max_size=3, unique=True) for name in LIST_COLUMNS}
            ),
            "competencies": st.lists(
                st.tuples(CATEGORY, st.integers(min_value=0, max_value=9)), max_size=4
            ),
            "city": FREE_TEXT,
            "description": FREE_TEXT,
        }
    ),
    max_size=5,
)


@SETTINGS
@given(users, st.sampled_from(["\n", "\r\n"]))
def test_user_data_round_trip(rows: list[dict], eol: str) -> None:  # type: ignore[type-arg]
    assume(clear(*(r["city"] for r in rows), *(r["description"] for r in rows)))
    written = []
    for number, row in enumerate(rows):
        cells = {name: "|".join(values) for name, values in row["lists"].items()}
        cells["competencies_scale"] = "|".join(f"{c}:{level}" for c, level in row["competencies"])
        cells.update(user_id=str(number + 2), city=row["city"], description=row["description"])
        written.append([cells[name] for name in USER_DATA_HEADER])
    table = parse_user_data(php_csv([USER_DATA_HEADER, *written], eol=eol), "u.csv")
    assert table.user_ids.tolist() == [str(n + 2) for n in range(len(rows))]
    assert table.cities == tuple(r["city"] for r in rows)
    assert table.descriptions == tuple(r["description"] for r in rows)
    for name in LIST_COLUMNS:
        assert table.lists[name] == tuple(tuple(r["lists"][name]) for r in rows)
    for parsed, row in zip(table.competencies, rows, strict=True):
        best: dict[str, int] = {}
        for competency, level in row["competencies"]:
            best[competency] = max(level, best.get(competency, level))
        assert parsed == tuple(sorted(best.items()))


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(COMPONENTS),
            st.lists(st.booleans(), min_size=2, max_size=2),
            FREE_TEXT,
        ),
        max_size=6,
    )
)
def test_item_data_round_trip(rows: list[tuple[str, list[bool], str]]) -> None:
    assume(clear(*(document for _, _, document in rows)))
    header = ["item_id", *COMPONENTS, "topic_a", "topic_b", "document"]
    written = [
        [f"{component}{number}", *("1" if c == component else "0" for c in COMPONENTS)]
        + ["1" if flag else "0" for flag in topics]
        + [document]
        for number, (component, topics, document) in enumerate(rows)
    ]
    table = parse_item_data(php_csv([header, *written]), "i.csv")
    assert table.item_ids.tolist() == [row[0] for row in written]
    assert [COMPONENTS[t] for t in table.item_types] == [c for c, _, _ in rows]
    assert table.topics.toarray().astype(bool).tolist() == [t for _, t, _ in rows]
    assert table.documents == tuple(d for _, _, d in rows)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.text(CHARACTERS, min_size=1, max_size=5),
            st.text(CHARACTERS, min_size=1, max_size=8),
            st.integers(min_value=0, max_value=1),
            st.integers(min_value=0, max_value=2**40),
        ),
        max_size=8,
    )
)
def test_interactions_round_trip(rows: list[tuple[str, str, int, int]]) -> None:
    assume(clear(*(u for u, _, _, _ in rows), *(i for _, i, _, _ in rows)))
    header = ["user_id", "item_id", "rating", "timestamp"]
    data = php_csv([header, *([u, i, str(r), str(t)] for u, i, r, t in rows)])
    table = parse_interactions(data, "x.csv")
    assert table.user_ids.tolist() == [u for u, _, _, _ in rows]
    assert table.item_ids.tolist() == [i for _, i, _, _ in rows]
    assert table.ratings.tolist() == [r for _, _, r, _ in rows]
    assert table.timestamps.tolist() == [t for _, _, _, t in rows]

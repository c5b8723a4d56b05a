"""Row-level parsing of ``user_data`` and ``item_data`` (contract §7.5, §7.6)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Ids
from mlcore.errors import QUOTE_LIMIT, quoted, shortened
from mlcore.item_types import COMPONENT_INDEX, COMPONENTS
from mlcore.totara.checks import check_header, check_ids, check_widths
from mlcore.totara.csv_reader import Locator
from mlcore.totara.tables import LIST_COLUMNS, USER_DATA_HEADER, ItemsTable, UsersTable

_ITEM_ID = re.compile(r"([a-z]+_[a-z]+)(\d+)")
_LEVEL = re.compile(r"\d{0,18}")
_COMPETENCIES_COLUMN = USER_DATA_HEADER.index("competencies_scale") + 1
_FIRST_TOPIC_COLUMN = 1 + len(COMPONENTS)


def parse_user_rows(rows: Sequence[Sequence[str]], locator: Locator) -> UsersTable:
    """A :class:`UsersTable` from the records of ``user_data`` (header first)."""
    check_header(rows[0], USER_DATA_HEADER, locator)
    body = rows[1:]
    if not body:
        return UsersTable.empty()
    check_widths(body, len(USER_DATA_HEADER), locator)
    user_ids = _unique_ids([row[0] for row in body], "user_id", locator)
    positions = {name: USER_DATA_HEADER.index(name) for name in LIST_COLUMNS}
    lists = {
        name: tuple(split_list(row[position]) for row in body)
        for name, position in positions.items()
    }
    competencies = []
    for index, row in enumerate(body, start=1):
        try:
            competencies.append(parse_competencies(row[_COMPETENCIES_COLUMN - 1]))
        except ValueError as exc:
            raise locator.error(index, _COMPETENCIES_COLUMN, str(exc)) from None
    return UsersTable(
        user_ids=user_ids,
        lists=lists,
        competencies=tuple(competencies),
        cities=tuple(row[USER_DATA_HEADER.index("city")] for row in body),
        descriptions=tuple(row[USER_DATA_HEADER.index("description")] for row in body),
    )


def split_list(cell: str) -> tuple[str, ...]:
    """``"a|b||a"`` -> ``("a", "b")``: split on ``|``, strip, drop empties and repeats."""
    if "|" not in cell:
        value = cell.strip()
        return (value,) if value else ()
    parts = dict.fromkeys(map(str.strip, cell.split("|")))
    parts.pop("", None)
    return tuple(parts)


def parse_competencies(cell: str) -> tuple[tuple[str, int], ...]:
    """``"12:3|7:1|12:5"`` -> ``(("12", 5), ("7", 1))``, sorted by id, max level kept.

    An empty level (``"12:"``) counts as 0, like an empty proficiency in Totara.

    Raises:
        ValueError: A pair without ``:``, with an empty id or a non-integer level.
    """
    levels: dict[str, int] = {}
    for pair in split_list(cell):
        competency, colon, level = (part.strip() for part in pair.partition(":"))
        if not colon or not competency:
            raise ValueError(
                f"competencies_scale entry {quoted(pair)} is not <competency id>:<level>"
            )
        if _LEVEL.fullmatch(level) is None:
            raise ValueError(
                f"competencies_scale level {quoted(level)} of {quoted(competency)} is not an integer"
            )
        value = int(level) if level else 0
        levels[competency] = max(value, levels.get(competency, value))
    return tuple(sorted(levels.items()))


def parse_item_rows(rows: Sequence[Sequence[str]], locator: Locator) -> ItemsTable:
    """An :class:`ItemsTable` from the records of ``item_data`` (header first)."""
    header = rows[0]
    topic_names = _check_item_header(header, locator)
    body = rows[1:]
    if not body:
        return ItemsTable.empty(topic_names)
    check_widths(body, len(header), locator)
    item_ids = _unique_ids([row[0] for row in body], "item_id", locator)
    types = np.empty(len(body), dtype=np.int8)
    topic_rows: list[int] = []
    topic_cols: list[int] = []
    for index, row in enumerate(body, start=1):
        types[index - 1] = _item_type(row, index, locator)
        for offset, cell in enumerate(row[_FIRST_TOPIC_COLUMN:-1]):
            if cell == "1":
                topic_rows.append(index - 1)
                topic_cols.append(offset)
            elif cell != "0":
                column = _FIRST_TOPIC_COLUMN + offset + 1
                raise locator.error(
                    index,
                    column,
                    f"{shortened(header[column - 1], QUOTE_LIMIT)} is {quoted(cell)}, not 0 or 1",
                )
    topics = sp.csr_matrix(
        (np.ones(len(topic_rows), dtype=np.float32), (topic_rows, topic_cols)),
        shape=(len(body), len(topic_names)),
        dtype=np.float32,
    )
    return ItemsTable(
        item_ids=item_ids,
        item_types=types,
        topic_names=topic_names,
        topics=topics,
        documents=tuple(row[-1] for row in body),
    )


def _item_type(row: Sequence[str], index: int, locator: Locator) -> int:
    """The component index of one item row, checked against its id."""
    flags = row[1:_FIRST_TOPIC_COLUMN]
    for offset, flag in enumerate(flags):
        if flag not in ("0", "1"):
            problem = f"{COMPONENTS[offset]} is {quoted(flag)}, not 0 or 1"
            raise locator.error(index, offset + 2, problem)
    ones = [offset for offset, flag in enumerate(flags) if flag == "1"]
    if len(ones) != 1:
        column = ones[1] + 2 if ones else 2
        problem = f"exactly one component column must be 1, found {len(ones)}"
        raise locator.error(index, column, problem)
    component = COMPONENTS[ones[0]]
    match = _ITEM_ID.fullmatch(row[0])
    if match is None:
        raise locator.error(index, 1, f"item_id {quoted(row[0])} is not <component><digits>")
    if match.group(1) != component:
        problem = (
            f"item_id {quoted(row[0])} does not start with {component}, the component set to 1"
        )
        raise locator.error(index, 1, problem)
    return COMPONENT_INDEX[component]


def _check_item_header(header: Sequence[str], locator: Locator) -> tuple[str, ...]:
    """Check ``item_id``, the components, ``topic_*``..., ``document``; return topic names."""
    check_header(header[:_FIRST_TOPIC_COLUMN], ("item_id", *COMPONENTS), locator)
    topics: dict[str, None] = {}
    rest = header[_FIRST_TOPIC_COLUMN:]
    for offset, name in enumerate(rest):
        column = _FIRST_TOPIC_COLUMN + offset + 1
        if name == "document" and offset == len(rest) - 1:
            break
        if name == "document":
            raise locator.error(0, column, "'document' must be the last column")
        if not name.startswith("topic_") or name == "topic_":
            problem = (
                f"unexpected header column {quoted(name)}: expected topic_<name> or 'document'"
            )
            raise locator.error(0, column, problem)
        if name in topics:
            raise locator.error(0, column, f"duplicate header column {quoted(name)}")
        topics[name] = None
    else:
        raise locator.error(0, len(header) + 1, "header is missing its last column 'document'")
    return tuple(topics)


def _unique_ids(values: Sequence[str], name: str, locator: Locator) -> Ids:
    """The ids of column 1; raise at the first empty, too long or repeated one."""
    ids = Ids.of(values)
    check_ids(ids, 1, name, locator)
    _check_unique(values, name, locator)
    return ids


def _check_unique(ids: Sequence[str], name: str, locator: Locator) -> None:
    """Raise at the first repeated id (record 1 onwards)."""
    seen: dict[str, int] = {}
    for index, value in enumerate(ids, start=1):
        if value in seen:
            first = locator.line_of(seen[value])
            raise locator.error(index, 1, f"{name} {quoted(value)} repeats (first on line {first})")
        seen[value] = index

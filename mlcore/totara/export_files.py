"""Parsers for Totara's export files (contract §7): tenants, interactions, users, items.

Every parser takes the raw bytes of one file and its name (for errors) and returns
plain values or a frozen table of numpy arrays. An empty or header-only file is an
empty table ("no data" for that tenant, contract §13.1). Anything malformed raises
:class:`~mlcore.errors.ExportFormatError` naming the file, the physical 1-based line
and the 1-based CSV column. The rules are documented for administrators in
``docs/export-format.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mlcore.dataset import Ids
from mlcore.errors import QUOTE_LIMIT, ExportFormatError, quoted, shortened
from mlcore.totara.checks import check_header, check_ids, check_widths, naturals
from mlcore.totara.csv_reader import Locator, decode, read_rows, split_columns
from mlcore.totara.entities import parse_item_rows, parse_user_rows
from mlcore.totara.tables import INTERACTIONS_HEADER, InteractionsTable, ItemsTable, UsersTable

__all__ = [
    "InteractionsTable",
    "ItemsTable",
    "UsersTable",
    "parse_interactions",
    "parse_item_data",
    "parse_tenants",
    "parse_user_data",
    "tenant_list",
]

TENANTS_HEADER = "tenants"
#: Longest tenant id (the model store's limit too).
MAX_TENANT_CHARS = 100
_TENANT_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SkippedTenant:
    """A line of ``tenants.csv`` that names no usable tenant.

    Attributes:
        tenant: The line's text as written, cut to :data:`~mlcore.errors.QUOTE_LIMIT`.
        error: Why, naming file, line and column.
    """

    tenant: str
    error: ExportFormatError


@dataclass(frozen=True)
class TenantList:
    """``tenants.csv`` read line by line: the usable ids and the skipped lines."""

    tenants: tuple[str, ...]
    skipped: tuple[SkippedTenant, ...] = ()


def tenant_list(data: bytes, file: str = "tenants.csv") -> TenantList:
    """Tenant ids of ``tenants.csv`` in file order, duplicates and blanks dropped.

    A line that is not one id of letters, digits, ``_`` or ``-`` (ids become part of
    file names) of at most :data:`MAX_TENANT_CHARS` characters is skipped with its
    reason; the other tenants still train. An empty or header-only file is ``("0",)``
    (contract §7.7).

    Raises:
        ExportFormatError: The file is not UTF-8, its quoting is broken or its header
            is not ``tenants``: no tenant can be trusted.
    """
    text = decode(data, file)
    rows = read_rows(text, file)
    if not rows:
        return TenantList(("0",))
    locator = Locator(text, file)
    if [cell.strip() for cell in rows[0]] != [TENANTS_HEADER]:
        found = quoted(",".join(rows[0]))
        raise locator.error(0, 1, f"header must be {TENANTS_HEADER!r}, found {found}")
    tenants: dict[str, None] = {}
    skipped = []
    for index, row in enumerate(rows[1:], start=1):
        tenant = row[0].strip() if row else ""
        problem = _tenant_problem(row, tenant)
        if problem is not None:
            column, reason = problem
            error = locator.error(index, column, reason)
            skipped.append(SkippedTenant(shortened(",".join(row), QUOTE_LIMIT), error))
        elif tenant:
            tenants[tenant] = None
    return TenantList(tuple(tenants) or ("0",), tuple(skipped))


def _tenant_problem(row: list[str], tenant: str) -> tuple[int, str] | None:
    """(column, reason) when a ``tenants.csv`` row names no usable tenant, else None."""
    if len(row) != 1:
        return 2, f"expected 1 column, found {len(row)}"
    if len(tenant) > MAX_TENANT_CHARS:
        return 1, f"tenant id is {len(tenant)} characters long, more than {MAX_TENANT_CHARS}"
    if tenant and _TENANT_ID.fullmatch(tenant) is None:
        return 1, f"tenant id {quoted(tenant)} may only hold A-Z, a-z, 0-9, _, -"
    return None


def parse_tenants(data: bytes, file: str = "tenants.csv") -> list[str]:
    """:func:`tenant_list`'s ids, strict: the first skipped line is an error.

    Raises:
        ExportFormatError: As :func:`tenant_list`, or for the first bad line.
    """
    listing = tenant_list(data, file)
    if listing.skipped:
        raise listing.skipped[0].error
    return list(listing.tenants)


def parse_interactions(data: bytes, file: str) -> InteractionsTable:
    """Rows of ``user_interactions_<t>.csv`` (``user_id,item_id,rating,timestamp``).

    Ratings above 1 are read as 1 (counted in ``clipped_ratings``); a negative or
    non-integer rating or timestamp is an error. Ids are kept as strings; unknown
    users and items are dropped later, when the dataset is built.

    Raises:
        ExportFormatError: Wrong header, column count, empty id, id longer than
            :data:`~mlcore.dataset.MAX_ID_BYTES` or bad number.
    """
    text = decode(data, file)
    locator = Locator(text, file)
    columns = _columns(text, file, INTERACTIONS_HEADER, locator)
    if not columns or not columns[0]:
        return InteractionsTable.empty()
    user_col, item_col, rating_col, time_col = columns
    user_ids, item_ids = Ids.of(user_col), Ids.of(item_col)
    check_ids(user_ids, 1, INTERACTIONS_HEADER[0], locator)
    check_ids(item_ids, 2, INTERACTIONS_HEADER[1], locator)
    ratings = naturals(rating_col, 3, "rating", locator)
    timestamps = naturals(time_col, 4, "timestamp", locator)
    clipped = int(np.count_nonzero(ratings > 1))
    return InteractionsTable(
        user_ids=user_ids,
        item_ids=item_ids,
        ratings=np.minimum(ratings, 1).astype(np.int8),
        timestamps=timestamps,
        clipped_ratings=clipped,
    )


def _columns(text: str, file: str, header: tuple[str, ...], locator: Locator) -> list[list[str]]:
    """Body columns of a file with a fixed ``header``; [] for an empty file."""
    quick = split_columns(text)
    if quick is not None:
        if quick[0]:
            check_header(quick[0], header, locator)
        return quick[1]
    rows = read_rows(text, file)
    if not rows:
        return []
    check_header(rows[0], header, locator)
    check_widths(rows[1:], len(header), locator)
    # A comprehension, not zip(*rows): zip makes a million iterators, which wakes the GC.
    return [[row[column] for row in rows[1:]] for column in range(len(header))]


def parse_user_data(data: bytes, file: str) -> UsersTable:
    """Rows of ``user_data_<t>.csv`` (contract §7.5); see :class:`UsersTable`.

    Raises:
        ExportFormatError: Wrong header, column count, empty or duplicate user id, or a
            malformed ``competencies_scale`` pair.
    """
    text = decode(data, file)
    rows = read_rows(text, file)
    if not rows:
        return UsersTable.empty()
    return parse_user_rows(rows, Locator(text, file))


def parse_item_data(data: bytes, file: str) -> ItemsTable:
    """Rows of ``item_data_<t>.csv`` (contract §7.6); see :class:`ItemsTable`.

    Raises:
        ExportFormatError: Header not ``item_id``, the five components, ``topic_*``,
            ``document``; wrong column count; an id outside the grammar or whose
            component differs from its one-hot column; cells other than 0/1; duplicates.
    """
    text = decode(data, file)
    rows = read_rows(text, file)
    if not rows:
        return ItemsTable.empty()
    return parse_item_rows(rows, Locator(text, file))

"""Parsers of the four Totara export files (contract §7) on small literal files."""

from __future__ import annotations

import numpy as np
import pytest

from mlcore.errors import ExportFormatError
from mlcore.item_types import COMPONENT_INDEX
from mlcore.totara.export_files import (
    parse_interactions,
    parse_item_data,
    parse_tenants,
    parse_user_data,
)

INTERACTIONS = b"user_id,item_id,rating,timestamp\n"
USERS = (
    b"user_id,lang,city,country,interests,asp_position,positions,organisations,"
    b"competencies_scale,badges,description\n"
)
ITEMS = (
    b"item_id,container_course,container_workspace,engage_article,engage_microlearning,"
    b"totara_playlist,document\n"
)


def error_of(parse, data: bytes) -> ExportFormatError:  # type: ignore[no-untyped-def]
    with pytest.raises(ExportFormatError) as caught:
        parse(data, "f.csv")
    assert caught.value.file == "f.csv"
    return caught.value


# --- tenants.csv -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "tenants"),
    [
        (b"tenants\n0\n3\n5\n", ["0", "3", "5"]),
        (b"tenants\n3\n5\n3\n", ["3", "5"]),
        (b"tenants\r\n 7 \r\n\r\n", ["7"]),
        (b"", ["0"]),
        (b"tenants\n", ["0"]),
        (b"tenants", ["0"]),
        (b"\xef\xbb\xbftenants\n4\n", ["4"]),
    ],
)
def test_parse_tenants(data: bytes, tenants: list[str]) -> None:
    assert parse_tenants(data) == tenants


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [(b"tenant\n1\n", 1, 1), (b"tenants\n1\n2,3\n", 3, 2), (b"tenants\n1\n../x\n", 3, 1)],
)
def test_parse_tenants_errors(data: bytes, line: int, column: int) -> None:
    error = error_of(parse_tenants, data)
    assert (error.line, error.column) == (line, column)


# --- user_interactions -------------------------------------------------------------


def test_interactions_reference_row_and_types() -> None:
    table = parse_interactions(INTERACTIONS + b"5,engage_article17,0,1634700000\n", "f.csv")
    assert table.user_ids.tolist() == ["5"]
    assert table.item_ids.tolist() == ["engage_article17"]
    assert table.ratings.dtype == np.int8 and table.ratings.tolist() == [0]
    assert table.timestamps.dtype == np.int64 and table.timestamps.tolist() == [1634700000]


def test_interactions_rating_above_one_reads_as_one_and_is_counted() -> None:
    table = parse_interactions(INTERACTIONS + b"1,a,1,1\n2,b,7,2\n3,c,0,3\n", "f.csv")
    assert table.ratings.tolist() == [1, 1, 0]
    assert table.clipped_ratings == 1


@pytest.mark.parametrize("data", [b"", INTERACTIONS, INTERACTIONS.rstrip(b"\n")])
def test_interactions_empty_or_header_only_is_no_data(data: bytes) -> None:
    assert len(parse_interactions(data, "f.csv")) == 0


@pytest.mark.parametrize(
    ("body", "line", "column", "words"),
    [
        (b"1,a,1,1\n2,b,-1,2\n", 3, 3, "negative"),
        (b"1,a,x,1\n", 2, 3, "not an integer"),
        (b"1,a,1.0,1\n", 2, 3, "not an integer"),
        (b"1,a,1,1634700000.5\n", 2, 4, "timestamp"),
        (b'1,"multi\nline",1,1\n2,b,1\n', 4, 4, "expected 4 columns, found 3"),
        (b"1,a,1,1,9\n", 2, 5, "found 5"),
        (b",a,1,1\n", 2, 1, "user_id is empty"),
    ],
)
def test_interactions_errors_name_physical_line_and_column(
    body: bytes, line: int, column: int, words: str
) -> None:
    error = error_of(parse_interactions, INTERACTIONS + body)
    assert (error.line, error.column) == (line, column)
    assert words in str(error)


@pytest.mark.parametrize(
    ("header", "column"),
    [
        (b"user_id,item_id,timestamp,rating\n", 3),
        (b"user_id,item_id,rating\n", 4),
        (b"user_id,item_id,rating,timestamp,extra\n", 5),
    ],
)
def test_interactions_header_is_checked_by_name(header: bytes, column: int) -> None:
    error = error_of(parse_interactions, header + b"1,a,1,1\n")
    assert (error.line, error.column) == (1, column)


# --- user_data ---------------------------------------------------------------------


def test_user_data_lists_competencies_and_texts() -> None:
    data = USERS + (
        b'2,en,"City1, Town3",NZ,interest_id3|interest_id1|interest_id3,1,4|5,,'
        b'123:45|234:56|123:67|234:12,,"likes ""x""\nand y"\n'
        b"3,,,,,,,,,,\n"
    )
    users = parse_user_data(data, "f.csv")
    assert users.user_ids.tolist() == ["2", "3"]
    assert users.lists["interests"] == (("interest_id3", "interest_id1"), ())
    assert users.lists["positions"] == (("4", "5"), ())
    assert users.lists["organisations"] == ((), ())
    assert users.competencies == ((("123", 67), ("234", 56)), ())
    assert users.cities == ("City1, Town3", "")
    assert users.descriptions == ('likes "x"\nand y', "")


def test_competency_reference_examples_and_empty_level() -> None:
    data = USERS + b"1,,,,,,,,123:45|123:12,,\n2,,,,,,,,7:,,\n"
    assert parse_user_data(data, "f.csv").competencies == ((("123", 45),), (("7", 0),))


@pytest.mark.parametrize("data", [b"", USERS, USERS.rstrip(b"\n")])
def test_user_data_empty_or_header_only_is_no_data(data: bytes) -> None:
    assert len(parse_user_data(data, "f.csv")) == 0


@pytest.mark.parametrize(
    ("body", "line", "column", "words"),
    [
        (b"1,,,,,,,,12,,\n", 2, 9, "competency id"),
        (b"1,,,,,,,,12:high,,\n", 2, 9, "not an integer"),
        (b"1,,,,,,,,,,\n2,,,,,,,,,,\n1,,,,,,,,,,\n", 4, 1, "first on line 2"),
        (b"1,,,,,,,,,\n", 2, 11, "expected 11 columns, found 10"),
    ],
)
def test_user_data_errors(body: bytes, line: int, column: int, words: str) -> None:
    error = error_of(parse_user_data, USERS + body)
    assert (error.line, error.column) == (line, column)
    assert words in str(error)


def test_user_data_misordered_header_names_the_column() -> None:
    header = USERS.replace(b"lang,city", b"city,lang")
    error = error_of(parse_user_data, header)
    assert (error.line, error.column) == (1, 2)
    assert "'city'" in error.problem and "'lang'" in error.problem


# --- item_data ---------------------------------------------------------------------


def test_item_data_reference_rows() -> None:
    data = ITEMS + (
        b"engage_microlearning3,0,0,0,1,0,wow pikachu boom\n"
        b"engage_article4,0,0,1,0,0,wow anima martin garrix\n"
        b"totara_playlist5,0,0,0,0,1,amsterdam\n"
        b"container_workspace6,0,1,0,0,0,luffy\n"
    )
    items = parse_item_data(data, "f.csv")
    assert items.item_ids.tolist()[0] == "engage_microlearning3"
    expected = ["engage_microlearning", "engage_article", "totara_playlist", "container_workspace"]
    assert items.item_types.tolist() == [COMPONENT_INDEX[c] for c in expected]
    assert items.documents[0] == "wow pikachu boom"
    assert items.topic_names == () and items.topics.shape == (4, 0)


def test_item_data_topic_columns_sit_before_document() -> None:
    header = ITEMS.replace(b",document", b",topic_topicone,topic_b,document")
    data = header + b'container_course1,1,0,0,0,0,1,0,"Course, with\nnewline"\n'
    items = parse_item_data(data, "f.csv")
    assert items.topic_names == ("topic_topicone", "topic_b")
    assert items.topics.toarray().tolist() == [[1.0, 0.0]]
    assert items.documents == ("Course, with\nnewline",)


@pytest.mark.parametrize("data", [b"", ITEMS, ITEMS.rstrip(b"\n")])
def test_item_data_empty_or_header_only_is_no_data(data: bytes) -> None:
    assert len(parse_item_data(data, "f.csv")) == 0


@pytest.mark.parametrize(
    ("body", "line", "column", "words"),
    [
        (b"engage_article1,0,0,1,1,0,d\n", 2, 5, "exactly one component column must be 1, found 2"),
        (b"engage_article1,0,0,0,0,0,d\n", 2, 2, "found 0"),
        (b"engage_article1,0,0,0,1,0,d\n", 2, 1, "does not start with engage_microlearning"),
        (b"article1,0,0,1,0,0,d\n", 2, 1, "not <component><digits>"),
        (b"engage_article1x,0,0,1,0,0,d\n", 2, 1, "not <component><digits>"),
        (b"engage_article1,0,0,yes,0,0,d\n", 2, 4, "not 0 or 1"),
        (b"engage_article1,0,0,1,0,0,d\nengage_article1,0,0,1,0,0,e\n", 3, 1, "repeats"),
        (b"engage_article1,0,0,1,0,0\n", 2, 7, "expected 7 columns, found 6"),
    ],
)
def test_item_data_errors(body: bytes, line: int, column: int, words: str) -> None:
    error = error_of(parse_item_data, ITEMS + body)
    assert (error.line, error.column) == (line, column)
    assert words in str(error)


@pytest.mark.parametrize(
    ("header", "column", "words"),
    [
        (b"id,container_course", 1, "'item_id'"),
        (
            ITEMS.replace(
                b"engage_article,engage_microlearning", b"engage_microlearning,engage_article"
            ),
            4,
            "expected 'engage_article'",
        ),
        (ITEMS.replace(b",document", b",topic_a,document,topic_b"), 8, "last column"),
        (ITEMS.replace(b",document", b",topic_a,topic_a,document"), 8, "duplicate"),
        (ITEMS.replace(b",document", b",colour,document"), 7, "'colour'"),
        (ITEMS.replace(b",document", b",topic_a"), 8, "missing its last column 'document'"),
        (ITEMS.replace(b",totara_playlist,document", b""), 6, "missing column(s) totara_playlist"),
    ],
)
def test_item_data_header_is_checked_by_name(header: bytes, column: int, words: str) -> None:
    error = error_of(parse_item_data, header.rstrip(b"\n") + b"\n")
    assert (error.line, error.column) == (1, column)
    assert words in str(error)


def test_item_data_topic_cell_must_be_0_or_1() -> None:
    header = ITEMS.replace(b",document", b",topic_a,document")
    error = error_of(parse_item_data, header + b"totara_playlist1,0,0,0,0,1,2,d\n")
    assert (error.line, error.column) == (2, 7)
    assert "topic_a" in error.problem


# --- whole files as written on other platforms ----------------------------------------


def test_bom_and_crlf_files_parse_like_plain_ones() -> None:
    crlf_items = (b"\xef\xbb\xbf" + ITEMS.replace(b"\n", b"\r\n")) + (
        b'engage_article4,0,0,1,0,0,"two\r\nlines"\r\ntotara_playlist5,0,0,0,0,1,x\r\n'
    )
    items = parse_item_data(crlf_items, "f.csv")
    assert items.item_ids.tolist() == ["engage_article4", "totara_playlist5"]
    assert items.documents == ("two\r\nlines", "x")
    crlf_interactions = b"\xef\xbb\xbf" + INTERACTIONS.replace(b"\n", b"\r\n") + b"5,a,1,7\r\n"
    table = parse_interactions(crlf_interactions, "f.csv")
    assert table.user_ids.tolist() == ["5"] and table.timestamps.tolist() == [7]
    users = parse_user_data(
        b"\xef\xbb\xbf" + USERS.replace(b"\n", b"\r\n") + b"5,,,,,,,,,,\r\n", "f.csv"
    )
    assert users.user_ids.tolist() == ["5"]


def test_list_reference_example_keeps_first_occurrences() -> None:
    users = parse_user_data(USERS + b"1,,,,,,,123|234|345|234|123,,,\n", "f.csv")
    assert users.lists["organisations"] == (("123", "234", "345"),)


def test_wrong_column_count_on_quote_free_file_names_line() -> None:
    data = INTERACTIONS + b"1,a,1,1\n2,b,1,2\n3,c,1\n4,d,1,4\n"
    error = error_of(parse_interactions, data)
    assert (error.line, error.column) == (4, 4)

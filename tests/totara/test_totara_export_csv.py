"""The low-level export CSV reader: PHP fputcsv round trips, line endings, error positions."""

from __future__ import annotations

import csv
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mlcore.errors import ExportFormatError
from mlcore.totara.csv_reader import Locator, _csv_reader, decode, read_rows, scan, split_columns
from tests.support.php_csv import php_csv, php_field

#: Characters that stress quoting, mixed with arbitrary unicode (no surrogates).
TRICKY = st.sampled_from(list(' ,"\\\n\r\t|:é€😀'))
CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
CELL = st.text(st.one_of(TRICKY, CHARACTERS), max_size=12)
#: The documented ambiguity: a backslash-quote directly followed by a comma or line break.
AMBIGUOUS = re.compile(r'\\"[,\r\n]')


def tables(width: int) -> st.SearchStrategy[list[list[str]]]:
    return st.lists(st.lists(CELL, min_size=width, max_size=width), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=2, max_value=4).flatmap(tables), st.sampled_from(["\n", "\r\n"]))
def test_what_php_fputcsv_writes_reads_back_exactly(rows: list[list[str]], eol: str) -> None:
    assume(not any(AMBIGUOUS.search(cell) for row in rows for cell in row))
    header = [f"c{i}" for i in range(len(rows[0]) if rows else 2)]
    data = php_csv([header, *rows], eol=eol)
    assert read_rows(decode(data, "t.csv"), "t.csv") == [header, *rows]


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from(list('ab,"\\\n\r ')), max_size=30))
def test_csv_module_path_and_scanner_agree_on_any_text(text: str) -> None:
    try:
        fast = [row for row in _csv_reader(text) if row]
    except csv.Error:
        with pytest.raises(ExportFormatError):
            list(scan(text, "t.csv"))
        return
    assert [record.fields for record in scan(text, "t.csv")] == fast


@settings(max_examples=150, deadline=None)
@given(st.text(st.sampled_from(list("ab,\n\r")), max_size=30))
def test_quote_free_column_split_agrees_with_rows(text: str) -> None:
    split = split_columns(text)
    rows = read_rows(text, "t.csv")
    if split is None:
        assert len({len(row) for row in rows}) > 1
        return
    header, columns = split
    body = [list(row) for row in zip(*columns, strict=True)]
    assert ([header] if header else []) + body == rows


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a b", '"a b"'),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ('a\\"b', '"a\\"b"'),
        ("ends\\", '"ends\\"'),
        ("line\nbreak", '"line\nbreak"'),
        ("tab\tx", '"tab\tx"'),
    ],
)
def test_php_writer_quotes_like_fputcsv(value: str, written: str) -> None:
    assert php_field(value) == written
    assert read_rows(written + ",x\n", "t.csv") == [[value, "x"]]


def test_backslash_quote_ambiguity_reads_as_field_ending_in_backslash() -> None:
    # PHP writes the field 'a\",b' as "a\",b", which is also how 'a\' then 'b' would
    # start; the reader decides for the closing quote (docs/export-format.md).
    assert read_rows('"a\\",b\n', "t.csv") == [["a\\", "b"]]


def test_bom_is_stripped_and_crlf_and_lf_mix() -> None:
    text = decode(b'\xef\xbb\xbfa,b\r\n1,2\n3,"x\r\ny"\r\n', "t.csv")
    assert read_rows(text, "t.csv") == [["a", "b"], ["1", "2"], ["3", "x\r\ny"]]


def test_blank_lines_are_skipped() -> None:
    assert read_rows("a,b\n\n1,2\n\n", "t.csv") == [["a", "b"], ["1", "2"]]


def test_field_larger_than_csv_module_limit_is_read() -> None:
    big = "w " * 100_000
    assert read_rows(f'a,"{big}"\n', "t.csv") == [["a", big]]


def test_nul_character_is_an_error() -> None:
    with pytest.raises(ExportFormatError) as caught:
        decode(b"a,b\n1,x\x00\n", "u.csv")
    assert caught.value.line == 2
    assert "NUL" in caught.value.problem


def test_invalid_utf8_names_line() -> None:
    with pytest.raises(ExportFormatError) as caught:
        decode(b"a,b\n1,\xff\n", "u.csv")
    assert (caught.value.file, caught.value.line) == ("u.csv", 2)
    assert "UTF-8" in caught.value.problem


@pytest.mark.parametrize("with_backslash", [False, True])
def test_unterminated_quote_at_end_of_file_names_its_line_and_column(with_backslash: bool) -> None:
    extra = '\\"x' if with_backslash else ""
    text = f'a,b\n1,2\n3,"open{extra}\nstill open\n'
    with pytest.raises(ExportFormatError) as caught:
        read_rows(text, "t.csv")
    assert (caught.value.line, caught.value.column) == (3, 2)
    assert "unterminated" in caught.value.problem


def test_text_after_closing_quote_is_an_error_on_the_physical_line() -> None:
    text = 'a,b\n"multi\nline",2\n3,"x"y\n'
    with pytest.raises(ExportFormatError) as caught:
        read_rows(text, "t.csv")
    assert (caught.value.line, caught.value.column) == (4, 2)
    assert "'y'" in caught.value.problem


def test_locator_counts_lines_inside_quoted_fields() -> None:
    text = 'h1,h2\r\n"a\r\nb\nc",1\n\n2,3\n'
    assert [Locator(text, "t.csv").line_of(i) for i in range(3)] == [1, 2, 6]

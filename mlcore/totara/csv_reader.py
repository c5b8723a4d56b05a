"""Low-level reader for Totara's PHP ``fputcsv`` files, with physical error positions.

Totara writes its exports with PHP ``fputcsv`` (``,`` delimiter, ``"`` enclosure and
PHP's default escape character ``\\``). Fields are quoted only when needed and an
embedded ``"`` is doubled, **except** directly after a backslash: PHP writes ``\\"``
unchanged. This module reads exactly what such a writer produces:

* Inside a quoted field, ``""`` is one ``"``; a ``"`` that follows one or more
  backslashes is a literal quote, unless it is followed by ``,``, a line break or the
  end of the file, in which case it closes the field (so a field ending in a
  backslash, written ``"a\\"``, reads back as ``a\\``). The one ambiguity: content in
  which ``\\"`` is directly followed by a comma or a line break is read as a field that
  ends in a backslash (see ``docs/export-format.md``).
* Line breaks are ``\\n``, ``\\r\\n`` (and a lone ``\\r``); quoted fields may span lines.
* A UTF-8 byte-order mark is stripped; completely empty lines are skipped; a NUL
  character is an error (no Totara text contains one, and numpy strings cannot).

Three paths give identical rows (property-tested): :func:`split_columns` for a text
without any ``"`` (fastest), the C ``csv`` module (for a text with ``\\"`` it is fed an
escaped copy) and a regex scanner. The scanner locates errors: it is run
only when something is wrong (or a field exceeds the ``csv`` module's size limit), to
name the physical 1-based line and the 1-based CSV column (field number).
"""

from __future__ import annotations

import bisect
import csv
import gc
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mlcore.errors import ExportFormatError

_BOM = "\ufeff"
_TERMINATOR = r"(?:,|\r\n|\n|\r|\Z)"
_QUOTED = re.compile(r'"((?:[^"\\]+|\\+"(?!' + _TERMINATOR + r')|\\+|"")*+)"')
_PHP_ESCAPES = re.compile(r'\\+"(?!' + _TERMINATOR + r")|\\+")
_UNQUOTED = re.compile(r"[^,\r\n]*")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")


@dataclass(frozen=True)
class Record:
    """One CSV record as the scanner saw it.

    Attributes:
        fields: The field values.
        starts: Offset in the text where each field starts.
    """

    fields: list[str]
    starts: list[int]


def decode(data: bytes, file: str) -> str:
    """UTF-8 text of ``data`` without a leading byte-order mark.

    Raises:
        ExportFormatError: The bytes are not UTF-8; names the line and character.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8", errors="replace")
        line, char = _line_and_char(good, len(good))
        raise ExportFormatError(
            file, line, 0, f"not valid UTF-8 (byte {exc.start + 1}, character {char} of the line)"
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line, char = _line_and_char(text, nul)
        raise ExportFormatError(
            file, line, 0, f"NUL character at character {char}: not a text file"
        )
    return text[1:] if text.startswith(_BOM) else text


def read_rows(text: str, file: str) -> list[list[str]]:
    """All non-empty records of ``text`` (already decoded), header included.

    Raises:
        ExportFormatError: Malformed quoting; names the physical line and column.
    """
    with _collector_paused():
        try:
            return [row for row in _csv_reader(text) if row]
        except csv.Error:
            pass  # located (or, for an over-long field, parsed) by the scanner below
        return [record.fields for record in scan(text, file)]


def _csv_reader(text: str) -> Iterator[list[str]]:
    """The C ``csv`` reader, fed so that it applies the same rules as :func:`scan`.

    Without ``\\"`` the text is plain RFC 4180 for the ``csv`` module. With it, every
    backslash is doubled and a quote that follows backslashes without closing the field
    is escaped, and the reader is given ``\\`` as escape character: both then come
    back literally, exactly as the scanner reads them.
    """
    if '\\"' not in text:
        return csv.reader(io.StringIO(text, newline=""), strict=True)
    escaped = _escape_for_csv(text)
    return csv.reader(io.StringIO(escaped, newline=""), strict=True, escapechar="\\")


def _escape_for_csv(text: str) -> str:
    """Double every backslash run; escape a quote that follows one without closing."""
    pieces: list[str] = []
    pos = 0
    while (start := text.find("\\", pos)) >= 0:  # str.find is far faster than re.sub here
        match = _PHP_ESCAPES.match(text, start)
        assert match is not None  # a backslash always matches
        run = match.group()
        pieces.append(text[pos:start])
        pieces.append(run[:-1] * 2 + '\\"' if run.endswith('"') else run * 2)
        pos = match.end()
    pieces.append(text[pos:])
    return "".join(pieces)


def split_columns(text: str) -> tuple[list[str], list[list[str]]] | None:
    """Header and body columns of a text without any ``"``, or None.

    The fastest path, for files such as the interactions where nothing is quoted.
    Returns None (use :func:`read_rows`) when the text has a quote or a row whose
    width differs from the header's, so that the general path can report it.
    """
    if '"' in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line for line in text.split("\n") if line]
    if not lines:
        return [], []
    header = lines[0].split(",")
    width = len(header)
    body = lines[1:]
    if any(line.count(",") != width - 1 for line in body):
        return None
    cells = ",".join(body).split(",") if body else []
    return header, [cells[column::width] for column in range(width)]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small lists.

    Allocating the row lists triggers full collections that traverse every list
    made so far, which makes reading quadratic-ish (about 5x slower at 1M rows).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def scan(text: str, file: str) -> Iterator[Record]:
    """Yield the non-empty records of ``text`` one by one, with field offsets.

    Raises:
        ExportFormatError: At the first malformed field.
    """
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] in "\r\n":
            pos = _LINE_BREAK.match(text, pos).end()  # type: ignore[union-attr]
            continue
        fields: list[str] = []
        starts: list[int] = []
        while True:
            starts.append(pos)
            value, pos = _field(text, pos, file, len(fields) + 1)
            fields.append(value)
            if pos < end and text[pos] == ",":
                pos += 1
                continue
            if pos < end:
                pos = _LINE_BREAK.match(text, pos).end()  # type: ignore[union-attr]
            break
        yield Record(fields, starts)


def _field(text: str, pos: int, file: str, column: int) -> tuple[str, int]:
    if pos >= len(text) or text[pos] != '"':
        match = _UNQUOTED.match(text, pos)
        assert match is not None  # the pattern matches the empty string
        return match.group(), match.end()
    match = _QUOTED.match(text, pos)
    if match is None:
        line, char = _line_and_char(text, pos)
        raise ExportFormatError(
            file,
            line,
            column,
            f"quoted field opened at character {char} is never closed (unterminated quote)",
        )
    after = match.end()
    if after < len(text) and text[after] not in ",\r\n":
        line, char = _line_and_char(text, after)
        raise ExportFormatError(
            file,
            line,
            column,
            f"unexpected {text[after]!r} at character {char} after a closing quote "
            '(a quote inside a quoted field must be doubled: "")',
        )
    return match.group(1).replace('""', '"'), after


def _line_and_char(text: str, pos: int) -> tuple[int, int]:
    """Physical 1-based line and 1-based character of offset ``pos``."""
    line, line_start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, pos):
        line += 1
        line_start = match.end()
    return line, pos - line_start + 1


class Locator:
    """Maps (record index, field index) to physical (line, column) by re-scanning.

    Only used to report an error, so it scans lazily and only as far as needed.

    Args:
        text: The decoded file text.
        file: File name for errors.
    """

    def __init__(self, text: str, file: str) -> None:
        self._text = text
        self._file = file
        self._breaks: list[int] | None = None

    def line_of(self, record_index: int) -> int:
        """Physical 1-based line where record ``record_index`` (0 = header) starts."""
        for index, record in enumerate(scan(self._text, self._file)):
            if index == record_index:
                return self._line(record.starts[0])
        return self._line(len(self._text))

    def _line(self, pos: int) -> int:
        if self._breaks is None:
            self._breaks = [m.end() for m in _LINE_BREAK.finditer(self._text)]
        return bisect.bisect_right(self._breaks, pos) + 1

    def error(self, record_index: int, column: int, problem: str) -> ExportFormatError:
        """An error for 1-based ``column`` of record ``record_index``."""
        return ExportFormatError(self._file, self.line_of(record_index), column, problem)

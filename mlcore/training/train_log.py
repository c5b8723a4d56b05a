"""``train_summary.log``: one CSV row per tenant per training run (contract §8.10).

The log is written by the trainer and read by every health check, so it is read
defensively: at most its last :data:`MAX_READ_BYTES`, undecodable bytes replaced, rows
the ``csv`` module refuses (a cell over its 128 KiB field limit, written before cells
were capped) or of the wrong width skipped. Every cell written is cut to
:data:`CELL_LIMIT` characters, old rows too, so the next run heals a poisoned log.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlcore.errors import shortened

HEADER = ("TIMESTAMP", "ALGORITHM", "TENANT_ID", "MSG", "EPOCHS", "N_EMBEDDINGS", "SCORE")
MAX_ROWS = 100
TIMESTAMP_FORMAT = "%d-%b-%Y (%H:%M:%S)"
#: Most characters of one cell (a message quoting input is already shorter, see
#: :func:`mlcore.errors.quoted`; this bounds everything else, e.g. library errors).
CELL_LIMIT = 1000
#: Most bytes read from the end of the log (100 rows of capped cells are far fewer).
MAX_READ_BYTES = 4 * 1024 * 1024
FETCH_FAILED = "The model training process failed as service was not successful in fetching the data from Totara instance"


@dataclass(frozen=True)
class LogRow:
    """One row. The list columns are joined with ``", "`` when written."""

    timestamp: str
    algorithm: str
    tenant: str
    message: str
    epochs: Sequence[int] = ()
    n_embeddings: Sequence[int] = ()
    scores: Sequence[float] = ()

    def cells(self) -> list[str]:
        """The row's cells as written, each cut to :data:`CELL_LIMIT` characters."""
        return _capped(
            [
                self.timestamp,
                self.algorithm,
                self.tenant,
                self.message,
                ", ".join(str(e) for e in self.epochs),
                ", ".join(str(c) for c in self.n_embeddings),
                ", ".join(f"{s:.4f}" for s in self.scores),
            ]
        )


def run_timestamp(epoch_seconds: float | None = None) -> str:
    """A run's own start time in the original's format, local time (§13.2)."""
    return time.strftime(TIMESTAMP_FORMAT, time.localtime(epoch_seconds))


def append_rows(path: Path, rows: Sequence[LogRow]) -> None:
    """Append rows, keep the last :data:`MAX_ROWS`, and replace the file atomically.

    Raises:
        OSError: The file could not be written (e.g. a full disk); the previous log is
            left as it was and no temporary file remains.
    """
    existing = [_capped(row) for row in read_rows(path)]
    kept = (existing + [row.cells() for row in rows])[-MAX_ROWS:]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_rows(path: Path) -> list[list[str]]:
    """Data rows of the log (header dropped); empty when the file is absent or unreadable.

    Never raises for the file's content: see the module docstring.
    """
    text = _tail(path)
    rows = []
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            continue  # the reader resumes at the next line
        if len(row) == len(HEADER) and tuple(row) != HEADER:
            rows.append(row)
    return rows


def _tail(path: Path) -> str:
    """The file's text, or its last :data:`MAX_READ_BYTES` from a line start; "" if unreadable."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_READ_BYTES:
                handle.seek(size - MAX_READ_BYTES)
                handle.readline()  # a partial line
            data = handle.read(MAX_READ_BYTES)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


def _capped(cells: Sequence[str]) -> list[str]:
    return [shortened(cell, CELL_LIMIT) for cell in cells]


def last_training_summary(path: Path) -> str | None:
    """The health check's ``last_recommendation_model_training`` string (§4.5), or None.

    Built from every row with the last row's TIMESTAMP: for each of TIMESTAMP,
    ALGORITHM, TENANT_ID and MSG, the ``", "``-joined values, rendered like a
    Python dict literal.
    """
    rows = read_rows(path)
    if not rows:
        return None
    last = rows[-1][0]
    same = [row for row in rows if row[0] == last]
    parts = []
    for column, key in enumerate(HEADER[:4]):
        value = ", ".join(row[column] for row in same)
        parts.append(f"{_quote(key)}: {_quote(value)}")
    return "{" + ", ".join(parts) + "}"


def _quote(text: str) -> str:
    """Python ``repr`` of a str, as the original renders its dict."""
    return repr(text)

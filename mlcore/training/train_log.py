"""``train_summary.log``: one CSV row per tenant per training run (contract §8.10)."""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HEADER = ("TIMESTAMP", "ALGORITHM", "TENANT_ID", "MSG", "EPOCHS", "N_EMBEDDINGS", "SCORE")
MAX_ROWS = 100
TIMESTAMP_FORMAT = "%d-%b-%Y (%H:%M:%S)"
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
        return [
            self.timestamp,
            self.algorithm,
            self.tenant,
            self.message,
            ", ".join(str(e) for e in self.epochs),
            ", ".join(str(c) for c in self.n_embeddings),
            ", ".join(f"{s:.4f}" for s in self.scores),
        ]


def run_timestamp(epoch_seconds: float | None = None) -> str:
    """A run's own start time in the original's format, local time (§13.2)."""
    return time.strftime(TIMESTAMP_FORMAT, time.localtime(epoch_seconds))


def append_rows(path: Path, rows: Sequence[LogRow]) -> None:
    """Append rows, keep the last :data:`MAX_ROWS`, and replace the file atomically."""
    existing = read_rows(path)
    kept = (existing + [row.cells() for row in rows])[-MAX_ROWS:]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_rows(path: Path) -> list[list[str]]:
    """Data rows of the log (header dropped); empty when the file is absent or unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    rows = list(csv.reader(io.StringIO(text)))
    return [row for row in rows[1:] if len(row) == len(HEADER)]


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

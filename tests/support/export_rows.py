"""Changing an export the way an LMS does: a whole new file renamed over the old one."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path


def append_rows(path: Path, rows: list[list[str]]) -> None:
    """Append CSV ``rows`` to ``path`` atomically (a new file renamed over it)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(path.read_bytes() + buffer.getvalue().encode("utf-8"))
    os.replace(temporary, path)

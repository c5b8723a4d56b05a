"""Test helpers of the legacy batch tests: small Totara 13/14 exports and Totara's import rules."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlcore.item_types import COMPONENTS

USER_HEADER = (
    "user_id,lang,city,country,interests,asp_position,positions,organisations,"
    "competencies_scale,badges,description"
)
ITEM_ID = re.compile(r"([a-z]+_[a-z]+)(\d+)", re.IGNORECASE)


def write_tenant(
    folder: Path, tenant: str, *, users: int, items_per_type: int, seed: int = 0
) -> None:
    """One tenant's three files with planted structure: two groups of learners.

    Users with an even id use the first half of each type's items, odd ids the other
    half; ratings are 0 and 1; every user has at least two interactions.
    """
    rng = np.random.default_rng(seed)
    user_ids = [str(2 + u) for u in range(users)]
    lines = [USER_HEADER]
    for user in user_ids:
        city = '"City 1, Town 3"' if int(user) % 3 == 0 else "Town"
        lines.append(f"{user},en,{city},NZ,interest_id{int(user) % 4},,,,,,about {user}")
    (folder / f"user_data_{tenant}.csv").write_text("\n".join(lines) + "\n")
    header = "item_id," + ",".join(COMPONENTS) + ",topic_one,document"
    rows = [header]
    item_ids = []
    for index, component in enumerate(COMPONENTS):
        for number in range(1, items_per_type + 1):
            item_ids.append((f"{component}{number}", number))
            hot = ",".join("1" if i == index else "0" for i in range(len(COMPONENTS)))
            rows.append(f"{component}{number},{hot},{number % 2},title {number} text")
    (folder / f"item_data_{tenant}.csv").write_text("\n".join(rows) + "\n")
    lines = ["user_id,item_id,rating,timestamp"]
    for user in user_ids:
        parity = int(user) % 2
        group = [item for item, number in item_ids if number % 2 == parity]
        chosen = rng.choice(len(group), size=min(len(group), 6), replace=False)
        for rank, pick in enumerate(chosen):
            rating = int(rng.random() < 0.7)
            lines.append(f"{user},{group[pick]},{rating},{1_600_000_000 + rank * 1000}")
    (folder / f"user_interactions_{tenant}.csv").write_text("\n".join(lines) + "\n")


def write_tenants(folder: Path, tenants: list[str]) -> None:
    """``tenants.csv`` as Totara 13/14 writes it (only real tenants; header-only if none)."""
    (folder / "tenants.csv").write_text("\n".join(["tenants", *tenants]) + "\n")


@dataclass(frozen=True)
class ImportedRow:
    """One row as Totara's import stores it."""

    first: str
    component: str
    item_id: int
    unique_id: str
    score: float
    target_component: str = ""
    target_item_id: int = 0


def import_i2u(path: Path) -> list[ImportedRow]:
    """Read ``i2u_<t>.csv`` like Totara's import: by header name, ``-1`` rows skipped."""
    rows = []
    for record in _records(path):
        score = round(float(record["ranking"]), 12)
        if score == -1:
            continue
        component, number = _parse_item(record["iid"])
        rows.append(ImportedRow(record["uid"], component, number, record["iid"], score))
    return rows


def import_i2i(path: Path) -> list[ImportedRow]:
    """Read ``i2i_<t>.csv`` like Totara's import: by header name, ``-1`` rows skipped."""
    rows = []
    for record in _records(path):
        score = round(float(record["ranking"]), 12)
        if score == -1:
            continue
        target_component, target_number = _parse_item(record["target_iid"])
        component, number = _parse_item(record["similar_iid"])
        rows.append(
            ImportedRow(
                record["target_iid"],
                component,
                number,
                record["similar_iid"],
                score,
                target_component,
                target_number,
            )
        )
    return rows


def _records(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _parse_item(item_id: str) -> tuple[str, int]:
    match = ITEM_ID.search(item_id)
    assert match is not None, f"item id {item_id!r} does not match Totara's pattern"
    return match.group(1), int(match.group(2))

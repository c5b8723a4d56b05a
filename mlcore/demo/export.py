"""Synthetic Totara export folders with planted structure (``mlservice demo-data``).

The files follow contract §7 exactly (``tenants.csv`` Totara 15+ style, PHP
``fputcsv`` quoting). What a recommender can learn:

* Every user belongs to one interest group (a :data:`~mlcore.demo.text.TOPICS` entry)
  and has a second, weaker one. The group shows in the user's fields: interests,
  aspirational position, position, organisation, competencies, language, country,
  city and description words.
* Every item has a topic: its ``topic_*`` tag (mostly), its title and document words.
* 75% of a user's interactions go to items of their group, 10% to their second
  group, 15% anywhere by global popularity; within a group, item popularity is skewed
  (Zipf-like). The structure does not change over time, so the most recent
  interactions (a temporal split) are predictable from the older ones.
* Interactions with courses are enrolments (rating 1); others are rating 1 when
  "repeated" (about a third of own-group interactions), else 0.

Generation is vectorised and deterministic for a given seed and ``now``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlcore.demo.items import ItemTables, make_items
from mlcore.demo.text import TOPICS
from mlcore.demo.users import make_user_rows
from mlcore.item_types import COMPONENTS

YEAR_SECONDS = 365 * 86400
USER_HEADER = (
    "user_id,lang,city,country,interests,asp_position,positions,organisations,"
    "competencies_scale,badges,description"
)


@dataclass(frozen=True)
class TenantSize:
    """Rows of one tenant's export."""

    users: int
    items: int
    interactions: int


@dataclass(frozen=True)
class DemoConfig:
    """What to generate.

    Attributes:
        tenants: Number of tenants (ids ``0`` .. ``tenants - 1``). Tenant ``k`` gets
            ``1 / (k + 1)`` of the sizes below; with two or more tenants the last one is
            tiny (below the 10 users / 10 items minimum) to show the skip message.
        users: Users of tenant ``0``.
        items: Items of tenant ``0``.
        interactions: Interaction rows of tenant ``0``.
        seed: Random seed; the same seed and ``now`` give byte-identical files.
        now: Unix time the interactions lead up to (default: today 00:00 UTC).
        same_size: Every tenant gets the sizes above (none tiny), e.g. for benchmarks.
    """

    tenants: int = 4
    users: int = 400
    items: int = 150
    interactions: int = 8000
    seed: int = 42
    now: int | None = None
    same_size: bool = False

    def sizes(self) -> dict[str, TenantSize]:
        """Size of each tenant by id."""
        if self.tenants < 1 or self.users < 1 or self.items < 5 or self.interactions < 1:
            raise ValueError("need at least 1 tenant, 1 user, 5 items and 1 interaction")
        sizes = {}
        for k in range(self.tenants):
            if self.same_size:
                sizes[str(k)] = TenantSize(self.users, self.items, self.interactions)
            elif k == self.tenants - 1 and k > 0:
                sizes[str(k)] = TenantSize(6, 8, 15)
            else:
                sizes[str(k)] = TenantSize(
                    max(self.users // (k + 1), 1),
                    max(self.items // (k + 1), 5),
                    max(self.interactions // (k + 1), 1),
                )
        return sizes


@dataclass(frozen=True)
class DemoSummary:
    """What was written, per tenant: (users, items, interaction rows)."""

    folder: Path
    tenants: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def write_demo_export(folder: Path, config: DemoConfig) -> DemoSummary:
    """Write ``tenants.csv`` and each tenant's three files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(config.seed)
    now = config.now if config.now is not None else int(time.time()) // 86400 * 86400
    sizes = config.sizes()
    (folder / "tenants.csv").write_bytes(("tenants\n" + "".join(t + "\n" for t in sizes)).encode())
    summary = DemoSummary(folder)
    first_user = 2  # Totara's admin is user 2; user 1 is the guest.
    id_counters = dict.fromkeys(("course", "resource", "playlist"), 1)
    for tenant, size in sizes.items():
        groups = min(len(TOPICS), max(2, size.items // 12))
        items = make_items(rng, size.items, groups, id_counters)
        user_ids = np.arange(first_user, first_user + size.users)
        first_user += size.users
        user_groups = rng.integers(groups, size=size.users)
        second_groups = (user_groups + rng.integers(1, groups, size=size.users)) % groups
        user_lines = make_user_rows(rng, user_ids, user_groups)
        rows = _interactions(rng, size, items, user_groups, second_groups, now)
        _write(folder / f"user_data_{tenant}.csv", [USER_HEADER + "\n"] + user_lines)
        _write(folder / f"item_data_{tenant}.csv", items.lines)
        _write(
            folder / f"user_interactions_{tenant}.csv", _interaction_lines(user_ids, items, rows)
        )
        summary.tenants[tenant] = (size.users, size.items, int(rows[0].shape[0]))
    return summary


def _interactions(
    rng: np.random.Generator,
    size: TenantSize,
    items: ItemTables,
    user_groups: np.ndarray,
    second_groups: np.ndarray,
    now: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(user row, item row, rating, timestamp) arrays, one row per (user, item)."""
    activity = rng.lognormal(0.0, 0.8, size=(user_groups.shape[0],))
    activity /= activity.sum()
    users = np.empty(0, dtype=np.int64)
    chosen = np.empty(0, dtype=np.int64)
    mode = np.empty(0)
    for _round in range(8):  # repeated (user, item) draws are dropped: draw until enough
        missing = size.interactions - users.shape[0]
        if missing <= 0:
            break
        draws = int(missing * 1.5) + 10
        new_users = rng.choice(user_groups.shape[0], size=draws, p=activity)
        new_mode = rng.random(draws)
        group = np.where(new_mode < 0.75, user_groups[new_users], second_groups[new_users])
        new_items = items.sample_in_groups(rng, group)
        anywhere = new_mode >= 0.85
        new_items[anywhere] = items.sample_anywhere(rng, int(anywhere.sum()))
        users = np.concatenate([users, new_users])
        chosen = np.concatenate([chosen, new_items])
        mode = np.concatenate([mode, new_mode])
        _, first = np.unique(users * items.count + chosen, return_index=True)
        keep = np.sort(first)[: size.interactions]
        users, chosen, mode = users[keep], chosen[keep], mode[keep]
    repeat_chance = np.where(mode < 0.75, 0.35, 0.15)
    ratings = (rng.random(users.shape[0]) < repeat_chance).astype(np.int8)
    ratings[items.types[chosen] == COMPONENTS.index("container_course")] = 1
    stamps = now - rng.integers(0, YEAR_SECONDS, size=users.shape[0])
    order = np.lexsort((chosen, users))
    return users[order], chosen[order], ratings[order], stamps[order]


def _interaction_lines(
    user_ids: np.ndarray,
    items: ItemTables,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> list[str]:
    users, chosen, ratings, stamps = rows
    # No field of these rows ever needs quoting, so plain joins are PHP-identical.
    ids = items.ids[chosen].tolist()
    lines = ["user_id,item_id,rating,timestamp\n"]
    lines += [
        f"{u},{i},{r},{t}\n"
        for u, i, r, t in zip(
            user_ids[users].tolist(), ids, ratings.tolist(), stamps.tolist(), strict=True
        )
    ]
    return lines


def _write(path: Path, lines: list[str]) -> None:
    path.write_bytes("".join(lines).encode("utf-8"))

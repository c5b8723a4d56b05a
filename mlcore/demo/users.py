"""Users of the synthetic demo export: ``user_data`` rows whose fields reveal the user's group.

Every id pool below is per group, so interests, positions, organisations and
competencies identify the group; badges are noise shared by everyone.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mlcore.demo.text import PLACES, TOPICS, description
from mlcore.totara.php_csv import php_csv_line

INTERESTS_PER_GROUP = 6
ALL_INTERESTS = INTERESTS_PER_GROUP * len(TOPICS)


def make_user_rows(
    rng: np.random.Generator, user_ids: np.ndarray, user_groups: np.ndarray
) -> list[str]:
    """``user_data`` lines (no header) for users in id order.

    Every random number is drawn up front in arrays; the loop only formats.

    Args:
        rng: Random generator.
        user_ids: (U,) int64 Totara user ids, ascending.
        user_groups: (U,) int64 interest group (index into ``TOPICS``) of each user.
    """
    count = user_ids.shape[0]
    draws = rng.integers(0, 1 << 30, size=(count, 8)).tolist()
    flips = (rng.random((count, 6)) < np.array([0.8, 0.9, 0.3, 0.5, 0.1, 0.0])).tolist()
    interests = _distinct(rng, count, INTERESTS_PER_GROUP, rng.integers(1, 4, size=(count,)))
    positions = _distinct(rng, count, 4, 1 + np.array([f[4] for f in flips], dtype=np.int64))
    competencies = _distinct(rng, count, 3, rng.integers(0, 4, size=(count,)))
    badges = _distinct(rng, count, 20, rng.integers(0, 3, size=(count,)))
    levels = rng.integers(0, 5, size=(count, 3)).tolist()
    lines = []
    for row, (user, group) in enumerate(zip(user_ids.tolist(), user_groups.tolist(), strict=True)):
        r, flip, topic = draws[row], flips[row], TOPICS[group]
        lang = topic.language if flip[0] else "en"
        places = PLACES[lang]
        country, cities = places[r[0] % len(places)]
        interest_ids = {i + 1 + INTERESTS_PER_GROUP * group for i in interests[row]}
        if flip[2]:
            interest_ids.add(1 + r[1] % ALL_INTERESTS)
        fields = [
            str(user),
            lang,
            cities[r[2] % len(cities)] if flip[1] else "",
            country,
            _joined(interest_ids, 0),
            str(100 + 3 * group + r[3] % 3) if flip[3] else "",
            _joined(positions[row], 200 + 4 * group),
            str(300 + 2 * group + r[4] % 2),
            "|".join(f"{400 + 3 * group + c}:{levels[row][c]}" for c in sorted(competencies[row])),
            _joined(badges[row], 500),
            description(topic, r[3:8]),
        ]
        lines.append(php_csv_line(fields))
    return lines


def _distinct(
    rng: np.random.Generator, count: int, pool: int, sizes: np.ndarray
) -> list[list[int]]:
    """Per row, ``sizes[row]`` distinct numbers from ``0 .. pool - 1``."""
    shuffled = np.argsort(rng.random((count, pool)), axis=1)
    return [row[:size] for row, size in zip(shuffled.tolist(), sizes.tolist(), strict=True)]


def _joined(values: Iterable[int], offset: int) -> str:
    return "|".join(str(v + offset) for v in sorted(values))

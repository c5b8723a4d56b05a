"""Items of the synthetic demo export: types, topics, skewed popularity and ``item_data`` rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlcore.demo.text import TOPICS, sentence, title
from mlcore.item_types import COMPONENTS
from mlcore.totara.php_csv import php_csv_line

#: Share of each component, in COMPONENTS order.
TYPE_SHARES = (0.25, 0.15, 0.3, 0.15, 0.15)
#: Which Totara table numbers each component's ids (articles share one, as do containers).
_ID_TABLE = ("course", "course", "resource", "resource", "playlist")
EXTRA_TAG = "onboarding"


@dataclass(frozen=True)
class ItemTables:
    """One tenant's items.

    Attributes:
        ids: (I,) str prefixed item ids.
        types: (I,) int64 component index.
        groups: (I,) int64 topic (interest group) of each item.
        weights: (I,) float64 popularity weight.
        lines: ``item_data`` lines, header first.
    """

    ids: np.ndarray
    types: np.ndarray
    groups: np.ndarray
    weights: np.ndarray
    lines: list[str]

    @property
    def count(self) -> int:
        return int(self.ids.shape[0])

    def sample_in_groups(self, rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
        """One item per entry of ``groups`` (int array), by popularity within the group."""
        order = np.argsort(self.groups, kind="stable")
        cumulative = np.cumsum(self.weights[order])
        n_groups = int(self.groups.max()) + 1
        ends = np.searchsorted(self.groups[order], np.arange(n_groups), side="right")
        highs = cumulative[ends - 1]
        lows = np.concatenate([[0.0], highs[:-1]])
        targets = lows[groups] + rng.random(groups.shape[0]) * (highs[groups] - lows[groups])
        positions = np.searchsorted(cumulative, targets, side="right")
        return order[np.minimum(positions, self.count - 1)]

    def sample_anywhere(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` items by global popularity."""
        return rng.choice(self.count, size=n, p=self.weights / self.weights.sum())


def make_items(
    rng: np.random.Generator, count: int, n_groups: int, id_counters: dict[str, int]
) -> ItemTables:
    """Generate ``count`` items over ``n_groups`` topics; advances ``id_counters``."""
    types = rng.choice(len(COMPONENTS), size=count, p=TYPE_SHARES)
    types[: len(COMPONENTS)] = np.arange(len(COMPONENTS))  # every type is present
    groups = rng.permutation(np.arange(count) % n_groups)
    ranks = rng.permutation(count)
    weights = 1.0 / (1.0 + ranks) ** 0.9 + 1e-3
    ids = np.array([_next_id(int(t), id_counters) for t in types])
    lines = _item_lines(rng, ids, types, groups, n_groups)
    return ItemTables(ids, types.astype(np.int64), groups.astype(np.int64), weights, lines)


def _next_id(component: int, id_counters: dict[str, int]) -> str:
    table = _ID_TABLE[component]
    number = id_counters[table]
    id_counters[table] = number + 1
    return f"{COMPONENTS[component]}{number}"


def _item_lines(
    rng: np.random.Generator,
    ids: np.ndarray,
    types: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
) -> list[str]:
    tags = [t.tag for t in TOPICS[:n_groups]] + [EXTRA_TAG]
    header = ["item_id", *COMPONENTS, *(f"topic_{tag}" for tag in tags), "document"]
    lines = [php_csv_line(header)]
    count = ids.shape[0]
    tag_matrix = np.zeros((count, len(tags)), dtype=np.int8)
    carries_own = rng.random((count,)) < 0.9
    tag_matrix[np.flatnonzero(carries_own), groups[carries_own]] = 1
    other = rng.random((count,)) < 0.1
    tag_matrix[np.flatnonzero(other), rng.integers(len(tags), size=int(other.sum()))] = 1
    flags = np.concatenate([np.eye(len(COMPONENTS), dtype=np.int8)[types], tag_matrix], axis=1)
    flag_cells = [",".join(row) for row in flags.astype(str).tolist()]
    draws = rng.integers(0, 1 << 30, size=(count, 20)).tolist()
    n_sentences = rng.integers(1, 4, size=(count,)).tolist()
    newline = (rng.random((count,)) < 0.05).tolist()  # Totara keeps real newlines
    for row, (item_id, group) in enumerate(zip(ids.tolist(), groups.tolist(), strict=True)):
        topic, r = TOPICS[group], draws[row]
        parts = [sentence(topic, r[4 + 5 * k : 9 + 5 * k]) for k in range(n_sentences[row])]
        document = title(topic, r[:4]) + " " + ("\n" if newline[row] else " ").join(parts)
        lines.append(f"{item_id},{flag_cells[row]},{php_csv_line([document])}")
    return lines

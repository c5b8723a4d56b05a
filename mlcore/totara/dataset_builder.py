"""Build a tenant's :class:`~mlcore.dataset.Dataset` from its three export files.

Contract §8.3: interactions whose user is not in ``user_data`` or whose item is not in
``item_data`` are dropped, then only the latest row per (user, item) is kept (equal
timestamps: the row further down the file wins). What was dropped is counted in
``Dataset.stats``:

==========================  ========================================================
key                         meaning
==========================  ========================================================
``rows``                    interaction rows in the file
``ratings_clipped``         ratings above 1 read as 1
``dropped_unknown_user``    rows whose user is not in ``user_data``
``dropped_unknown_item``    rows with a known user whose item is not in ``item_data``
``duplicates_removed``      older rows of a repeated (user, item)
``interactions``            rows kept
==========================  ========================================================
"""

from __future__ import annotations

import numpy as np

from mlcore.dataset import Dataset
from mlcore.interfaces import DataSource
from mlcore.totara.export_files import parse_interactions, parse_item_data, parse_user_data
from mlcore.totara.features import item_features, user_features
from mlcore.totara.tables import InteractionsTable, ItemsTable, UsersTable


def load_tenant_dataset(source: DataSource, tenant: str) -> Dataset:
    """Read and parse ``user_interactions_<t>``, ``user_data_<t>``, ``item_data_<t>``.

    Raises:
        DataSourceError: A file cannot be read.
        ExportFormatError: A file is malformed.
    """
    interactions_file = f"user_interactions_{tenant}.csv"
    users_file = f"user_data_{tenant}.csv"
    items_file = f"item_data_{tenant}.csv"
    return build_dataset(
        tenant,
        parse_interactions(source.read_file(interactions_file), interactions_file),
        parse_user_data(source.read_file(users_file), users_file),
        parse_item_data(source.read_file(items_file), items_file),
    )


def build_dataset(
    tenant: str, interactions: InteractionsTable, users: UsersTable, items: ItemsTable
) -> Dataset:
    """Map ids to indices, clean the interactions and build the ``partial`` features.

    Users keep ``user_data`` order; items are grouped by component in
    :data:`~mlcore.item_types.COMPONENTS` order, stable within a component.
    """
    order = np.argsort(items.item_types, kind="stable")
    item_ids = items.item_ids.take(order)
    item_matrix, item_names = item_features(items)
    user_matrix, user_names = user_features(users)
    user_index = users.user_ids.lookup(interactions.user_ids)
    item_index = item_ids.lookup(interactions.item_ids)
    known_user = user_index >= 0
    keep = known_user & (item_index >= 0)
    kept = latest_per_pair(
        user_index[keep], item_index[keep], interactions.timestamps[keep], max(len(items), 1)
    )
    stats = {
        "rows": len(interactions),
        "ratings_clipped": interactions.clipped_ratings,
        "dropped_unknown_user": int(np.count_nonzero(~known_user)),
        "dropped_unknown_item": int(np.count_nonzero(known_user & ~keep)),
        "duplicates_removed": int(np.count_nonzero(keep)) - int(kept.size),
        "interactions": int(kept.size),
    }
    return Dataset(
        tenant=tenant,
        user_ids=users.user_ids,
        item_ids=item_ids,
        item_types=items.item_types[order].astype(np.int8),
        user_index=user_index[keep][kept].astype(np.int32),
        item_index=item_index[keep][kept].astype(np.int32),
        ratings=interactions.ratings[keep][kept].astype(np.int8),
        timestamps=interactions.timestamps[keep][kept].astype(np.int64),
        user_features=user_matrix,
        user_feature_names=user_names,
        item_features=item_matrix[order],
        item_feature_names=item_names,
        user_texts=tuple(f"{c} {d}" for c, d in zip(users.cities, users.descriptions, strict=True)),
        item_documents=tuple(items.documents[i] for i in order),
        stats=stats,
    )


def latest_per_pair(
    user_index: np.ndarray, item_index: np.ndarray, timestamps: np.ndarray, n_items: int
) -> np.ndarray:
    """Positions of the rows to keep: per (user, item) the latest, ties to the last row.

    Returns:
        (K,) int64 positions into the inputs, in (user, item) order.
    """
    if user_index.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    pair = user_index.astype(np.int64) * n_items + item_index.astype(np.int64)
    # lexsort is stable, so among equal (pair, timestamp) the later row sorts last.
    order = np.lexsort((timestamps, pair))
    ordered = pair[order]
    last = np.ones(ordered.shape[0], dtype=bool)
    last[:-1] = ordered[1:] != ordered[:-1]
    return order[last]

"""Published models of small datasets, and datasets with new interactions, for refresh tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.dataset import Dataset
from mlcore.events.event_log import StoredEvent
from mlcore.events.merge import merge_events
from mlcore.events.records import InteractionEvent
from mlcore.interfaces import ModelArtifact, Recommender
from mlcore.serving.artifact import build_artifact
from mlcore.serving.blend import blend_arrays

#: Every backend the service can serve (``blend`` is LightFM with EASE and ALS).
BACKENDS = (
    "popularity",
    "lightfm",
    "implicit-als",
    "implicit-bpr",
    "item-knn",
    "ease",
    "sequence",
    "blend",
)
SETTINGS = Settings(num_threads=1, algorithm="partial", tuning_trials=0)


def make_recommender(name: str, settings: Settings = SETTINGS) -> Recommender:
    """An unfitted recommender from the installed plugins."""
    return configured_plugins(settings).recommender(name)


def published(dataset: Dataset, backend: str, settings: Settings = SETTINGS) -> ModelArtifact:
    """The artifact a training of ``dataset`` with ``backend`` publishes (arrays in memory)."""
    if backend == "blend":
        members = [
            make_recommender(n, settings).fit(dataset).export()
            for n in ("lightfm", "ease", "implicit-als")
        ]
        serving = blend_arrays(members, [0.5, 0.3, 0.2])
    else:
        serving = make_recommender(backend, settings).fit(dataset).export()
    artifact = build_artifact(dataset, serving, backend=backend, algorithm=backend, details={})
    arrays = {name: np.array(array) for name, array in artifact.arrays.items()}
    return ModelArtifact(artifact.manifest, arrays)


def with_events(dataset: Dataset, rows: Sequence[tuple[str, str, int, int]]) -> Dataset:
    """``dataset`` plus the interactions ``(user, item, rating, timestamp)``."""
    events = [
        StoredEvent(n, InteractionEvent(dataset.tenant, u, i, r, t), 0.0)
        for n, (u, i, r, t) in enumerate(rows, start=1)
    ]
    return merge_events(dataset, events).dataset

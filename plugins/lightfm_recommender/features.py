"""Feature matrices of a dataset for each LightFM mode (contract §8.4).

Columns, concatenated left to right as float32 CSR:

* ``mf``: identity only (one column per user or item);
* ``partial``: identity, then the data layer's ``partial`` features
  (``Dataset.user_features`` / ``Dataset.item_features``);
* ``hybrid``: as ``partial``, then the TF-IDF (§8.5) of the user texts
  (``city + " " + description``) and of the item documents.

Identity columns are the contract's recommended behaviour: entities with the same
metadata stay distinguishable, and users without interactions are still scored
through their features. With ``normalize`` every row is scaled to sum to 1, as
LightFM's own ``Dataset`` helper does by default, so entities with many features
do not get larger representations than entities with few.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from plugins.lightfm_recommender.stopwords import load_stop_words
from plugins.lightfm_recommender.text_features import (
    DEFAULT_TEXT_LIMITS,
    TextLimits,
    tfidf_features,
)

Mode = Literal["hybrid", "partial", "mf"]
MODES: tuple[str, ...] = ("hybrid", "partial", "mf")


@dataclass(frozen=True, eq=False)
class FeatureMatrices:
    """LightFM's ``user_features`` and ``item_features`` for one dataset and mode.

    Attributes:
        mode: ``hybrid``, ``partial`` or ``mf``.
        users: (U, Fu) float32 CSR.
        items: (I, Fi) float32 CSR.
        counts: Columns per block, e.g. ``{"user_identity": U, "user_tfidf": 812, ...}``.
        stop_words_source: Where the stop words came from (``hybrid`` only).
    """

    mode: str
    users: sp.csr_matrix
    items: sp.csr_matrix
    counts: Mapping[str, int]
    stop_words_source: str = ""


def build_features(
    dataset: Dataset,
    mode: str,
    *,
    normalize: bool = True,
    models_dir: Path | None = None,
    text_limits: TextLimits = DEFAULT_TEXT_LIMITS,
) -> FeatureMatrices:
    """Build the feature matrices of ``dataset`` for ``mode``.

    Args:
        dataset: Users, items and their ``partial`` features and texts.
        mode: ``hybrid``, ``partial`` or ``mf``.
        normalize: Scale each row to sum to 1.
        models_dir: ``ML_MODELS_DIR``, where an NLTK stop-word corpus may be found.
        text_limits: Bounds of the ``hybrid`` TF-IDF features, per side.

    Raises:
        ValueError: Unknown mode, or texts not aligned with the users or items.
    """
    if mode not in MODES:
        raise ValueError(f"unknown LightFM mode {mode!r}; expected one of {', '.join(MODES)}")
    users = {"user_identity": sp.identity(dataset.n_users, dtype=np.float32, format="csr")}
    items = {"item_identity": sp.identity(dataset.n_items, dtype=np.float32, format="csr")}
    source = ""
    if mode in ("partial", "hybrid"):
        users["user_partial"] = dataset.user_features
        items["item_partial"] = dataset.item_features
    if mode == "hybrid":
        stop_words = load_stop_words(models_dir)
        source = stop_words.source
        text = TextInput(stop_words.words, text_limits, f"tenant {dataset.tenant}")
        users["user_tfidf"] = _texts_tfidf(dataset.user_texts, dataset.n_users, text, "user texts")
        items["item_tfidf"] = _texts_tfidf(
            dataset.item_documents, dataset.n_items, text, "item documents"
        )
    counts = {name: int(block.shape[1]) for name, block in {**users, **items}.items()}
    return FeatureMatrices(
        mode=mode,
        users=_stack(list(users.values()), normalize),
        items=_stack(list(items.values()), normalize),
        counts=counts,
        stop_words_source=source,
    )


@dataclass(frozen=True)
class TextInput:
    """How texts become TF-IDF features: stop words, bounds, and the tenant for the log."""

    stop_words: frozenset[str]
    limits: TextLimits
    tenant: str


def _texts_tfidf(texts: tuple[str, ...], rows: int, how: TextInput, side: str) -> sp.csr_matrix:
    if not texts:
        return sp.csr_matrix((rows, 0), dtype=np.float32)
    if len(texts) != rows:
        raise ValueError(f"{len(texts)} texts for {rows} rows")
    matrix, _ = tfidf_features(texts, how.stop_words, how.limits, f"{how.tenant} {side}")
    return matrix


def _stack(blocks: list[sp.spmatrix], normalize: bool) -> sp.csr_matrix:
    matrix = sp.hstack(blocks, format="csr", dtype=np.float32)
    matrix.eliminate_zeros()
    if normalize:
        sums = np.asarray(abs(matrix).sum(axis=1), dtype=np.float32).ravel()
        scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
        matrix = sp.csr_matrix(sp.diags(scale) @ matrix, dtype=np.float32)
    matrix.sort_indices()
    return matrix

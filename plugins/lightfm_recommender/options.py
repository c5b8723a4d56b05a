"""Options of the ``lightfm`` recommender plugin (``ML_RECOMMENDER_OPTIONS``).

See ``docs/lightfm.md`` ("Options") for the table and the reasons behind the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mlcore.training.recency import RecencyKind
from plugins.lightfm_recommender.features import Mode
from plugins.lightfm_recommender.text_features import TextLimits
from plugins.lightfm_recommender.tuning import SearchSpace

Loss = Literal["warp", "bpr", "warp-kos"]


@dataclass(frozen=True)
class LightFMOptions:
    """Options of the ``lightfm`` recommender (``ML_RECOMMENDER_OPTIONS``).

    Model options are the starting point of tuning and are used as they are when
    tuning is off (``ML_TUNING_TRIALS=0``). ``None`` means "from the settings".

    Attributes:
        mode: ``hybrid``, ``partial`` or ``mf``; None: ``ML_RECOMMENDATION_ALGORITHM``.
        no_components: Embedding size.
        epochs: Training epochs.
        loss: ``warp``, ``bpr`` or ``warp-kos``.
        learning_rate: Initial learning rate (``adagrad``).
        learning_schedule: ``adagrad`` or ``adadelta`` (the original's).
        item_alpha: L2 penalty on item features.
        user_alpha: L2 penalty on user features.
        max_sampled: WARP's maximum negatives sampled per positive.
        num_threads: Training threads; None: ``ML_NUM_THREADS``.
        seed: LightFM's and the search's seed; None: ``ML_SEED``.
        normalize_features: Scale each feature row to sum to 1.
        tune_components: Inclusive bounds of ``no_components`` (log scale).
        tune_epochs: Epochs every trial runs before it may be pruned, and at most
            (each trial keeps its best epoch).
        tune_learning_rate: Bounds of the learning rate (log scale).
        tune_alpha: Bounds of ``item_alpha`` and ``user_alpha`` (log scale).
        tune_max_sampled: Bounds of ``max_sampled`` (log scale).
        tune_losses: Losses tried.
        tune_max_users: Validation users sampled for scoring trials.
        tune_patience: Epochs without improvement before a trial stops.
        tune_pruner: ``successive_halving``, ``hyperband`` or ``none``.
        study_storage: ``sqlite`` keeps every study in
            ``<study_dir>/<tenant>.sqlite3``; ``memory`` keeps none.
        study_dir: Folder of the SQLite files; empty: ``<ML_MODELS_DIR>/tuning``.
        final_fit: After tuning, how the model of the whole dataset is made.
            ``refit``: train from scratch for the tuned number of epochs (contract
            §8.7's recommendation) when that fits the time budget
            (``ML_TRAINING_BUDGET``), else ``warm`` within what is left.
            ``warm``: continue the best tuned checkpoint (trained on the training
            part) on every interaction for ``warm_fraction`` of its epochs (at
            least one): about 4x faster, but 7% lower NDCG@10 on ml-latest-small
            (docs/lightfm.md).
        warm_fraction: Share of the tuned epochs that ``warm`` runs on all data.
        text_max_chars: ``hybrid``: characters of each user text and item document
            kept (before cleaning).
        text_max_terms: ``hybrid``: TF-IDF terms kept per side, the most frequent.
        text_min_df: ``hybrid``: documents a term must appear in (1: the contract's
            scikit-learn default).
        recency: Sample weights times ``0.5 ** (age / recency_half_life)``:
            ``off``, ``position`` or ``time`` (:mod:`mlcore.training.recency`).
        recency_half_life: Positions or days at which an interaction weighs half.
        tune_recency: Recency kinds tuned; the default ``["off"]`` keeps the search
            exactly as it was (``ML_BLEND=off`` must train the same model as before).
        tune_half_life: Bounds of the tuned half-life (log scale).
        fold_in_epochs: Epochs of the user-only update that folds new or changed users
            into a published model between full retrains (the refresh cycle).
    """

    mode: Mode | None = None
    no_components: int = 64
    epochs: int = 50
    loss: Loss = "warp"
    learning_rate: float = 0.05
    learning_schedule: Literal["adagrad", "adadelta"] = "adagrad"
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 50
    num_threads: int | None = None
    seed: int | None = None
    normalize_features: bool = True
    tune_components: tuple[int, int] = (16, 128)
    tune_epochs: tuple[int, int] = (5, 80)
    tune_learning_rate: tuple[float, float] = (0.005, 0.1)
    tune_alpha: tuple[float, float] = (1e-8, 1e-3)
    tune_max_sampled: tuple[int, int] = (5, 100)
    tune_losses: tuple[Loss, ...] = ("warp", "bpr", "warp-kos")
    tune_max_users: int = 2000
    tune_patience: int = 10
    tune_pruner: Literal["successive_halving", "hyperband", "none"] = "successive_halving"
    study_storage: Literal["sqlite", "memory"] = "sqlite"
    study_dir: str = ""
    final_fit: Literal["refit", "warm"] = "refit"
    warm_fraction: float = 0.25
    text_max_chars: int = 20_000
    text_max_terms: int = 20_000
    text_min_df: int = 1
    recency: RecencyKind = "off"
    recency_half_life: float = 40.0
    tune_recency: tuple[RecencyKind, ...] = ("off",)
    tune_half_life: tuple[float, float] = (5.0, 500.0)
    fold_in_epochs: int = 10

    def model_params(self) -> dict[str, Any]:
        """The LightFM hyperparameters plus ``epochs``."""
        keys = (
            *("no_components", "epochs", "loss", "learning_rate", "learning_schedule"),
            *("item_alpha", "user_alpha", "max_sampled", "recency", "recency_half_life"),
        )
        return {key: getattr(self, key) for key in keys}

    def text_limits(self) -> TextLimits:
        """The bounds of the ``hybrid`` TF-IDF features."""
        return TextLimits(self.text_max_chars, self.text_max_terms, self.text_min_df)

    def search_space(self) -> SearchSpace:
        fixed: dict[str, Any] = {"learning_schedule": self.learning_schedule}
        if len(self.tune_recency) <= 1:
            fixed["recency"] = self.tune_recency[0] if self.tune_recency else self.recency
            fixed["recency_half_life"] = self.recency_half_life
        return SearchSpace(
            components=self.tune_components,
            epochs=self.tune_epochs,
            learning_rate=self.tune_learning_rate,
            alpha=self.tune_alpha,
            max_sampled=self.tune_max_sampled,
            losses=tuple(self.tune_losses),
            fixed=fixed,
            recency=tuple(self.tune_recency) if len(self.tune_recency) > 1 else (),
            half_life=self.tune_half_life,
        )

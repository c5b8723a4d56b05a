"""Per-tenant selection: train candidates, fit a blend, choose what serves, fit it on everything.

With ``ML_BLEND=auto`` (the default) the trainer also trains partner backends
(``ease``, ``sequence``, ``implicit-als``; those not installed or not fitting the
budget are skipped with a log line) beside ``ML_RECOMMENDER``, each tuned on the
training part of the temporal split and scored on its validation part, fits
blend weights on the same validation part (:mod:`mlcore.training.blending`), and
serves the blend only when it beats ``ML_RECOMMENDER`` alone. With
``ML_RECOMMENDER=auto`` the best of every single candidate and the blend serves.

Budget (CPU seconds, :class:`~mlcore.training.budget.TenantBudget`): partners go
first, each tuning within :data:`PARTNER_SHARE` of what is left; then the primary
gets what is left minus what the partners' final fits are predicted to need.
Partners are obtained through the registry by name (never imported): plugins
never depend on each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mlcore.config import Settings
from mlcore.errors import BudgetError, ConfigError, PluginNotFoundError
from mlcore.interfaces import Budgeted, Recommender, ServingArrays
from mlcore.serving.blend import blend_arrays
from mlcore.training.blending import BlendWeights, fit_blend_weights
from mlcore.training.budget import TenantBudget
from mlcore.training.candidates import (
    CandidateFit,
    CandidatePlan,
    CandidateRecord,
    fit_candidate,
)
from mlcore.training.splits import Split
from mlcore.training.validation import Validation, validate

log = logging.getLogger(__name__)

AUTO = "auto"
BLEND = "blend"
#: The plugin that is the primary when ``ML_RECOMMENDER=auto``.
DEFAULT_PRIMARY = "lightfm"
#: Partners tried by ``ML_BLEND=auto``. ``item-knn`` is not one by default: an item-item
#: model like ``ease`` but weaker, it got blend weight on validation and cost NDCG@10 on
#: the later test period every time it did (docs/selection.md); ``ML_BLEND`` can name it.
#: ``sequence`` (what users take next) sees the order the others ignore (docs/sequence.md).
DEFAULT_PARTNERS = ("ease", "sequence", "implicit-als")
#: Share of the remaining budget each partner may tune with.
PARTNER_SHARE = 0.15
#: Share of the budget kept for fitting blend weights and packaging.
BLEND_RESERVE = 0.03
#: Fewest CPU seconds worth starting a partner with.
MIN_PARTNER_SECONDS = 1.0


@dataclass(frozen=True, eq=False)
class Selection:
    """What serves a tenant, decided on the validation split.

    Attributes:
        name: ``"blend"`` or the backend that serves alone.
        members: The candidates that serve (one unless a blend), fitted on train.
        weights: One weight per member.
        validation: Validation of what serves (beside popularity).
        records: Every candidate: NDCG@10, weight, seconds, or why it was skipped.
        primary: The ``ML_RECOMMENDER`` candidate (``lightfm`` when ``auto``).
    """

    name: str
    members: tuple[CandidateFit, ...]
    weights: tuple[float, ...]
    validation: Validation
    records: tuple[CandidateRecord, ...]
    primary: str

    def as_manifest(self) -> dict[str, Any]:
        """The ``selection`` entry of the model manifest."""
        return {
            "serving": self.name,
            "members": [m.name for m in self.members],
            "weights": [round(w, 4) for w in self.weights],
            "validation_ndcg": round(self.validation.model.ndcg, 6),
            "candidates": [record.as_dict() for record in self.records],
        }


class _FittedView:
    """A fitted recommender's face for :func:`validate`: only ``export``."""

    def __init__(self, serving: ServingArrays) -> None:
        self.serving = serving

    def fit(self, dataset: Any) -> _FittedView:
        return self

    def export(self) -> ServingArrays:
        return self.serving

    def describe(self) -> dict[str, Any]:
        return {"backend": BLEND}


def partner_names(settings: Settings, primary: str) -> tuple[str, ...]:
    """The partners ``ML_BLEND`` asks for beside ``primary`` (``off``: none, but with
    ``ML_RECOMMENDER=auto`` every default partner competes with LightFM alone)."""
    if settings.blend == "off" and settings.recommender != AUTO:
        return ()
    if settings.blend == "off":
        return tuple(name for name in DEFAULT_PARTNERS if name != primary)
    names = DEFAULT_PARTNERS if settings.blend == AUTO else tuple(settings.blend.split(","))
    return tuple(dict.fromkeys(name for name in names if name != primary))


class CandidateSelector:
    """Trains the candidates of one tenant and decides what serves.

    Args:
        settings: ``ML_RECOMMENDER``, ``ML_BLEND``, trials, timeouts, seed.
        make_recommender: Builds a recommender by plugin name (the registry).
        budget: The tenant's CPU budget.
    """

    def __init__(
        self,
        settings: Settings,
        make_recommender: Callable[[str], Recommender],
        budget: TenantBudget,
    ) -> None:
        self.settings = settings
        self.make_recommender = make_recommender
        self.budget = budget
        self.primary = DEFAULT_PRIMARY if settings.recommender == AUTO else settings.recommender

    def select(self, split: Split) -> Selection:
        """Train every candidate on ``split.train``, fit the blend, choose what serves."""
        tenant = split.train.tenant
        records: dict[str, CandidateRecord] = {}
        fits: list[CandidateFit] = []
        for name in partner_names(self.settings, self.primary):
            fit = self._try_partner(name, split, records)
            if fit is not None:
                fits.append(fit)
        reserve = sum(f.final_fit_reserve() for f in fits) + BLEND_RESERVE * self.budget.seconds
        primary = fit_candidate(
            self.primary,
            self.make_recommender(self.primary),
            split,
            self._plan(self.budget.remaining() - reserve),
        )
        fits.insert(0, primary)
        for fit in fits:
            records[fit.name] = CandidateRecord(fit.name, fit.metrics.ndcg, 0.0, fit.seconds)
        name, members, weights = self._choose(tenant, fits, split)
        chosen = dict(zip((m.name for m in members), weights, strict=True))
        ordered = [self.primary, *partner_names(self.settings, self.primary)]
        final_records = tuple(
            replace(records[n], weight=chosen.get(n, 0.0)) for n in ordered if n in records
        )
        validation = validate(_FittedView(self._serving(members, weights)), split)
        return Selection(name, members, weights, validation, final_records, self.primary)

    def final_fit(self, selection: Selection, dataset: Any) -> tuple[Selection, ServingArrays]:
        """Fit every serving member on ``dataset`` (the whole tenant); the primary first.

        A partner whose final fit does not fit the budget any more is dropped (logged);
        the primary is never dropped.
        """
        kept: list[tuple[CandidateFit, float]] = []
        for member, weight in zip(selection.members, selection.weights, strict=True):
            recommender = member.recommender
            if isinstance(recommender, Budgeted) and self.budget.limited:
                later = sum(m.final_fit_reserve() for m, _ in self._after(selection, member))
                recommender.set_time_budget(max(self.budget.remaining() - later, 0.0))
            try:
                recommender.fit(dataset)
            except BudgetError as exc:
                if member.name == selection.primary or len(selection.members) == 1:
                    raise
                log.warning(
                    "tenant %s: %s dropped from the blend: %s", dataset.tenant, member.name, exc
                )
                continue
            kept.append((member, weight))
        members = tuple(m for m, _ in kept)
        weights = tuple(w for _, w in kept)
        if len(members) != len(selection.members):
            selection = replace(selection, members=members, weights=weights, name=_name(members))
        return selection, self._serving(members, weights)

    def _after(
        self, selection: Selection, member: CandidateFit
    ) -> Sequence[tuple[CandidateFit, float]]:
        index = selection.members.index(member)
        pairs = list(zip(selection.members, selection.weights, strict=True))
        return pairs[index + 1 :]

    def _try_partner(
        self, name: str, split: Split, records: dict[str, CandidateRecord]
    ) -> CandidateFit | None:
        tenant = split.train.tenant
        if self.budget.wall_cap_passed(tenant, f"candidate {name}"):
            records[name] = CandidateRecord(name, None, 0.0, 0.0, "wall-clock cap passed")
            return None
        share = PARTNER_SHARE * self.budget.remaining()
        if share < MIN_PARTNER_SECONDS:
            why = f"{share:.1f} CPU s left for it, fewer than {MIN_PARTNER_SECONDS:g}"
            log.info("tenant %s: candidate %s skipped: %s", tenant, name, why)
            records[name] = CandidateRecord(name, None, 0.0, 0.0, why)
            return None
        try:
            return fit_candidate(name, self.make_recommender(name), split, self._plan(share))
        except (PluginNotFoundError, ConfigError, BudgetError) as exc:
            log.info("tenant %s: candidate %s skipped: %s", tenant, name, exc)
            records[name] = CandidateRecord(name, None, 0.0, 0.0, str(exc).split(". ")[0])
            return None
        except Exception as exc:  # noqa: BLE001 - a failing partner never fails the tenant
            log.warning("tenant %s: candidate %s failed and is skipped: %r", tenant, name, exc)
            records[name] = CandidateRecord(name, None, 0.0, 0.0, str(exc).split(". ")[0])
            return None

    def _plan(self, budget: float) -> CandidatePlan:
        settings = self.settings
        return CandidatePlan(
            trials=settings.tuning_trials,
            timeout=settings.tuning_timeout,
            budget=max(budget, 0.0),
            seed=settings.seed,
        )

    def _choose(
        self, tenant: str, fits: list[CandidateFit], split: Split
    ) -> tuple[str, tuple[CandidateFit, ...], tuple[float, ...]]:
        primary = fits[0]
        best_single = max(fits, key=lambda f: f.metrics.ndcg)
        alone = best_single if self.settings.recommender == AUTO else primary
        if len(fits) == 1 or self.settings.blend == "off":
            return alone.name, (alone,), (1.0,)
        required = None if self.settings.recommender == AUTO else 0  # the primary
        blend = fit_blend_weights(
            [f.recommender.export() for f in fits],
            split,
            seed=self.settings.seed,
            required=required,
        )
        alone_ndcg = blend.single_ndcg[fits.index(alone)]
        if blend.members_used < 2 or blend.ndcg <= alone_ndcg:
            log.info("tenant %s: %s serves alone (blend %.4f)", tenant, alone.name, blend.ndcg)
            return alone.name, (alone,), (1.0,)
        members, weights = _used(fits, blend)
        log.info(
            "tenant %s: blend of %s serves (validation NDCG@10 %.4f, %s alone %.4f)",
            tenant,
            ", ".join(f"{m.name} {w:g}" for m, w in zip(members, weights, strict=True)),
            blend.ndcg,
            alone.name,
            alone_ndcg,
        )
        return BLEND, members, weights

    @staticmethod
    def _serving(members: Sequence[CandidateFit], weights: Sequence[float]) -> ServingArrays:
        if len(members) == 1:
            return members[0].recommender.export()
        return blend_arrays([m.recommender.export() for m in members], weights)


def _used(
    fits: Sequence[CandidateFit], blend: BlendWeights
) -> tuple[tuple[CandidateFit, ...], tuple[float, ...]]:
    pairs = [(f, w) for f, w in zip(fits, blend.weights, strict=True) if w > 0]
    return tuple(f for f, _ in pairs), tuple(w for _, w in pairs)


def _name(members: Sequence[CandidateFit]) -> str:
    return BLEND if len(members) > 1 else members[0].name

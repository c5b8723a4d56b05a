"""Per-tenant selection: candidates, blend weights, what serves, ``ML_BLEND=off`` unchanged."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.errors import PluginNotFoundError
from mlcore.interfaces import Recommender
from mlcore.serving.kinds import serving_kind
from mlcore.training.fitting import TenantFitter
from mlcore.training.selection import DEFAULT_PARTNERS, partner_names
from mlcore.training.splits import temporal_split
from tests.support.lightfm_fixtures import tiny_dataset

LIGHTFM = {"study_storage": "memory", "no_components": 8, "tune_epochs": [2, 8], "epochs": 6}


def _settings(**changes: Any) -> Settings:
    base: dict[str, Any] = {
        "num_threads": 1,
        "seed": 9,
        "tuning_trials": 2,
        "recommender_options": LIGHTFM,
        "training_budget": 0.0,
    }
    return Settings(**{**base, **changes})


def test_blend_off_serves_lightfm_alone_exactly_as_before() -> None:
    dataset = tiny_dataset()
    settings = _settings(blend="off")
    plugins = configured_plugins(settings)
    artifact = TenantFitter(settings, plugins.recommender).fit_tenant(dataset).artifact
    # The procedure of LightFM alone: tune on the temporal split, then fit everything.
    split = temporal_split(dataset)
    alone = plugins.recommender("lightfm")
    alone.tune(split.train, split.test, trials=2, timeout=settings.tuning_timeout, seed=9)  # type: ignore[attr-defined]
    expected = alone.fit(dataset).export()
    assert artifact.manifest["backend"] == "lightfm" and "selection" not in artifact.manifest
    for name, array in expected.named_arrays().items():
        np.testing.assert_array_equal(artifact.arrays[name], array, err_msg=name)


def test_the_default_blends_and_records_every_candidate() -> None:
    dataset = tiny_dataset()
    settings = _settings()
    fitted = TenantFitter(settings, configured_plugins(settings).recommender).fit_tenant(dataset)
    manifest = fitted.artifact.manifest
    selection = manifest["selection"]
    names = [c["name"] for c in selection["candidates"]]
    assert names == ["lightfm", *DEFAULT_PARTNERS]
    for candidate in selection["candidates"]:
        assert candidate["validation_ndcg"] is not None, candidate
        assert candidate["seconds"] >= 0 and candidate["weight"] >= 0
    served = {c["name"]: c["weight"] for c in selection["candidates"] if c["weight"] > 0}
    assert list(served) == selection["members"]
    assert manifest["backend"] == selection["serving"] == ("blend" if len(served) > 1 else names[0])
    assert manifest["kind"] == ("blend" if len(served) > 1 else manifest["kind"])
    serving_kind(manifest["kind"]).check(fitted.artifact.arrays, dataset.n_users, dataset.n_items)
    assert [c.name for c in fitted.outcome.candidates] == names
    assert fitted.outcome.promoted == selection["serving"]


def test_auto_serves_the_best_candidate_or_blend_on_validation() -> None:
    settings = _settings(recommender="auto")
    fitted = TenantFitter(settings, configured_plugins(settings).recommender).fit_tenant(
        tiny_dataset()
    )
    selection = fitted.artifact.manifest["selection"]
    best_single = max(c["validation_ndcg"] for c in selection["candidates"])
    assert selection["validation_ndcg"] >= best_single - 1e-6


def test_a_partner_that_is_not_installed_is_skipped_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(blend="ease,implicit-als")
    plugins = configured_plugins(settings)

    def make(name: str) -> Recommender:
        if name == "ease":
            raise PluginNotFoundError("Unknown recommender 'ease'. Valid names: lightfm")
        return plugins.recommender(name)

    with caplog.at_level(logging.INFO):
        manifest = TenantFitter(settings, make).fit_tenant(tiny_dataset()).artifact.manifest
    records = {c["name"]: c for c in manifest["selection"]["candidates"]}
    assert records["ease"]["skipped"].startswith("Unknown recommender 'ease'")
    assert records["implicit-als"]["validation_ndcg"] is not None
    assert "candidate ease skipped" in caplog.text


def test_partners_that_cannot_fit_the_budget_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(training_budget=4.0)  # 15% of 4 s is under a partner's minimum
    with caplog.at_level(logging.INFO):
        fitter = TenantFitter(settings, configured_plugins(settings).recommender, clock=lambda: 0.0)
        manifest = fitter.fit_tenant(tiny_dataset(), started=0.0).artifact.manifest
    skipped = [c for c in manifest["selection"]["candidates"] if c.get("skipped")]
    assert [c["name"] for c in skipped] == list(DEFAULT_PARTNERS)
    assert "CPU s left for it" in caplog.text
    assert manifest["backend"] == "lightfm"


@pytest.mark.parametrize(
    ("blend", "recommender", "expected"),
    [
        ("off", "lightfm", ()),
        ("auto", "lightfm", DEFAULT_PARTNERS),
        ("auto", "ease", ("sequence", "implicit-als")),
        ("auto", "auto", DEFAULT_PARTNERS),  # lightfm is the primary of auto
        ("off", "auto", DEFAULT_PARTNERS),
        ("item-knn,ease", "lightfm", ("item-knn", "ease")),
    ],
)
def test_partner_names(blend: str, recommender: str, expected: tuple[str, ...]) -> None:
    primary = "lightfm" if recommender == "auto" else recommender
    assert partner_names(Settings(blend=blend, recommender=recommender), primary) == expected

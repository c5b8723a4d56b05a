"""The refresh cycle over an export folder: publish on change only, keep the model on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.configured import configured_plugins
from mlcore.events.event_log import EventLog
from mlcore.events.records import InteractionEvent
from mlcore.interfaces import DataSource
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.baseline import PopularityRecommender
from mlcore.training.refresh import FAILED, PUBLISHED, SKIPPED, UNCHANGED, Refresher
from mlcore.training.refresh_state import RefreshState
from plugins.implicit_recommender.factor_models import ImplicitALSRecommender
from tests.support.training_support import export_settings, train, write_small_export

LATER = 1_800_000_000


@pytest.fixture()
def trained(tmp_path: Path):
    folder = write_small_export(tmp_path / "export")
    settings = export_settings(folder, tmp_path, ML_RECOMMENDER="implicit-als", ML_BLEND="off")
    train(settings)
    return settings


def refresher(settings, source: DataSource | None = None) -> Refresher:
    parts = configured_plugins(settings)
    return Refresher(
        source or parts.data_source(),
        parts.model_store(),
        parts.recommender,
        RefreshState.under(settings.models_dir),
        EventLog.under(settings.models_dir),
    )


def append(settings, line: str) -> None:
    with open(settings.data_dir / "user_interactions_0.csv", "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def first_user_and_unseen_item(settings) -> tuple[str, str]:
    store = configured_plugins(settings).model_store()
    model = TenantModel(store.load("0"))
    user = model.user_ids[0]
    item = model.recommend(0, "container_course", 1)[0].item_id
    return user, item


def by_tenant(outcomes):
    return {o.tenant: o for o in outcomes}


def test_publishes_once_per_change_with_a_refresh_manifest(trained) -> None:
    store = configured_plugins(trained).model_store()
    base = store.current_version("0")
    outcomes = by_tenant(refresher(trained).run())
    assert outcomes["0"].status == UNCHANGED and outcomes["1"].status == UNCHANGED
    assert outcomes["2"].status == SKIPPED  # too small to train: nothing to fold into
    assert refresher(trained).refresh_tenant("2").status == UNCHANGED  # said once
    user, item = first_user_and_unseen_item(trained)
    append(trained, f"{user},{item},1,{LATER}")
    outcomes = by_tenant(refresher(trained).run())
    assert outcomes["0"].status == PUBLISHED and outcomes["1"].status == UNCHANGED
    manifest = store.load("0").manifest
    assert manifest["refresh"] is True and manifest["base_version"] == base
    assert manifest["refresh_counts"]["users_changed"] == 1
    model = TenantModel(store.load("0"))
    assert item not in [
        r.item_id for r in model.recommend(model.user_row(user), "container_course", 50)
    ]
    assert refresher(trained).refresh_tenant("0").status == UNCHANGED
    assert store.versions("0")[-1] == outcomes["0"].version


def test_a_failed_refresh_keeps_the_current_model(trained, monkeypatch) -> None:
    store = configured_plugins(trained).model_store()
    current = store.current_version("0")
    append(trained, "this line,is,not,an interaction,at all")
    outcome = refresher(trained).refresh_tenant("0")
    assert outcome.status == FAILED and "keeps serving" in outcome.message
    assert store.current_version("0") == current
    lines = (trained.data_dir / "user_interactions_0.csv").read_text().splitlines()[:-1]
    (trained.data_dir / "user_interactions_0.csv").write_text("\n".join(lines) + "\n")
    user, item = first_user_and_unseen_item(trained)
    append(trained, f"{user},{item},1,{LATER}")

    def broken(self, request):
        raise RuntimeError("fold-in exploded")

    # Whichever serves (the gate may have chosen popularity), its fold-in fails.
    monkeypatch.setattr(ImplicitALSRecommender, "fold_in", broken)
    monkeypatch.setattr(PopularityRecommender, "fold_in", broken)
    outcome = refresher(trained).refresh_tenant("0")
    assert outcome.status == FAILED and "fold-in exploded" in outcome.message
    assert store.current_version("0") == current
    monkeypatch.undo()
    assert refresher(trained).refresh_tenant("0").status == PUBLISHED


def test_events_are_folded_in_then_dropped_once_the_export_has_them(trained) -> None:
    store = configured_plugins(trained).model_store()
    log = EventLog.under(trained.models_dir)
    user, item = first_user_and_unseen_item(trained)
    log.append(
        [
            InteractionEvent("0", user, item, 1, LATER),
            InteractionEvent("0", "brand-new", item, 1, LATER),
        ]
    )
    assert refresher(trained).refresh_tenant("0").status == PUBLISHED
    model = TenantModel(store.load("0"))
    assert model.user_row("brand-new") is not None
    assert len(log.pending("0")) == 2  # the export has neither yet
    append(trained, f"{user},{item},1,{LATER}")
    outcome = refresher(trained).refresh_tenant("0")
    assert outcome.status == UNCHANGED  # the same interaction, once: nothing new
    assert [e.event.user_id for e in log.pending("0")] == ["brand-new"]


class CountingSource:
    """A source without a cheap change check (like Totara's): every read is counted."""

    def __init__(self, inner: DataSource) -> None:
        self.inner = inner
        self.reads: list[str] = []

    def read_file(self, name: str) -> bytes:
        self.reads.append(name)
        return self.inner.read_file(name)

    def describe(self) -> str:
        return "counting"


def test_a_source_without_change_check_is_hashed_and_read_once_per_cycle(trained) -> None:
    source = CountingSource(configured_plugins(trained).data_source())
    assert refresher(trained, source).refresh_tenant("0").status == UNCHANGED
    assert sorted(source.reads) == sorted(set(source.reads)) and len(source.reads) == 3
    user, item = first_user_and_unseen_item(trained)
    append(trained, f"{user},{item},1,{LATER}")
    source.reads.clear()
    assert refresher(trained, source).refresh_tenant("0").status == PUBLISHED
    assert len(source.reads) == 3

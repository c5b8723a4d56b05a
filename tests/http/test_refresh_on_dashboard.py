"""The admin dashboard says when the served version is a refresh, and of which version."""

from __future__ import annotations

from mlcore.serving.tenant_model import TenantModel
from mlcore.training.refresh_build import RefreshBuilder
from service.admin.render import render
from service.admin.status import Status, TenantStatus
from service.model_summary import ModelSummary
from tests.support.recommender_data import random_dataset
from tests.support.refresh_support import make_recommender, published, with_events


def page(model: TenantModel) -> str:
    tenant = TenantStatus("0", ModelSummary.of(model), (model.version,), None)
    return render(Status((tenant,), None, False, ()), csrf="token", now=1_800_000_000.0)


def test_a_refreshed_version_names_its_base_and_the_users_folded_in() -> None:
    dataset = random_dataset(seed=3)
    base = published(dataset, "popularity")
    assert "refresh of" not in page(TenantModel(base, "v1"))
    changed = with_events(dataset, [("u1", "container_course1", 1, 1_800_000_000)])
    refreshed = RefreshBuilder(make_recommender).build(base, "v1", changed).artifact
    assert "refresh of v1: 1 users folded in" in page(TenantModel(refreshed, "v2"))

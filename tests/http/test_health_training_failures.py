"""A truthful /health-check: a tenant without a model because training failed says so."""

from __future__ import annotations

from pathlib import Path

import requests

from mlcore.config import Settings
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.train_log import FETCH_FAILED, LogRow, append_rows
from service.health import HealthCheck
from service.training_status import last_trainings
from tests.support.app_support import tiny_artifact

FAILED = "Training failed, the previous model keeps serving: user_data_1.csv line 3: bad"


def health(tmp_path: Path, models: dict[str, TenantModel]) -> dict[str, str]:
    check = HealthCheck(Settings(logs_dir=tmp_path), requests.Session())
    body = check.run(models)
    assert body["success"] is True and "errors" not in body
    return body["totara"]


def test_no_model_after_a_failed_first_training(tmp_path: Path) -> None:
    append_rows(
        tmp_path / "train_summary.log",
        [LogRow("01-Dec-2026 (10:00:00)", "hybrid", "all", FETCH_FAILED)],
    )
    assert health(tmp_path, {}) == {
        "recommendation_model": "false",
        "model_message_all": f"No model: the last training (01-Dec-2026 (10:00:00)) failed: {FETCH_FAILED}",
    }


def test_each_tenant_says_why_it_has_no_model_or_an_old_one(tmp_path: Path) -> None:
    rows = [
        LogRow("01-Dec-2026 (10:00:00)", "hybrid", "0", "success"),
        LogRow("01-Dec-2026 (10:00:00)", "hybrid", "1", FAILED),
        LogRow("02-Dec-2026 (10:00:00)", "hybrid", "0", FAILED),
        LogRow(
            "02-Dec-2026 (10:00:00)", "hybrid", "2", "The number of users or items is too small"
        ),
    ]
    append_rows(tmp_path / "train_summary.log", rows)
    model = TenantModel(tiny_artifact("0"), version="v1")
    fields = health(tmp_path, {"0": model})
    assert fields["recommendation_model"] == "true" and fields["model_version_0"] == "v1"
    assert (
        fields["model_last_training_0"]
        == f"failed (02-Dec-2026 (10:00:00)): {FAILED}; version v1 keeps serving"
    )
    assert (
        fields["model_message_1"]
        == f"No model: the last training (01-Dec-2026 (10:00:00)) failed: {FAILED}"
    )
    assert "model_message_2" not in fields  # skipped for too little data is not a failure
    assert fields["last_recommendation_model_training"].startswith("{'TIMESTAMP': '02-Dec-2026")


def test_a_later_success_clears_the_failure(tmp_path: Path) -> None:
    log = tmp_path / "train_summary.log"
    append_rows(log, [LogRow("a", "hybrid", "all", FETCH_FAILED)])
    append_rows(log, [LogRow("b", "hybrid", "0", "success")])
    latest = last_trainings(log)
    assert latest["0"].succeeded and latest["all"].failed
    assert "model_message_all" not in health(tmp_path, {"0": TenantModel(tiny_artifact("0"), "v")})


def test_retry_is_needed_only_while_a_failed_tenant_has_no_model(tmp_path: Path) -> None:
    from service.training_status import tenant_left_without_model
    from tests.support.memory_store import MemoryModelStore

    log, store = tmp_path / "train_summary.log", MemoryModelStore()
    assert not tenant_left_without_model(log, store)
    append_rows(log, [LogRow("a", "hybrid", "all", FETCH_FAILED)])
    assert tenant_left_without_model(log, store)
    store.publish("0", tiny_artifact("0"))
    assert not tenant_left_without_model(log, store)  # the old model serves
    append_rows(log, [LogRow("b", "hybrid", "0", "success"), LogRow("b", "hybrid", "1", FAILED)])
    assert tenant_left_without_model(log, store)  # tenant 1 is new and failed

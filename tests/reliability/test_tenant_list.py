"""One bad line of ``tenants.csv`` skips that tenant only, with its reason (issue 14, item 7).

Before, a line such as ``../x`` stopped training for every tenant and the health
check showed only the contract's generic "not successful in fetching the data"; the
same loss of detail hid a wrong ``ML_TOTARA_KEY``. Now the bad line's tenant gets a
row naming file, line, column and problem, the others train, and a tenant list that
cannot be read at all keeps the contract's message followed by the specific reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.errors import ExportFormatError
from mlcore.totara.export_files import MAX_TENANT_CHARS, parse_tenants, tenant_list
from mlcore.training.train_log import FETCH_FAILED, read_rows
from plugins.filesystem_store.store import FilesystemModelStore
from tests.support.fake_totara import FakeTotara
from tests.support.training_support import (
    KEY,
    export_settings,
    health_block,
    train,
    write_small_export,
)


@pytest.fixture
def export_folder(tmp_path: Path) -> Path:
    return write_small_export(tmp_path / "export")


BAD_LINES = {
    "../x": "tenants.csv, line 3, column 1: tenant id '../x' may only hold A-Z, a-z, 0-9, _, -",
    "a,b": "tenants.csv, line 4, column 2: expected 1 column, found 2",
    "t" * (MAX_TENANT_CHARS + 1): (
        f"tenants.csv, line 5, column 1: tenant id is {MAX_TENANT_CHARS + 1} characters long, "
        f"more than {MAX_TENANT_CHARS}"
    ),
}


def test_bad_lines_skip_their_tenant_and_the_others_train(
    export_folder: Path, tmp_path: Path
) -> None:
    lines = ["tenants", "0", *BAD_LINES, "1", ""]
    (export_folder / "tenants.csv").write_text("\n".join(lines))
    settings = export_settings(export_folder, tmp_path)
    outcomes = {o.tenant: o for o in train(settings)}  # stopped at ../x before the fix
    assert not outcomes["0"].failed and outcomes["0"].version
    assert not outcomes["1"].failed and outcomes["1"].version
    assert FilesystemModelStore(settings.models_dir).tenants() == ["0", "1"]
    rows = {row[2]: row[3] for row in read_rows(settings.train_log_path)}
    summary = health_block(settings)["last_recommendation_model_training"]
    for line, reason in BAD_LINES.items():
        skipped = [o for o in outcomes.values() if o.failed and reason in o.message]
        assert len(skipped) == 1, (line, outcomes)
        assert skipped[0].message == f"Training skipped: {reason}"
        assert rows[skipped[0].tenant] == skipped[0].message
        assert reason in summary
    assert "t" * (MAX_TENANT_CHARS + 1) not in str(rows)  # quoted ids are capped


def test_the_strict_parser_still_refuses_the_first_bad_line() -> None:
    data = b"tenants\n0\n../x\n1\n"
    with pytest.raises(ExportFormatError, match="line 3, column 1: tenant id '../x'"):
        parse_tenants(data)
    listing = tenant_list(data)
    assert listing.tenants == ("0", "1")
    assert [(s.tenant, s.error.line) for s in listing.skipped] == [("../x", 3)]


def test_an_unreadable_tenant_list_names_its_reason(export_folder: Path, tmp_path: Path) -> None:
    (export_folder / "tenants.csv").write_text("tenant_ids\n0\n")
    settings = export_settings(export_folder, tmp_path)
    (outcome,) = train(settings)
    reason = "tenants.csv, line 1, column 1: header must be 'tenants', found 'tenant_ids'"
    assert outcome.tenant == "all" and outcome.message == f"{FETCH_FAILED}: {reason}"
    assert read_rows(settings.train_log_path)[-1][2:4] == ["all", outcome.message]


def test_a_wrong_key_reaches_the_log_and_the_health_check(
    export_folder: Path, tmp_path: Path
) -> None:
    with FakeTotara(export_folder, key="the-right-key") as totara:
        settings = export_settings(
            export_folder, tmp_path, ML_DATA_SOURCE="totara", ML_TOTARA_URL=totara.url
        )
        train(export_settings(export_folder, tmp_path))  # models exist: health shows the log
        (outcome,) = train(settings)
    assert outcome.tenant == "all" and outcome.message.startswith(FETCH_FAILED + ": ")
    assert "Totara answered HTTP 404 for tenants.csv" in outcome.message
    assert "check ML_TOTARA_KEY" in outcome.message and KEY not in outcome.message
    block = health_block(settings)
    assert "check ML_TOTARA_KEY" in block["last_recommendation_model_training"]

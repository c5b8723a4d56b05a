"""Faults of Totara during a training run: every affected tenant keeps serving its model.

Each case publishes a first version of every tenant from the fake Totara
(``tests/support/fake_totara.py``, real HTTP on 127.0.0.1), starts a serving app over the
store (holder checking every request, as a running worker would), breaks Totara in
one way, trains again with the same :class:`mlcore.training.trainer.Trainer` the trainer
process runs, and checks:

* bounded requests (one per failed file; ``retries + 1`` for 202) and bounded time;
* the other tenants train (new version), the affected ones keep their version, checked
  through the store and through the app (identical answers before and after);
* ``train_summary.log`` has a row per tenant naming the fault, and ``/health-check``
  shows it (``last_recommendation_model_training``, unchanged ``model_version_<t>``,
  ``errors`` when Totara itself is unreachable).

Not repeated here: per-answer download semantics of the source
(``test_totara_source.py``) and the trainer child's exit codes
(``test_trainer_process_totara.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import falcon.testing
import pytest

from mlcore.config import Settings, load_settings
from mlcore.configured import ConfiguredPlugins, configured_plugins
from mlcore.demo.export import DemoConfig, write_demo_export
from mlcore.training.train_log import FETCH_FAILED, last_training_summary, read_rows
from mlcore.training.trainer import Trainer
from service.app import create_app
from tests.support.app_support import signed_get as signed_get_with_key
from tests.support.fake_totara import Behaviour, FakeTotara

KEY = "faults-Key-5521"
RETRIES = 2
TIMEOUT = 0.5
MAX_FILE_BYTES = 200_000
TRAINED = ("0", "1")  # tenant 2 of the demo export is below the minimums (skipped)
QUERY = "totara_user_id={user}&item_type=engage_article&tenant={tenant}&n_items=5"
GOOD_ROWS = "user_id,item_id,rating,timestamp\n"


@dataclass
class Fault:
    """One way Totara misbehaves.

    Attributes:
        behaviours: File name -> how the fake answers it.
        affected: Tenants that must keep their previous version.
        message: Expected fragment of the affected tenants' log message.
        requests: File name -> exact number of requests the run may make for it.
        down: Stop Totara altogether (connection refused).
    """

    behaviours: dict[str, Behaviour]
    affected: tuple[str, ...]
    message: str
    requests: dict[str, int] = field(default_factory=dict)
    down: bool = False


FAULTS = {
    "down": Fault(
        {},
        ("0", "1", "2"),
        "cannot download tenants.csv from Totara at http://127.0.0.1:PORT",
        down=True,
    ),
    "tenant list 500": Fault(
        {"tenants.csv": Behaviour(forever=500)},
        ("0", "1", "2"),
        "Totara answered HTTP 500 for tenants.csv",
        {"tenants.csv": 1},
    ),
    "slow": Fault(
        {"user_data_1.csv": Behaviour(delay=3 * TIMEOUT)},
        ("1",),
        f"downloading user_data_1.csv from Totara at http://127.0.0.1:PORT timed out after {TIMEOUT:g} s",
        {"user_data_1.csv": 1},
    ),
    "202 forever": Fault(
        {"item_data_1.csv": Behaviour(forever=202)},
        ("1",),
        f"Totara still answers 202 (export not ready) for item_data_1.csv after {RETRIES + 1} requests",
        {"item_data_1.csv": RETRIES + 1},
    ),
    "404": Fault(
        {"item_data_1.csv": Behaviour(forever=404)},
        ("1",),
        "Totara answered HTTP 404 for item_data_1.csv",
        {"item_data_1.csv": 1},
    ),
    "500": Fault(
        {"user_interactions_1.csv": Behaviour(forever=500)},
        ("1",),
        "Totara answered HTTP 500 for user_interactions_1.csv",
        {"user_interactions_1.csv": 1},
    ),
    "truncated": Fault(
        {"user_interactions_1.csv": Behaviour(truncate_to=100)},
        ("1",),
        "IncompleteRead(100 bytes read, 6654 more expected)",
        {"user_interactions_1.csv": 1},
    ),
    "malformed CSV": Fault(
        {
            "user_interactions_1.csv": Behaviour(
                body=(
                    GOOD_ROWS + "42,engage_article1,1,1668493662\n42,engage_article2,1,yesterday\n"
                ).encode()
            )
        },
        ("1",),
        "user_interactions_1.csv, line 3, column 4: timestamp 'yesterday' is not an integer",
        {"user_interactions_1.csv": 1},
    ),
    "binary garbage": Fault(
        {"item_data_1.csv": Behaviour(body=bytes(range(256)) * 4)},
        ("1",),
        "item_data_1.csv",
        {"item_data_1.csv": 1},
    ),
    "far too large": Fault(
        {
            "user_interactions_1.csv": Behaviour(
                body=(GOOD_ROWS + "2,engage_article1,1,1\n" * 60_000).encode()
            )
        },
        ("1",),
        f"more than the limit of {MAX_FILE_BYTES} bytes (totara option max_file_bytes)",
        {"user_interactions_1.csv": 1},
    ),
    "one tenant's files all broken": Fault(
        {
            "user_interactions_1.csv": Behaviour(truncate_to=10),
            "user_data_1.csv": Behaviour(forever=500),
            "item_data_1.csv": Behaviour(body=b"\x00\x01"),
        },
        ("1",),
        "user_interactions_1.csv",
        {"user_interactions_1.csv": 1},
    ),
}


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    write_demo_export(
        folder, DemoConfig(tenants=3, users=40, items=30, interactions=400, now=1_700_000_000)
    )
    return folder


@pytest.fixture
def totara(export_folder: Path) -> Iterator[FakeTotara]:
    with FakeTotara(export_folder, key=KEY) as fake:
        yield fake


def _settings(totara: FakeTotara, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "ML_TOTARA_URL": totara.url,
            "ML_TOTARA_KEY": KEY,
            "ML_MODELS_DIR": str(tmp_path / "models"),
            "ML_LOGS_DIR": str(tmp_path / "logs"),
            "ML_RECOMMENDER": "popularity",
            "ML_TUNING_TRIALS": "0",
            "ML_DOWNLOAD_TIMEOUT": str(TIMEOUT),
            "ML_DOWNLOAD_RETRIES": str(RETRIES),
            "ML_DOWNLOAD_RETRY_WAIT": "0.01",
            "ML_RELOAD_INTERVAL": "0",
        }
    )


def _train(settings: Settings, parts: ConfiguredPlugins) -> None:
    """One run as ``service.trainer_run`` does it, with a small ``max_file_bytes``."""
    source = parts.registry.create(
        "data source", "totara", {"max_file_bytes": MAX_FILE_BYTES}, settings=settings
    )
    Trainer(settings, source, parts.model_store(), parts.recommender).run()


def _get(client: falcon.testing.TestClient, path: str, query: str = "") -> dict[str, object]:
    return signed_get_with_key(client, path, query, key=KEY)


def _answers(client: falcon.testing.TestClient) -> dict[str, object]:
    return {
        tenant: _get(client, "/user-items", QUERY.format(user=user, tenant=tenant))
        for tenant, user in (("0", 2), ("1", 45), ("2", 80))
    }


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_keeps_affected_tenants_serving(
    totara: FakeTotara, tmp_path: Path, name: str
) -> None:
    fault = FAULTS[name]
    settings = _settings(totara, tmp_path)
    parts = configured_plugins(settings)
    _train(settings, parts)
    store = parts.model_store()
    first = {tenant: store.current_version(tenant) for tenant in ("0", "1", "2")}
    assert all(first.values())
    client = falcon.testing.TestClient(create_app(settings, store))
    before = _answers(client)
    assert all(before[t]["success"] is True for t in TRAINED)

    totara.behaviours.update(fault.behaviours)
    totara.requests.clear()
    port = totara.url.rsplit(":", 1)[1]
    if fault.down:
        totara.stop()
    started = time.monotonic()
    _train(settings, parts)
    seconds = time.monotonic() - started

    # Bounded: one request per failed file (202: retries + 1), a few timeouts at most.
    for file_name, count in fault.requests.items():
        # A slow answer is recorded when the fake finally answers, after the client left.
        deadline = time.monotonic() + 5
        while len(totara.export_requests(file_name)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(totara.export_requests(file_name)) == count, file_name
    assert seconds < 10 * TIMEOUT * (RETRIES + 1)
    # The store: affected tenants keep their version, the others got a new one.
    for tenant in ("0", "1", "2"):
        current = store.current_version(tenant)
        if tenant in fault.affected:
            assert current == first[tenant] and store.versions(tenant) == [first[tenant]]
        else:
            assert current != first[tenant]
    # The app: same answers for every tenant (the data did not change), new versions seen.
    assert _answers(client) == before
    health = _get(client, "/health-check")
    block = health["totara"]
    assert isinstance(block, dict)
    for tenant in ("0", "1", "2"):
        assert block[f"model_version_{tenant}"] == store.current_version(tenant)
    # The log and the health check say what happened.
    summary = last_training_summary(settings.train_log_path)
    assert block["last_recommendation_model_training"] == summary
    expected = fault.message.replace("PORT", port)
    rows = read_rows(settings.train_log_path)
    if fault.affected == ("0", "1", "2"):
        # The contract's message, then the specific reason (issue 14, item 7).
        assert rows[-1][2] == "all" and rows[-1][3].startswith(FETCH_FAILED + ": ")
        assert expected in rows[-1][3] and expected in str(summary), rows[-1][3]
    else:
        last = {row[2]: row[3] for row in rows[-3:]}
        assert set(last) == {"0", "1", "2"} and last["0"] == "success"
        assert last["1"].startswith("Training failed, the previous model keeps serving: ")
        assert expected in last["1"], last["1"]
        assert expected in str(summary)
    if fault.down:
        assert health["success"] is False
        assert health["errors"][0].startswith("Unable to communicate with Totara")
    else:
        assert health["success"] is True
    assert KEY not in settings.train_log_path.read_text()

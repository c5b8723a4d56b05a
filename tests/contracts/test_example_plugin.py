"""The third-party example plugin (examples/mlservice-example-plugin), proven end to end.

The package is made discoverable exactly as pip would: a ``.dist-info`` folder with
its ``entry_points.txt`` (generated from the package's own ``pyproject.toml``) on
``sys.path``, found by ``importlib.metadata`` and loaded by pluggy. Nothing in
``mlcore``, ``plugins`` or ``service`` knows about it. Then it passes the recommender
contract, trains through :class:`mlcore.training.trainer.Trainer` and serves through
:class:`mlcore.serving.tenant_model.TenantModel` and the Falcon app.
"""

from __future__ import annotations

import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import pytest

from mlcore.config import Settings
from mlcore.configured import configured_plugins
from mlcore.interfaces import Recommender
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from mlcore.serving.tenant_model import TenantModel
from mlcore.training.trainer import Trainer
from tests.contracts import recommender_contract as contract
from tests.support.recommender_data import write_trending_export

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "examples" / "mlservice-example-plugin"
NAME = "recent-popular"


@pytest.fixture()
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Install the example's metadata (no pip) and its source folder on ``sys.path``."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist_info = tmp_path / "site" / "mlservice_example_plugin-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    entry_points = project["entry-points"]["mlcore"]
    lines = ["[mlcore]", *(f"{name} = {target}" for name, target in entry_points.items())]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(PACKAGE / "src"))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield tmp_path
    for module in [m for m in sys.modules if m.startswith("mlservice_example_plugin")]:
        del sys.modules[module]


def test_not_registered_unless_installed() -> None:
    assert NAME not in Registry(make_plugin_manager()).recommenders()


def test_core_knows_nothing_about_the_example() -> None:
    for folder in ("mlcore", "plugins", "service"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert NAME not in text and "mlservice_example_plugin" not in text, path


def test_entry_point_discovery_registers_it(installed: Path) -> None:
    registry = Registry(make_plugin_manager(load_entry_points=True))
    record = registry.recommenders()[NAME]
    assert "distribution mlservice-example-plugin" in record.source
    assert "popularity" in registry.recommenders()


def _make(settings: Settings | None = None) -> contract.MakeRecommender:
    registry = Registry(make_plugin_manager())

    def make() -> Recommender:
        recommender: Recommender = registry.create("recommender", NAME, settings=settings)
        return recommender

    return make


@pytest.mark.parametrize("check", sorted(contract.CHECKS))
def test_example_passes_the_recommender_contract(installed: Path, check: str) -> None:
    contract.CHECKS[check](_make())


def test_example_store_round_trip(installed: Path) -> None:
    contract.check_store_round_trip(_make(), installed / "store")


def test_example_trains_with_the_trainer_and_serves(installed: Path) -> None:
    write_trending_export(installed / "export")
    settings = Settings(
        recommender=NAME,
        recommender_options={"half_life_days": 7},
        data_dir=installed / "export",
        models_dir=installed / "models",
        logs_dir=installed / "logs",
        tuning_trials=0,
        num_threads=1,
        totara_key="k",
        blend="off",  # the plugin alone, not blended with the built-in partners
    )
    wired = configured_plugins(settings)
    store = contract.model_store(installed / "models")
    outcomes = Trainer(settings, wired.data_source(), store, wired.recommender).run()
    assert [(o.tenant, o.message, o.failed) for o in outcomes] == [("0", "success", False)]
    model = TenantModel(store.load("0"), outcomes[0].version or "")
    validation = model.manifest["validation"]
    assert model.manifest["backend"] == NAME, validation
    assert validation["promoted"] == NAME
    assert validation["model"]["ndcg"] > validation["popularity"]["ndcg"]
    top = model.recommend(model.user_row("2"), "container_course", 2)  # type: ignore[arg-type]
    # User 2 (alumnus) has seen the classic courses; trending courses come first.
    assert [r.item_id for r in top] == ["container_course3", "container_course4"]
    _check_http(settings, store)


def _check_http(settings: Settings, store: object) -> None:
    app_module = pytest.importorskip("service.app")
    token_module = pytest.importorskip("mlcore.totara.token")
    app = app_module.create_app(settings, store)
    client = falcon.testing.TestClient(app)
    headers = token_module.signed_headers(settings.effective_key, time.time)
    query = "totara_user_id=2&item_type=container_course&tenant=0&n_items=2"
    result = client.simulate_get("/user-items", query_string=query, headers=headers)
    assert result.status_code == 200, result.text
    assert result.json["success"] is True
    assert [item[0] for item in result.json["items"]] == ["3", "4"]

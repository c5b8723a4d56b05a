"""README "Writing a plugin": one subsection per hookspec, and its examples really work."""

from __future__ import annotations

import inspect
import re
import sys
import types
import zipfile
from pathlib import Path

import pytest

from mlcore import hookspecs
from mlcore.config import Settings
from mlcore.errors import ModelNotFoundError
from mlcore.interfaces import DataSource, Executor, ModelStore, Recommender
from mlcore.plugin_manager import make_plugin_manager
from mlcore.registry import Registry
from tests.contracts import recommender_contract as contract
from tests.support.recommender_data import block_dataset

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Writing a plugin"


def hookspec_names() -> list[str]:
    """Every hook specified in mlcore/hookspecs.py (functions carrying the spec marker)."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return [
        name
        for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(value, marker)
    ]


def section_text() -> str:
    text = README.read_text(encoding="utf-8")
    assert text.count(SECTION + "\n") == 1, f"README needs exactly one {SECTION!r} heading"
    start = text.index(SECTION + "\n") + len(SECTION)
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


def subsections() -> dict[str, str]:
    parts = re.split(r"^### (.+)$", section_text(), flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def example_module(hook: str) -> types.ModuleType:
    """Execute the python block of the hook's subsection as a module."""
    body = subsections()[f"`{hook}`"]
    blocks = re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)
    assert len(blocks) == 1, f"subsection `{hook}` needs one python example"
    module = types.ModuleType(f"readme_example_{hook}")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(blocks[0], f"README {hook}", "exec"), module.__dict__)  # noqa: S102
    return module


def registry_with(module: types.ModuleType) -> Registry:
    return Registry(make_plugin_manager(load_entry_points=False, extra_plugins=[module]))


def test_there_are_hookspecs_to_document() -> None:
    assert set(hookspec_names()) >= {
        "mlcore_recommenders",
        "mlcore_data_sources",
        "mlcore_model_stores",
    }


@pytest.mark.parametrize("hook", hookspec_names())
def test_every_hookspec_has_a_subsection_with_an_example(hook: str) -> None:
    titles = subsections()
    assert f"`{hook}`" in titles, f"README {SECTION!r} lacks a '### `{hook}`' subsection"
    module = example_module(hook)
    assert hasattr(getattr(module, hook), f"{hookspecs.PROJECT_NAME}_impl"), hook


def test_section_covers_entry_points_options_and_the_contract_suite() -> None:
    titles = subsections()
    assert {"Package and entry point", "Typed options", "The contract suite"} <= set(titles)
    assert "[project.entry-points.mlcore]" in titles["Package and entry point"]
    assert "ML_RECOMMENDER_OPTIONS" in titles["Typed options"]


def test_recommender_example_passes_the_contract() -> None:
    registry = registry_with(example_module("mlcore_recommenders"))
    (name,) = registry.recommenders()

    def make() -> Recommender:
        recommender: Recommender = registry.create("recommender", name, {"half_life_days": "3"})
        return recommender

    for check in contract.CHECKS.values():
        check(make)


def test_data_source_example_reads_an_archive(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("tenants.csv", "tenants\n0\n")
    registry = registry_with(example_module("mlcore_data_sources"))
    (name,) = registry.data_sources()
    source: DataSource = registry.create("data source", name, settings=Settings(data_dir=archive))
    assert source.read_file("tenants.csv") == b"tenants\n0\n"
    with pytest.raises(Exception, match="user_data_0.csv") as error:
        source.read_file("user_data_0.csv")
    assert type(error.value).__name__ == "DataSourceError"


def test_model_store_example_keeps_versions(tmp_path: Path) -> None:
    registry = registry_with(example_module("mlcore_model_stores"))
    (name,) = registry.model_stores()
    store: ModelStore = registry.create("model store", name, settings=Settings())
    dataset = block_dataset()
    serving = registry_with(example_module("mlcore_recommenders"))
    recommender = serving.create("recommender", "recent-popular").fit(dataset)
    model = contract.publish_and_load(dataset, recommender.export(), store)
    assert model.trained and store.versions(dataset.tenant) == ["1"]
    assert store.current_version(dataset.tenant) == "1"
    with pytest.raises(ModelNotFoundError):
        store.load("no-such-tenant")


def test_executor_example_runs_units() -> None:
    registry = registry_with(example_module("mlcore_executors"))
    (name,) = registry.executors()
    executor = registry.create("executor", name, {"threads": "2"}, settings=Settings())
    assert isinstance(executor, Executor) and executor.slots() == 2
    futures = [executor.submit(pow, n, 2) for n in range(4)]
    done: set[object] = set()
    while len(done) < len(futures):
        done |= executor.wait([f for f in futures if f not in done])
    executor.close()
    assert [future.result() for future in futures] == [0, 1, 4, 9]

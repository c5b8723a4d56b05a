"""The registry: names from entry points, unknown and duplicate names, typed options."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mlcore.config import Settings
from mlcore.errors import ConfigError, DuplicatePluginError, PluginError, PluginNotFoundError
from mlcore.hookspecs import hookimpl
from mlcore.plugin_manager import make_plugin_manager
from mlcore.plugin_records import DataSourceRecord, PluginRecord, RecommenderRecord
from mlcore.registry import Registry


@dataclass(frozen=True)
class EchoOptions:
    size: int = 3
    label: str = "x"
    enabled: bool = True


class EchoPlugin:
    def __init__(self, name: str = "echo") -> None:
        self.name = name

    @hookimpl
    def mlcore_recommenders(self) -> list[PluginRecord]:
        return [
            PluginRecord(self.name, lambda *, options, **_: options, EchoOptions, "test plugin")
        ]


def test_builtins_are_registered_through_entry_points() -> None:
    registry = Registry(make_plugin_manager())
    assert "popularity" in registry.recommenders()
    assert "export-folder" in registry.data_sources()
    assert "entry point" in registry.recommenders()["popularity"].source


def test_unknown_name_lists_valid_names() -> None:
    registry = Registry(make_plugin_manager(load_entry_points=False, extra_plugins=[EchoPlugin()]))
    with pytest.raises(
        PluginNotFoundError, match=r"Unknown recommender 'nope'\. Valid names: echo"
    ):
        registry.get("recommender", "nope")


def test_duplicate_names_name_both_sources() -> None:
    plugins = [EchoPlugin(), EchoPlugin()]
    registry = Registry(make_plugin_manager(load_entry_points=False, extra_plugins=plugins))
    with pytest.raises(DuplicatePluginError, match="both called 'echo'") as error:
        registry.recommenders()
    assert str(error.value).count("plugin ") >= 2


def test_options_are_converted_to_their_types() -> None:
    registry = Registry(make_plugin_manager(load_entry_points=False, extra_plugins=[EchoPlugin()]))
    options = registry.create("recommender", "echo", {"size": "7", "enabled": "false"})
    assert options == EchoOptions(size=7, label="x", enabled=False)


def test_bad_options_name_the_valid_ones() -> None:
    registry = Registry(make_plugin_manager(load_entry_points=False, extra_plugins=[EchoPlugin()]))
    with pytest.raises(ConfigError, match=r"unknown option\(s\) colour.*size \(int\)"):
        registry.create("recommender", "echo", {"colour": "red"})
    with pytest.raises(ConfigError, match="'many' is not a int"):
        registry.create("recommender", "echo", {"size": "many"})


class MisspeltPlugin:
    @hookimpl
    def mlcore_recommender(self) -> list[PluginRecord]:  # the hook is mlcore_recommenders
        return []


def test_a_misspelt_hook_is_an_error_naming_it_and_the_valid_hooks() -> None:
    with pytest.raises(PluginError, match="mlcore_recommender") as error:
        make_plugin_manager(load_entry_points=False, extra_plugins=[MisspeltPlugin()])
    assert (
        "Valid hooks: mlcore_data_sources, mlcore_executors, mlcore_model_stores, mlcore_recommenders"
        in str(error.value)
    )


class WrongKindPlugin:
    @hookimpl
    def mlcore_recommenders(self) -> list[PluginRecord]:
        return [DataSourceRecord("zip", lambda *, options, **_: options, EchoOptions, "x")]


def test_a_record_of_another_kind_is_refused_with_its_source() -> None:
    registry = Registry(
        make_plugin_manager(load_entry_points=False, extra_plugins=[WrongKindPlugin()])
    )
    with pytest.raises(PluginError, match="DataSourceRecord 'zip' from the recommender hook"):
        registry.recommenders()


def test_typed_records_and_plain_records_both_create() -> None:
    class Typed:
        @hookimpl
        def mlcore_recommenders(self) -> list[RecommenderRecord]:
            return [RecommenderRecord("typed", lambda *, options, **_: options, EchoOptions, "t")]

    manager = make_plugin_manager(load_entry_points=False, extra_plugins=[Typed(), EchoPlugin()])
    registry = Registry(manager)
    assert sorted(registry.recommenders()) == ["echo", "typed"]
    assert registry.create_recommender("typed", {"size": "2"}, settings=Settings()) == EchoOptions(
        size=2
    )

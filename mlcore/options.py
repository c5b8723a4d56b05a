"""Typed plugin options: turn raw configuration values into an options dataclass."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

from mlcore.errors import ConfigError, quoted

T = TypeVar("T")


def build_options(options_type: type[T], raw: Mapping[str, Any], *, context: str) -> T:
    """Build ``options_type`` from raw values, converting strings to the field types.

    Args:
        options_type: A dataclass whose fields all have defaults.
        raw: Option values by field name; strings are parsed (``"3"`` -> 3,
            ``"true"`` -> True, JSON for lists), other values are checked.
        context: Names the plugin in error messages.

    Raises:
        ConfigError: Unknown option name or a value of the wrong type; the message
            lists the valid options with their types.
    """
    if not dataclasses.is_dataclass(options_type):
        raise TypeError(f"{context}: options type {options_type!r} is not a dataclass")
    hints = typing.get_type_hints(options_type)
    fields = {f.name: f for f in dataclasses.fields(options_type) if f.init}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        valid = ", ".join(f"{name} ({_type_name(hints[name])})" for name in fields) or "none"
        raise ConfigError(
            f"{context}: unknown option(s) {', '.join(unknown)}. Valid options: {valid}"
        )
    values = {
        name: _convert(value, hints[name], f"{context} option {name!r}")
        for name, value in raw.items()
    }
    return options_type(**values)


def describe_options(options_type: type) -> list[tuple[str, str, Any]]:
    """Return ``(name, type name, default)`` for each option, for documentation."""
    hints = typing.get_type_hints(options_type)
    rows = []
    for f in dataclasses.fields(options_type):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        rows.append((f.name, _type_name(hints[f.name]), default))
    return rows


def _convert(value: Any, target: Any, where: str) -> Any:
    origin = get_origin(target)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in get_args(target):
            if option is type(None):
                if value is None or (
                    isinstance(value, str) and value.lower() in ("", "none", "null")
                ):
                    return None
                continue
            try:
                return _convert(value, option, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{where}: {quoted(value)} is not a {_type_name(target)}")
    if origin is Literal:
        choices = get_args(target)
        if value not in choices:
            raise ConfigError(
                f"{where}: {quoted(value)} is not one of {', '.join(map(str, choices))}"
            )
        return value
    if origin in (tuple, list):
        items = json.loads(value) if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {quoted(value)}")
        args = get_args(target)
        item_type = args[0] if args else Any
        converted = [_convert(v, item_type, where) for v in items]
        return tuple(converted) if origin is tuple else converted
    if target is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: {quoted(value)} is not a boolean (true/false)")
    if target in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: {quoted(value)} is not a {target.__name__}")
        try:
            number = target(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {quoted(value)} is not a {target.__name__}") from None
        if target is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{where}: {quoted(value)} is not an int")
        return number
    if target is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {quoted(value)} is not a string")
        return value
    return value


def _type_name(target: Any) -> str:
    if get_origin(target) is Literal:
        return " | ".join(repr(a) for a in get_args(target))
    return getattr(target, "__name__", str(target).replace("typing.", ""))

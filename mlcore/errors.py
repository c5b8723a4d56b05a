"""Domain errors. HTTP mapping of these lives in ``service/`` only."""

from __future__ import annotations


class MLCoreError(Exception):
    """Base class of every error raised by ``mlcore`` and its plugins."""


class ConfigError(MLCoreError):
    """A setting is missing or invalid; the message names the setting."""


class ExportFormatError(MLCoreError):
    """A Totara export file is malformed.

    Args:
        file: Name of the offending file (e.g. ``user_data_0.csv``).
        line: 1-based physical line number where the problem starts.
        column: 1-based column number (0 when the whole line is wrong).
        problem: What is wrong, in words a Totara administrator understands.
    """

    def __init__(self, file: str, line: int, column: int, problem: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(f"{file}, line {line}, column {column}: {problem}")


class DataSourceError(MLCoreError):
    """A data source could not deliver a file (network, HTTP status, missing file)."""


class PluginNotFoundError(MLCoreError):
    """No plugin of that kind has that name; the message lists the valid names."""


class DuplicatePluginError(MLCoreError):
    """Two plugins announce the same name; the message names both sources."""


class PluginError(MLCoreError):
    """An installed plugin is broken (a misspelt hook, a record of the wrong kind)."""


class NotFittedError(MLCoreError):
    """A recommender was used before ``fit`` was called."""


class ModelStoreError(MLCoreError):
    """The model store cannot publish or load a version."""


class ModelNotFoundError(ModelStoreError):
    """No published version exists for the requested tenant (or version)."""

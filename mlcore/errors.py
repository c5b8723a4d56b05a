"""Domain errors, and the one cap on input quoted in error messages.

HTTP mapping of these lives in ``service/`` only. Every message that quotes input (a
cell of an export, an id, a setting's value) quotes it with :func:`quoted`, so no
message grows with the input: a 200 KiB header cell must not travel into
``train_summary.log`` and the health check.
"""

from __future__ import annotations

#: Most characters of one quoted piece of input in an error message.
QUOTE_LIMIT = 100


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for an error message, cut after ``limit`` characters.

    A longer value keeps its start and says how long it was:
    ``'TTTTTTTT…' (204800 characters)``.
    """
    if isinstance(value, str | bytes):
        text = repr(value[: limit + 1])
        if len(value) <= limit and len(text) <= limit:
            return text
        return f"{text[:limit]}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def shortened(text: str, limit: int) -> str:
    """``text`` itself, or its first ``limit`` characters and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


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


class BudgetError(MLCoreError):
    """A training step cannot fit the time budget it was given; the message says why."""

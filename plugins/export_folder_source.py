"""Data source plugin ``export-folder``: a local folder in Totara's export layout.

Point ``ML_DATA_DIR`` at Totara's ``<dataroot>/recommender/data`` (or any folder
holding ``tenants.csv`` and the per-tenant files, contract §7). It is the embedded
default: ``mlservice demo-data`` writes such a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlcore.config import Settings
from mlcore.errors import ConfigError, DataSourceError
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import DataSourceRecord

#: Files larger than this are refused rather than read into memory.
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class ExportFolderOptions:
    """Options of the ``export-folder`` data source.

    Attributes:
        path: The folder; empty means ``ML_DATA_DIR``.
        max_file_bytes: Largest file accepted; 0 means ``ML_MAX_EXPORT_BYTES``.
    """

    path: str = ""
    max_file_bytes: int = 0


class ExportFolderSource:
    """Reads export files from a folder.

    Args:
        folder: The export folder.
        max_file_bytes: Largest file accepted.
        size_setting: What sets ``max_file_bytes``, named in the error.
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        size_setting: str = "ML_MAX_EXPORT_BYTES",
    ) -> None:
        self.folder = folder
        self.max_file_bytes = max_file_bytes
        self.size_setting = size_setting

    def read_file(self, name: str) -> bytes:
        if "/" in name or "\\" in name or name.startswith("."):
            raise DataSourceError(f"refusing export file name {name!r}")
        path = self.folder / name
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                raise DataSourceError(
                    f"{path} is {size} bytes, more than the limit of {self.max_file_bytes} "
                    f"bytes ({self.size_setting})"
                )
            return path.read_bytes()
        except FileNotFoundError:
            raise DataSourceError(f"{path} does not exist (export folder {self.folder})") from None
        except OSError as exc:
            raise DataSourceError(f"cannot read {path}: {exc.strerror}") from None

    def describe(self) -> str:
        return f"export folder {self.folder}"

    def fingerprint(self, names: tuple[str, ...]) -> str:
        """Size and modification time (ns) of each of ``names``: one ``stat`` per file."""
        parts = []
        for name in names:
            path = self.folder / name
            try:
                stat = path.stat()
            except FileNotFoundError:
                parts.append(f"{name}:missing")
                continue
            except OSError as exc:
                raise DataSourceError(f"cannot look at {path}: {exc.strerror}") from None
            parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
        return ";".join(parts)


def _make(*, options: ExportFolderOptions, settings: Settings) -> ExportFolderSource:
    folder = Path(options.path) if options.path else settings.data_dir
    if folder is None:
        raise ConfigError(
            "The export-folder data source needs ML_DATA_DIR (a folder in Totara's export layout)"
        )
    if options.max_file_bytes:
        return ExportFolderSource(
            folder,
            max_file_bytes=options.max_file_bytes,
            size_setting="export-folder option max_file_bytes",
        )
    return ExportFolderSource(folder, max_file_bytes=settings.max_export_bytes)


@hookimpl
def mlcore_data_sources() -> list[DataSourceRecord]:
    return [
        DataSourceRecord(
            name="export-folder",
            factory=_make,
            options_type=ExportFolderOptions,
            description="Local folder in Totara's export layout (ML_DATA_DIR)",
        )
    ]

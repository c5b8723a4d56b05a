"""Model store plugin ``filesystem``: versioned ``.npy`` arrays plus a JSON manifest per tenant.

The store is :class:`~plugins.filesystem_store.store.FilesystemModelStore`; ``files``
holds its fsync-and-replace file primitives. See ``docs/model-store.md``.
"""

from __future__ import annotations

from pathlib import Path

from mlcore.config import Settings
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import ModelStoreRecord
from plugins.filesystem_store.store import FilesystemModelStore, FilesystemStoreOptions


def _make(*, options: FilesystemStoreOptions, settings: Settings) -> FilesystemModelStore:
    return FilesystemModelStore(
        Path(options.path) if options.path else settings.models_dir,
        keep_versions=options.keep_versions or settings.keep_versions,
        verify=options.verify,
    )


@hookimpl
def mlcore_model_stores() -> list[ModelStoreRecord]:
    return [
        ModelStoreRecord(
            name="filesystem",
            factory=_make,
            options_type=FilesystemStoreOptions,
            description="Versioned .npy arrays + JSON manifest per tenant, atomic publish (ML_MODELS_DIR)",
        )
    ]

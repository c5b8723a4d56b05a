"""Model store plugin ``s3``: AWS S3 or any S3-compatible service (extra ``mlservice[s3]``).

Versions are immutable prefixes; each tenant's current-version pointer moves with a
conditional write; serving hosts copy the current version into a local cache once and
memory-map it. boto3 is imported only when the store is built. See
``docs/model-store.md`` and ``docs/scale-out.md``.
"""

from __future__ import annotations

from mlcore.config import Settings
from mlcore.errors import ConfigError
from mlcore.hookspecs import hookimpl
from mlcore.interfaces import ModelStore
from mlcore.plugin_records import ModelStoreRecord
from plugins.s3_store.options import (
    S3StoreOptions,
    cache_folder,
    checked_bucket,
    normalized_prefix,
)


def make_s3_store(*, options: S3StoreOptions, settings: Settings | None = None) -> ModelStore:
    """Build the store: check the options, make a boto3 client (no request is sent yet).

    Raises:
        ConfigError: No or a bad bucket or prefix, or boto3 is not installed.
    """
    settings = settings or Settings()
    bucket_name = checked_bucket(options.bucket)
    prefix = normalized_prefix(options.prefix)
    try:
        from plugins.s3_store.bucket import S3Bucket, make_client
        from plugins.s3_store.cache import VersionCache
        from plugins.s3_store.store import S3ModelStore
    except ImportError as exc:
        raise ConfigError(
            f"the s3 model store needs boto3 ({exc}): pip install 'mlservice[s3]'"
        ) from None
    keep = options.keep_versions or settings.keep_versions
    client = make_client(options.endpoint_url, options.region, options.addressing_style)
    return S3ModelStore(
        S3Bucket(client, bucket_name, prefix),
        VersionCache(cache_folder(options, settings.models_dir), keep_versions=keep),
        keep_versions=keep,
        verify=options.verify,
    )


@hookimpl
def mlcore_model_stores() -> list[ModelStoreRecord]:
    return [
        ModelStoreRecord(
            name="s3",
            factory=make_s3_store,
            options_type=S3StoreOptions,
            description="AWS S3 or S3-compatible bucket, conditional pointer moves, "
            "local cache per host (extra mlservice[s3])",
        )
    ]

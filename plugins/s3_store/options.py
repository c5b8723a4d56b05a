"""Options of the ``s3`` model store and the names they become (bucket, prefix, cache)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlcore.errors import ConfigError

_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class S3StoreOptions:
    """Options of the ``s3`` model store (``ML_MODEL_STORE_OPTIONS``).

    Credentials are never options: they come from the usual AWS chain (environment
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, instance or task role).

    Attributes:
        bucket: Bucket name (required; the bucket must exist).
        prefix: Key prefix of this store inside the bucket, e.g. ``"mlservice/prod"``.
        endpoint_url: An S3-compatible service, e.g. ``"http://127.0.0.1:9000"``; empty
            means AWS (or ``AWS_ENDPOINT_URL``).
        region: AWS region; empty means the AWS chain's (``AWS_REGION``, profile).
        cache_dir: This host's local cache folder; empty means
            ``<ML_MODELS_DIR>/s3-cache/<bucket>/<prefix>``.
        keep_versions: Versions kept per tenant (in the bucket and in the cache); 0 means
            ``ML_KEEP_VERSIONS``.
        verify: Check every cached file's sha256 on each load (downloads always are).
        addressing_style: ``"path"`` for services that need ``/bucket/key`` URLs.
    """

    bucket: str = ""
    prefix: str = ""
    endpoint_url: str = ""
    region: str = ""
    cache_dir: str = ""
    keep_versions: int = 0
    verify: bool = False
    addressing_style: Literal["auto", "path", "virtual"] = "auto"


def checked_bucket(name: str) -> str:
    """The bucket name, checked to be usable as a folder name too.

    Raises:
        ConfigError: Missing or not a bucket name.
    """
    if not name:
        raise ConfigError(
            "the s3 model store needs a bucket: "
            'ML_MODEL_STORE_OPTIONS=\'{"bucket": "my-bucket", "prefix": "mlservice"}\''
        )
    if not _BUCKET.fullmatch(name) or ".." in name:
        raise ConfigError(f"s3 model store option bucket={name!r} is not a bucket name")
    return name


def normalized_prefix(prefix: str) -> str:
    """``""`` or ``"a/b/"``: segments of ``A-Z a-z 0-9 . _ -``, no ``.`` or ``..`` segment.

    Raises:
        ConfigError: The prefix has other characters or a dot segment.
    """
    segments = [s for s in prefix.strip("/").split("/")] if prefix.strip("/") else []
    for segment in segments:
        if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise ConfigError(
                f"s3 model store option prefix={prefix!r} is not allowed: use segments of "
                "A-Z, a-z, 0-9, '.', '_' and '-' separated by '/'"
            )
    return "".join(f"{segment}/" for segment in segments)


def cache_folder(options: S3StoreOptions, models_dir: Path) -> Path:
    """The cache folder: ``cache_dir``, else one per bucket and prefix under ``models_dir``."""
    if options.cache_dir:
        return Path(options.cache_dir)
    folder = models_dir / "s3-cache" / checked_bucket(options.bucket)
    return folder.joinpath(*normalized_prefix(options.prefix).split("/"))

"""The object operations the ``s3`` store needs, over a boto3 S3 client.

Every key is relative to the store's prefix. Conditional writes use S3's ``If-Match``
(an ETag) and ``If-None-Match: *`` (create only) on ``PutObject``; a write whose
condition fails raises :class:`ConditionFailed`. Errors from S3 or the network become
:class:`~mlcore.errors.ModelStoreError` naming the operation, bucket and key, never a
credential. boto3 is imported here only, and this module only by the store's factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from mlcore.errors import ModelStoreError

T = TypeVar("T")

#: S3 error codes that mean "the object is not there".
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
#: 412: the condition is false; 409: a concurrent conditional write to the key won.
_CONDITION = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})
_NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "AWS_PROFILE, or run with an instance or task role"
)
_DELETE_BATCH = 1000


class ConditionFailed(ModelStoreError):
    """A conditional write was refused: the object changed, exists, or another won."""


@dataclass(frozen=True)
class StoredObject:
    """A small object's content and ETag (for a later ``If-Match``)."""

    body: bytes
    etag: str


@dataclass(frozen=True)
class Listed:
    """One listed key (relative to the prefix) and its last change, seconds since the epoch."""

    key: str
    modified: float


def make_client(endpoint_url: str, region: str, addressing_style: str) -> Any:
    """A boto3 S3 client; credentials come from the usual AWS chain (never from options)."""
    config = Config(
        region_name=region or None,
        s3={"addressing_style": addressing_style},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)


class S3Bucket:
    """Objects under ``s3://<bucket>/<prefix>`` through ``client``.

    Args:
        client: A boto3 S3 client (see :func:`make_client`).
        bucket: Bucket name.
        prefix: Key prefix of the store, ``""`` or ending in ``/``.
    """

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix
        self._transfer = TransferConfig(multipart_threshold=64 << 20, max_concurrency=4)

    def describe(self) -> str:
        """``s3://bucket/prefix`` and the endpoint, for logs (no credentials)."""
        return f"s3://{self.bucket}/{self.prefix} at {self._client.meta.endpoint_url}"

    def get(self, key: str) -> StoredObject | None:
        """A small object's content and ETag, or None when it does not exist."""

        def call() -> StoredObject:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            return StoredObject(answer["Body"].read(), answer["ETag"])

        return self._optional(f"GET {key}", call)

    def etag(self, key: str) -> str | None:
        """The ETag of an object (one HEAD request), or None when it does not exist."""

        def call() -> str:
            answer = self._client.head_object(Bucket=self.bucket, Key=self.prefix + key)
            return str(answer["ETag"])

        return self._optional(f"HEAD {key}", call)

    def put(
        self, key: str, body: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Write a small object, optionally only if its ETag is ``if_match`` or only if it
        does not exist (``if_none_match``); return the new ETag.

        Raises:
            ConditionFailed: The condition did not hold.
        """
        conditions: dict[str, str] = {}
        if if_match is not None:
            conditions["IfMatch"] = if_match
        if if_none_match:
            conditions["IfNoneMatch"] = "*"

        def call() -> str:
            answer = self._client.put_object(
                Bucket=self.bucket, Key=self.prefix + key, Body=body, **conditions
            )
            return str(answer["ETag"])

        try:
            return self._call(f"PUT {key}", call)
        except ModelStoreError as exc:
            if conditions and _code(exc.__cause__) in _CONDITION | _MISSING:
                raise ConditionFailed(f"conditional PUT {key} refused: {exc}") from None
            raise

    def upload_file(self, key: str, path: Path) -> None:
        """Upload a local file (multipart above 64 MiB)."""
        self._call(
            f"upload {key}",
            lambda: self._client.upload_file(
                str(path), self.bucket, self.prefix + key, Config=self._transfer
            ),
        )

    def download_file(self, key: str, path: Path) -> None:
        """Download an object to a new local file.

        Raises:
            ModelStoreError: Also when the object does not exist.
        """
        self._call(
            f"download {key}",
            lambda: self._client.download_file(
                self.bucket, self.prefix + key, str(path), Config=self._transfer
            ),
        )

    def list_keys(self, prefix: str) -> list[Listed]:
        """Every key under ``prefix`` (relative to the store's prefix), all pages."""
        return self._call(f"LIST {prefix}", lambda: list(self._pages(prefix)))

    def delete(self, keys: list[str]) -> None:
        """Delete keys (missing ones are fine), up to 1,000 per request."""
        for start in range(0, len(keys), _DELETE_BATCH):
            self._delete_batch(keys[start : start + _DELETE_BATCH])

    def _delete_batch(self, keys: list[str]) -> None:
        objects = [{"Key": self.prefix + key} for key in keys]

        def call() -> dict[str, Any]:
            return dict(
                self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
                )
            )

        errors = self._call(f"DELETE {len(keys)} keys", call).get("Errors") or []
        if errors:
            first = errors[0]
            raise ModelStoreError(
                f"S3 DELETE in {self.describe()} failed for {len(errors)} key(s), e.g. "
                f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
            )

    def _pages(self, prefix: str) -> Iterator[Listed]:
        paginator = self._client.get_paginator("list_objects_v2")
        start = len(self.prefix)
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield Listed(item["Key"][start:], item["LastModified"].timestamp())

    def _optional(self, operation: str, call: Callable[[], T]) -> T | None:
        try:
            return self._call(operation, call)
        except ModelStoreError as exc:
            if _code(exc.__cause__) in _MISSING:
                return None
            raise

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        """Run one S3 call; translate its errors (the cause keeps the S3 error code)."""
        where = f"S3 {operation} in {self.describe()}"
        try:
            return call()
        except NoCredentialsError as exc:
            raise ModelStoreError(f"{where} failed: {_NO_CREDENTIALS}") from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            raise ModelStoreError(
                f"{where} failed: HTTP {status} {error.get('Code', '')} {error.get('Message', '')}"
            ) from exc
        except BotoCoreError as exc:
            raise ModelStoreError(f"{where} failed: {exc}") from exc


def _code(error: BaseException | None) -> str:
    """The S3 error code (or HTTP status) of a botocore error, or ``""``."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""

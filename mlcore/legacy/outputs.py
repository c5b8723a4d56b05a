"""Write one tenant's legacy outputs ``i2i_<t>.csv`` and ``i2u_<t>.csv`` (contract §11.5).

Each file is written to a temporary file in the same folder, fsynced and renamed
over the target, so a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from mlcore.dataset import Dataset
from mlcore.interfaces import ModelArtifact
from mlcore.legacy.csv_files import csv_lines, field_matrix
from mlcore.legacy.rankings import (
    SeenPolicy,
    SimilarityFunction,
    SimilarScope,
    apply_seen_policy,
    block_bounds,
    cooccurrence_rows,
    family_ids,
    positives_mask,
    similar_block,
    user_item_block,
)
from mlcore.serving.artifact import SUCCESS, artifact_ids
from mlcore.serving.kind import ServingKind
from mlcore.serving.kinds import serving_kind

I2I_HEADER = b"target_iid,similar_iid,ranking"
I2U_HEADER = b"uid,iid,ranking"


@dataclass(frozen=True)
class OutputOptions:
    """How the rankings are made.

    Attributes:
        result_count_user: Items per user and component in ``i2u``.
        result_count_item: Similar items per item in ``i2i``.
        seen_items: ``exclude`` the user's positive items, or ``downrank`` them.
        similar_items: ``any`` type (the original) or the target's ``family`` only.
    """

    result_count_user: int
    result_count_item: int
    seen_items: SeenPolicy = "exclude"
    similar_items: SimilarScope = "any"


@dataclass(frozen=True)
class TenantFiles:
    """What was written for one tenant."""

    tenant: str
    message: str
    i2i_rows: int
    i2u_rows: int


def write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write bytes to ``path`` through a temporary file, fsync and rename.

    On any error the temporary file is removed and ``path`` keeps its old content.
    The file gets the usual permissions (0666 less the umask), like any file the
    original script wrote, so Totara's import can read it whoever runs it.
    """
    temporary = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """fsync a folder so that renames in it survive a crash (no-op where unsupported)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_tenant_files(
    folder: Path, dataset: Dataset, artifact: ModelArtifact, options: OutputOptions
) -> TenantFiles:
    """Write ``i2i_<t>.csv`` and ``i2u_<t>.csv`` for one tenant.

    A tenant that was not trained (too small, no interactions) gets header-only
    files without a trailing newline, as the original writes them.
    """
    tenant = dataset.tenant
    message = str(artifact.manifest.get("message", ""))
    i2i_path, i2u_path = folder / f"i2i_{tenant}.csv", folder / f"i2u_{tenant}.csv"
    if message != SUCCESS:
        write_atomic(i2i_path, [I2I_HEADER])
        write_atomic(i2u_path, [I2U_HEADER])
        return TenantFiles(tenant, message, 0, 0)
    arrays = artifact.arrays
    item_ids = field_matrix(artifact_ids(arrays, "item").tolist())
    i2i_count: list[int] = []
    write_atomic(
        i2i_path,
        _with_header(I2I_HEADER, _i2i_blocks(dataset, artifact, item_ids, options), i2i_count),
    )
    i2u_count: list[int] = []
    user_blocks = _i2u_blocks(
        artifact, field_matrix(artifact_ids(arrays, "user").tolist()), item_ids, options
    )
    write_atomic(i2u_path, _with_header(I2U_HEADER, user_blocks, i2u_count))
    return TenantFiles(tenant, message, sum(i2i_count), sum(i2u_count))


def _with_header(
    header: bytes, blocks: Iterator[tuple[bytes, int]], counts: list[int]
) -> Iterator[bytes]:
    """The header, then ``\\n`` and the rows (each ending with ``\\n``) if there are any.

    A file without rows is exactly the header, with no trailing newline.
    """
    yield header
    for text, rows in blocks:
        if rows:
            if not counts:
                yield b"\n"
            counts.append(rows)
            yield text


def _i2u_blocks(
    artifact: ModelArtifact, users: np.ndarray, items: np.ndarray, options: OutputOptions
) -> Iterator[tuple[bytes, int]]:
    arrays = artifact.arrays
    score = _score_function(artifact)
    n_items = items.shape[0]
    for rows in block_bounds(users.shape[0], n_items):
        scores = score(rows)
        seen = positives_mask(
            arrays["positives_indptr"], arrays["positives_indices"], rows, n_items
        )
        apply_seen_policy(scores, seen, options.seen_items)
        columns, values = user_item_block(scores, arrays["type_offsets"], options.result_count_user)
        keep = np.isfinite(values)
        owners = np.broadcast_to(np.arange(rows.start, rows.stop)[:, None], keep.shape)[keep]
        yield csv_lines(users[owners], items[columns[keep]], values[keep]), int(keep.sum())


def _i2i_blocks(
    dataset: Dataset, artifact: ModelArtifact, items: np.ndarray, options: OutputOptions
) -> Iterator[tuple[bytes, int]]:
    similarity = _similarity_function(dataset, artifact)
    families = None
    if options.similar_items == "family":
        families = family_ids(np.asarray(dataset.item_types))
    for rows in block_bounds(items.shape[0], items.shape[0]):
        columns, values = similar_block(
            similarity(rows), rows, options.result_count_item, families=families
        )
        keep = np.isfinite(values)
        targets = np.broadcast_to(np.arange(rows.start, rows.stop)[:, None], keep.shape)[keep]
        yield csv_lines(items[targets], items[columns[keep]], values[keep]), int(keep.sum())


def _score_function(artifact: ModelArtifact) -> Callable[[slice], np.ndarray]:
    """rows (slice) -> (B, I) float32 model scores, through the artifact's serving kind."""
    kind = _kind(artifact)

    def scores(rows: slice) -> np.ndarray:
        return kind.batch_scores(np.arange(rows.start, rows.stop))

    return scores


def _similarity_function(dataset: Dataset, artifact: ModelArtifact) -> SimilarityFunction:
    """The serving kind's item similarity; co-occurrence cosine for models without any
    (factor models whose item vectors are all zero, like ``popularity``)."""
    arrays = artifact.arrays
    kind = _kind(artifact)
    if kind.name == "factors" and not np.any(arrays["item_unit"]):
        return cooccurrence_rows(sp.csr_matrix(dataset.interactions))
    everything = slice(0, dataset.n_items)

    def similarity(rows: slice) -> np.ndarray:
        return kind.similarity_rows(np.arange(rows.start, rows.stop), everything)

    return similarity


def _kind(artifact: ModelArtifact) -> ServingKind:
    return serving_kind(str(artifact.manifest.get("kind", "factors")))(artifact.arrays)

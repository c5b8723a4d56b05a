"""Kill a publishing process at random moments: the store always loads a complete version.

A forked writer process publishes versions in a loop; version ``s`` has every array
filled with ``s`` and ``"seq": s`` in its manifest, and the writer prints
``begin s`` to a pipe just before publishing it. After each SIGKILL a fresh store must load
a version whose arrays all equal its manifest's ``seq`` (complete, consistent,
sha256-verified) and that is either the last one begun (new) or the one before
it (previous).
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import numpy as np

from mlcore.interfaces import ModelArtifact
from plugins.filesystem_store.store import FilesystemModelStore

KILLS = 60


def _writer(root: Path, seq: int, report: int) -> None:
    """The child: publish versions seq+1, seq+2, ... forever, announcing each on ``report``."""
    store = FilesystemModelStore(root, keep_versions=2)
    while True:
        seq += 1
        arrays = {
            "item_factors": np.full((3000, 16), seq, dtype=np.float32),
            "user_ids": np.array([str(seq)] * 500),
            "positives_indices": np.full(20000, seq, dtype=np.int32),
            "item_bias": np.full(3000, seq, dtype=np.float64),
        }
        os.write(report, f"begin {seq}\n".encode())
        store.publish("0", ModelArtifact(manifest={"seq": seq}, arrays=arrays))


def _run_writer(root: Path, last_seq: int, delay: float) -> int:
    """Fork a writer (modules already imported), SIGKILL it after ``delay`` s.

    Returns:
        The last sequence number the writer began to publish.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        try:
            os.close(read_end)
            _writer(root, last_seq, write_end)
        finally:
            os._exit(1)
    os.close(write_end)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode()
    begun = [int(line.split()[1]) for line in output.splitlines() if line.startswith("begin")]
    return begun[-1] if begun else last_seq


def _check_complete(root: Path) -> int:
    """Load the current version with a fresh store, check it; return its seq (0: none yet)."""
    store = FilesystemModelStore(root, verify=True)
    if store.current_version("0") is None:
        return 0
    artifact = store.load("0")
    seq = int(artifact.manifest["seq"])
    assert set(artifact.arrays) == {"item_factors", "user_ids", "positives_indices", "item_bias"}
    assert artifact.arrays["item_factors"].shape == (3000, 16)
    for name, array in artifact.arrays.items():
        expected = str(seq) if array.dtype.kind == "U" else seq
        assert np.all(array == expected), f"{name} mixes versions"
    assert store.current_version("0") == artifact.manifest["version"]
    assert artifact.manifest["version"] in store.versions("0")
    return seq


def test_sigkill_during_publishing_never_leaves_a_broken_version(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    root = tmp_path / "store"
    loaded = 0
    outcomes = {"previous": 0, "new": 0}
    for _kill in range(KILLS):
        begun = _run_writer(root, loaded, rng.uniform(0.0, 0.15))
        if begun == loaded:
            continue  # killed before it began to publish
        seq = _check_complete(root)
        assert seq in (begun - 1, begun), f"loaded {seq}, writer had begun {begun}"
        outcomes["new" if seq == begun else "previous"] += 1
        loaded = seq
    # The kills must really have landed both between and in the middle of publishes.
    assert outcomes["previous"] > 0 and outcomes["new"] > 0, outcomes
    assert loaded >= KILLS // 4  # many publishes completed between kills

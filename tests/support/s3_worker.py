"""A separate process that uses an ``s3`` store, for the tests that kill or race processes.

``python -m tests.support.s3_worker COMMAND ARG...`` with the store's options as JSON in
``S3_WORKER_OPTIONS``, its cache folder in ``S3_WORKER_CACHE`` and the AWS test
credentials in the environment. It reports on stdout, one line per event:

* ``publish-loop WRITER FIRST COUNT``: publishes :func:`seq_artifact` ``FIRST+1``, ...
  (``COUNT`` 0: forever), printing ``begin SEQ`` before and ``done SEQ VERSION`` or
  ``superseded SEQ VERSION`` after each; with ``S3_WORKER_BARRIER`` set, it first says
  ``ready`` and waits for that file.
* ``publish-then-hang``: publishes ``tiny_artifact(seed=1)`` (``published VERSION``), then
  uploads ``tiny_artifact(seed=2)`` and, instead of moving the pointer, prints
  ``uploaded VERSION`` and sleeps until killed.
* ``load VERSION BARRIER``: prints ``ready``, waits for the file ``BARRIER``, loads the
  version and prints one JSON line: the inode of its ``item_factors.npy`` and whether this
  process copied it.

Log lines (INFO) go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.interfaces import ModelArtifact
from tests.support.moto_s3 import s3_store


def seq_artifact(writer: str, seq: int) -> ModelArtifact:
    """Every array and the manifest say ``seq`` (and the writer): a mix shows."""
    return ModelArtifact(
        manifest={"seq": seq, "writer": writer},
        arrays={
            "item_factors": np.full((2000, 16), seq, dtype=np.float32),
            "user_ids": np.array([f"{writer}-{seq}"] * 300),
            "positives_indices": np.full(20000, seq, dtype=np.int32),
        },
    )


def say(*words: object) -> None:
    print(*words, flush=True)


def wait_for(barrier: Path) -> None:
    """Say ``ready``, then wait until the file ``barrier`` exists."""
    say("ready")
    while not barrier.exists():
        time.sleep(0.005)


def publish_loop(store: Any, writer: str, first: int, count: int) -> None:
    from plugins.s3_store.store import PublishSuperseded

    barrier = os.environ.get("S3_WORKER_BARRIER")
    if barrier:
        wait_for(Path(barrier))
    seq = first
    while count == 0 or seq < first + count:
        seq += 1
        say("begin", seq)
        try:
            say("done", seq, store.publish("0", seq_artifact(writer, seq)))
        except PublishSuperseded as exc:
            say("superseded", seq, exc.version)


def publish_then_hang(store: Any) -> None:
    import plugins.s3_store.store as store_module
    from tests.support.app_support import tiny_artifact

    say("published", store.publish("0", tiny_artifact("0", seed=1)))

    def hang(bucket: Any, tenant: str, version: str, *, newer_wins: bool) -> bool:
        say("uploaded", version)
        time.sleep(3600)
        return False

    store_module.move_pointer = hang  # type: ignore[assignment]
    store.publish("0", tiny_artifact("0", seed=2))


def load(store: Any, version: str, barrier: Path) -> None:
    copied: list[str] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "copied into the local cache" in record.getMessage():
                copied.append(record.getMessage())

    logging.getLogger("plugins.s3_store").addHandler(Spy())
    logging.getLogger("plugins.s3_store").setLevel(logging.INFO)
    wait_for(barrier)
    artifact = store.load("0", version)
    folder = store.cache.folder("0", version)
    inode = os.stat(folder / "item_factors.npy").st_ino
    total = float(np.asarray(artifact.arrays["item_factors"]).sum(dtype=np.float64))
    say(json.dumps({"inode": inode, "copied": len(copied), "sum": total}))


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    options = json.loads(os.environ["S3_WORKER_OPTIONS"])
    store = s3_store(options, Path(os.environ["S3_WORKER_CACHE"]), keep_versions=50)
    command, *args = argv
    if command == "publish-loop":
        publish_loop(store, args[0], int(args[1]), int(args[2]))
    elif command == "publish-then-hang":
        publish_then_hang(store)
    elif command == "load":
        load(store, args[0], Path(args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Executor plugin ``local``: the trainer's units of work on this machine.

With ``ML_TRAINING_PROCESSES=1`` (the default) every unit runs in the calling
process, one after another: training is exactly what it was before executors
existed. With ``N > 1``, tenants train in a pool of ``N`` processes (started with
``spawn``, so no thread of the training process is inherited), and they share
``ML_NUM_THREADS``: each process gets ``max(1, ML_NUM_THREADS // N)`` threads for
LightFM, and BLAS/OpenMP are limited to as many before any unit runs. A unit runs
its trials in its own process. A process that dies (killed, out of memory) breaks
the pool: its units and those running beside it are run again in a new pool, at
most ``retries`` times each; the model store's atomic publish means a killed unit
never leaves a half model behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from mlcore.config import Settings, settings_with
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import ExecutorRecord

log = logging.getLogger(__name__)

#: Thread variables of the BLAS and OpenMP runtimes, set in every pool process.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class LocalOptions:
    """Options of the ``local`` executor (``ML_EXECUTOR_OPTIONS``).

    Attributes:
        retries: Times a unit is run again after its process died.
    """

    retries: int = 2


class LocalExecutor:
    """Units in this process (one process) or in a pool of ``ML_TRAINING_PROCESSES``.

    Args:
        options: The plugin's options.
        settings: ``ML_TRAINING_PROCESSES`` and ``ML_NUM_THREADS``.
    """

    def __init__(self, options: LocalOptions, settings: Settings) -> None:
        self.options = options
        self.processes = settings.training_processes
        self.threads = max(1, settings.num_threads // self.processes)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._running: set[Future[Any]] = set()
        self._closed = False

    def slots(self) -> int:
        return self.processes

    def in_process(self) -> bool:
        return self.processes == 1

    def unit_settings(self, settings: Settings) -> Settings:
        """One process per unit, and its share of ``ML_NUM_THREADS``; a unit's own
        executor runs its trials in its process."""
        return settings_with(settings, training_processes=1, num_threads=self.threads)

    def submit(self, unit: Callable[..., Any], *arguments: Any) -> Future[Any]:
        outer: Future[Any] = Future()
        if self.in_process():
            try:
                outer.set_result(unit(*arguments))
            except Exception as exc:  # noqa: BLE001 - the future carries it
                outer.set_exception(exc)
            return outer
        with self._lock:
            self._running.add(outer)
        outer.add_done_callback(self._forget)
        self._start(outer, unit, arguments, attempt=0)
        return outer

    def wait(self, pending: Collection[Future[Any]]) -> set[Future[Any]]:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        return set(done)

    def close(self) -> None:
        """Cancel what waits; stop the pool (terminating processes still running units)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            unfinished = [f for f in self._running if not f.done()]
        if pool is None:
            return
        if unfinished:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()  # a cut-short run must not wait for its units
        pool.shutdown(wait=not unfinished, cancel_futures=True)

    def describe(self) -> str:
        if self.in_process():
            return "this process (local executor, ML_TRAINING_PROCESSES=1)"
        return f"{self.processes} local processes of {self.threads} thread(s) each"

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)

    def _current_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=limit_threads,
                    initargs=(self.threads,),
                )
            return self._pool

    def _start(
        self, outer: Future[Any], unit: Callable[..., Any], arguments: tuple[Any, ...], attempt: int
    ) -> None:
        pool = self._current_pool()
        try:
            inner = pool.submit(unit, *arguments)
        except (BrokenProcessPool, RuntimeError) as exc:
            self._settle_broken(outer, pool, unit, arguments, attempt, exc)
            return
        inner.add_done_callback(
            lambda done: self._settle(outer, done, pool, unit, arguments, attempt)
        )

    def _settle(
        self,
        outer: Future[Any],
        inner: Future[Any],
        pool: ProcessPoolExecutor,
        unit: Callable[..., Any],
        arguments: tuple[Any, ...],
        attempt: int,
    ) -> None:
        if outer.done():
            return
        if inner.cancelled():
            outer.cancel()
            return
        error = inner.exception()
        if isinstance(error, BrokenProcessPool):
            self._settle_broken(outer, pool, unit, arguments, attempt, error)
        elif error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(inner.result())

    def _settle_broken(
        self,
        outer: Future[Any],
        pool: ProcessPoolExecutor,
        unit: Callable[..., Any],
        arguments: tuple[Any, ...],
        attempt: int,
        error: BaseException,
    ) -> None:
        """A process of ``pool`` died: run the unit again in a new pool, or give up."""
        if attempt >= self.options.retries or self._closed:
            outer.set_exception(error)
            return
        log.warning(
            "a training process died (killed, or out of memory?); running its unit again "
            "(attempt %d of %d)",
            attempt + 2,
            self.options.retries + 1,
        )
        with self._lock:
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
        # Not from this callback's thread: it belongs to the broken pool.
        threading.Thread(
            target=self._start, args=(outer, unit, arguments, attempt + 1), daemon=True
        ).start()


def limit_threads(threads: int) -> None:
    """Pool process initializer: at most ``threads`` BLAS/OpenMP threads, from now on."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - in the pool process only

    threadpool_limits(limits=threads)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s trainer-unit[%(process)d] %(name)s: %(message)s",
    )


def _make(*, options: LocalOptions, settings: Settings | None = None) -> LocalExecutor:
    return LocalExecutor(options, settings or Settings())


@hookimpl
def mlcore_executors() -> list[ExecutorRecord]:
    return [
        ExecutorRecord(
            name="local",
            factory=_make,
            options_type=LocalOptions,
            description="This machine: one process (default), or ML_TRAINING_PROCESSES "
            "processes training tenants in parallel",
        )
    ]

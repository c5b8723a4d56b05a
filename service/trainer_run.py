"""One training run in its own process: ``python -m service.trainer_run``.

Started by :class:`service.trainer_process.TrainerProcess` for every scheduled
run. Reads settings from the ``ML_*`` environment, builds the configured data
source, model store and recommender, runs :class:`mlcore.training.trainer.Trainer` once
and exits with 0 (every tenant trained or skipped), 1 (some tenant, or the
tenant list, failed; previous models keep serving), 2 (invalid settings; a
plugin that cannot be built also writes an ``all`` row to ``train_summary.log``)
or 130 (interrupted).
Logs go to stderr and ``<ML_LOGS_DIR>/trainer.log``, never the key.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from mlcore.config import VARIABLES, Settings, load_settings
from mlcore.configured import ConfiguredPlugins, configured_plugins
from mlcore.errors import MLCoreError
from mlcore.serving.artifact import SUCCESS
from mlcore.training.outcome import TenantOutcome
from mlcore.training.train_log import LogRow, append_rows, run_timestamp
from mlcore.training.trainer import FAILED, RunCutShort, Trainer
from service.logging_setup import make_formatter
from service.parent_watch import exit_with_parent

#: A fixed name: under ``python -m`` this module is ``__main__``.
log = logging.getLogger("service.trainer_run")

#: Exit status: the run was cut short (deadline or SIGTERM).
RUN_CUT_SHORT = 3
#: Exit status: the run published its models but could not write ``train_summary.log``.
LOG_NOT_WRITTEN = 4
LOG_FORMAT = "%(asctime)s %(levelname)s trainer[%(process)d] %(name)s: %(message)s"
TRAINER_LOG = "trainer.log"


def settings_environment(settings: Settings) -> dict[str, str]:
    """``ML_*`` variables that :func:`mlcore.config.load_settings` turns back into ``settings``."""
    env = {}
    for name, (field_name, _, _) in VARIABLES.items():
        if field_name:
            value = _as_text(getattr(settings, field_name))
            if value is not None:
                env[name] = value
    return env


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    return str(value)


def child_environment(
    settings: Settings, environ: Mapping[str, str] | None, root: Path
) -> dict[str, str]:
    """The environment of a training child: ``environ`` plus ``settings`` as variables.

    ``root`` (the repository) is put first on ``PYTHONPATH`` so ``-m`` finds this
    package; OpenBLAS gets one thread unless set (implicit 0.7, see README).
    """
    env = dict(os.environ if environ is None else environ)
    env.update(settings_environment(settings))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


@contextmanager
def run_logging(settings: Settings) -> Iterator[None]:
    """Log at INFO to stderr and ``<ML_LOGS_DIR>/trainer.log`` while a child run lasts.

    On the way out the handlers are detached and closed; a full disk (ENOSPC on the
    final flush) is said on stderr and does not fail the run.
    """
    formatter = make_formatter(settings.log_format, text=LOG_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    try:
        settings.logs_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(settings.logs_dir / TRAINER_LOG, encoding="utf-8"))
    except OSError as exc:
        print(f"trainer: cannot write {settings.logs_dir / TRAINER_LOG}: {exc}", file=sys.stderr)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            try:
                handler.close()  # flushes: ENOSPC on a full disk
            except OSError as exc:
                print(f"trainer: cannot close {handler}: {exc}", file=sys.stderr)


@dataclass(frozen=True)
class RunResult:
    """One run as the child reports it.

    Attributes:
        outcomes: One per tenant (or one ``all`` when the tenant list failed).
        log_failure: Why ``train_summary.log`` could not be written, else None.
    """

    outcomes: list[TenantOutcome]
    log_failure: str | None = None

    @property
    def exit_code(self) -> int:
        """The child's exit status (see the module docstring)."""
        if self.log_failure is not None:
            return LOG_NOT_WRITTEN
        return 1 if any(o.failed for o in self.outcomes) else 0


def run_once(
    settings: Settings, parts: ConfiguredPlugins | None = None, only: str | None = None
) -> list[TenantOutcome]:
    """Train every tenant (or ``only`` one) with the configured plugins; log a summary line."""
    return run_training(settings, parts, only).outcomes


def run_training(
    settings: Settings, parts: ConfiguredPlugins | None = None, only: str | None = None
) -> RunResult:
    """:func:`run_once`, with what the exit status needs."""
    from service.metrics import recorders
    from service.metrics.instrumented_source import InstrumentedSource

    parts = parts or configured_plugins(settings)
    source = InstrumentedSource(parts.data_source())
    log.info("training run: data from %s, recommender %s", source.describe(), settings.recommender)
    executor = parts.executor()
    try:
        trainer = Trainer(
            settings, source, parts.model_store(), parts.recommender, executor=executor
        )
        outcomes = trainer.run(only=only)
    finally:
        executor.close()
    for outcome in outcomes:
        recorders.tenant_training(outcome.tenant, _outcome_label(outcome), outcome.seconds)
    trained = sum(1 for o in outcomes if o.message == SUCCESS)
    failed = [o.tenant for o in outcomes if o.failed]
    log.log(
        logging.ERROR if failed else logging.INFO,
        "training run done: %d tenant(s) trained, %d skipped, %d failed%s",
        trained,
        len(outcomes) - trained - len(failed),
        len(failed),
        f" ({', '.join(failed)}; their previous models keep serving)" if failed else "",
    )
    return RunResult(outcomes, trainer.log_failure)


def _outcome_label(outcome: TenantOutcome) -> str:
    if outcome.failed:
        return "failed"
    return "trained" if outcome.message == SUCCESS else "skipped"


def _log_not_started(settings: Settings, error: MLCoreError) -> None:
    """One ``all`` row in ``train_summary.log``, so the health check shows why."""
    append_run_row(settings, f"Training could not start: {error}")


def append_run_row(settings: Settings, message: str) -> None:
    """One ``all`` row about a whole run; a log that cannot be written is logged."""
    algorithm = (
        settings.algorithm if settings.recommender in ("lightfm", "auto") else settings.recommender
    )
    try:
        append_rows(settings.train_log_path, [LogRow(run_timestamp(), algorithm, "all", message)])
    except OSError as exc:
        log.error("cannot write %s: %s", settings.train_log_path, exc)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`RunCutShort` in this (main) thread after ``seconds``, or on SIGTERM.

    Python runs signal handlers between bytecodes, so a run stuck in native code is
    interrupted when it returns; the scheduler kills a run that overruns anyway.
    """

    def cut(reason: str) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)  # only once
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise RunCutShort(reason)

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        cut(f"the training run was cut short after {seconds:g} s (ML_TRAINING_RUN_DEADLINE)")

    def on_term(signum: int, frame: FrameType | None) -> None:
        cut("the training run was stopped (SIGTERM)")

    previous = {
        s: signal.signal(s, h) for s, h in ((signal.SIGALRM, on_alarm), (signal.SIGTERM, on_term))
    }
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _log_cut_short(settings: Settings, cut: RunCutShort) -> None:
    """Log the cut; an ``all`` row when it came before any tenant (e.g. tenants.csv)."""
    log.error("%s; previous models keep serving", cut)
    if not cut.outcomes:
        append_run_row(settings, f"{FAILED}{cut}")


def child_start(
    module: str, label: str, argv: Sequence[str] | None, environ: Mapping[str, str] | None
) -> tuple[str | None, Settings] | None:
    """The common start of a child run (``python -m module [--tenant T]``): its tenant and
    settings, watching the parent; None (said on stderr) when the settings are invalid."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}")
    parser.add_argument("--tenant", help="this tenant only")
    tenant = parser.parse_args(list(argv or [])).tenant
    exit_with_parent(environ)
    try:
        return tenant, load_settings(environ)
    except MLCoreError as exc:
        print(f"{label}: invalid settings: {exc}", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the child process; returns its exit status."""
    started = child_start("service.trainer_run", "trainer", argv, environ)
    if started is None:
        return 2
    tenant, settings = started
    with run_logging(settings):
        try:
            with deadline(settings.run_deadline_seconds):
                result = run_training(settings, only=tenant)
        except MLCoreError as exc:
            log.error("training run not started: %s", exc)
            _log_not_started(settings, exc)
            return 2
        except RunCutShort as cut:
            _log_cut_short(settings, cut)
            return RUN_CUT_SHORT
        except KeyboardInterrupt:
            log.warning("training run interrupted; previous models keep serving")
            return 130
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

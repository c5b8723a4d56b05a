"""One refresh cycle in its own process: ``python -m service.refresh_run [--tenant T]``.

Started every ``ML_REFRESH_INTERVAL`` seconds by
:class:`service.refresh_scheduler.RefreshScheduler` (never while a full training
runs), and run in-process by ``mlservice refresh``. Builds the configured data
source and model store, runs :class:`mlcore.training.refresh.Refresher` once,
records metrics and logs one line per tenant that changed. Exit status 0 (every
tenant refreshed, unchanged or skipped), 1 (a tenant's refresh failed; its current
model keeps serving), 2 (invalid settings or plugins).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence

from mlcore.config import Settings
from mlcore.configured import ConfiguredPlugins, configured_plugins
from mlcore.errors import MLCoreError
from mlcore.events.event_log import EventLog
from mlcore.interfaces import ChangeChecked, DataSource
from mlcore.training.refresh import FAILED, UNCHANGED, Refresher, RefreshOutcome
from mlcore.training.refresh_state import RefreshState
from service.trainer_run import child_start, run_logging

#: A fixed name: under ``python -m`` this module is ``__main__``.
log = logging.getLogger("service.refresh_run")


def run_refresh(
    settings: Settings, parts: ConfiguredPlugins | None = None, only: str | None = None
) -> list[RefreshOutcome]:
    """One refresh cycle with the configured plugins; records metrics and logs changes."""
    from service.metrics import recorders
    from service.metrics.instrumented_source import InstrumentedSource

    parts = parts or configured_plugins(settings)
    source: DataSource = parts.data_source()
    if not isinstance(source, ChangeChecked):  # downloads are counted, a stat is not
        source = InstrumentedSource(source)
    refresher = Refresher(
        source,
        parts.model_store(),
        parts.recommender,
        RefreshState.under(settings.models_dir),
        EventLog.under(settings.models_dir),
        seed=settings.seed,
    )
    outcomes = refresher.run(only)
    for outcome in outcomes:
        users = outcome.counts.get("users_changed", 0) if outcome.version else 0
        recorders.refresh(
            outcome.tenant, outcome.status, outcome.seconds, users, outcome.lag_seconds
        )
        if outcome.status != UNCHANGED:
            log.log(
                logging.ERROR if outcome.status == FAILED else logging.INFO,
                "refresh of tenant %s: %s: %s%s",
                outcome.tenant,
                outcome.status,
                outcome.message,
                f" (version {outcome.version}, {outcome.seconds:.2f} s)" if outcome.version else "",
            )
    return outcomes


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the child process; returns its exit status."""
    started = child_start("service.refresh_run", "refresh", argv, environ)
    if started is None:
        return 2
    tenant, settings = started
    with run_logging(settings):
        try:
            outcomes = run_refresh(settings, only=tenant)
        except MLCoreError as exc:
            log.error("refresh not started: %s", exc)
            return 2
    return 1 if any(o.status == FAILED for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

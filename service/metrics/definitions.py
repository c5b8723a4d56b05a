"""Every metric mlservice records, created on first use (``metrics()``).

Processes share values through ``PROMETHEUS_MULTIPROC_DIR``
(:mod:`service.metrics.multiprocess`), which must be set before this module first
runs: ``mlservice serve`` sets it for gunicorn and the trainer. Without it (tests,
one-off commands) the values stay in the process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

#: Request latency buckets in seconds: serving is sub-millisecond, health checks wait on Totara.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
#: Training durations in seconds.
TRAINING_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


@dataclass(frozen=True)
class Metrics:
    """The metric objects (label names in each help text)."""

    requests: Counter
    latency: Histogram
    auth_failures: Counter
    training_runs: Counter
    training_run_seconds: Histogram
    training_running: Gauge
    tenant_trainings: Counter
    tenant_training_seconds: Histogram
    downloads: Counter
    download_seconds: Histogram
    reloads: Counter
    retrain_requests: Counter
    refreshes: Counter
    refresh_users: Counter
    refresh_lag_seconds: Histogram
    refresh_seconds: Histogram
    events: Counter


@functools.cache
def metrics() -> Metrics:
    """The process's metric objects, registered once."""
    return Metrics(
        requests=Counter(
            "mlservice_http_requests",
            "HTTP requests by listener (api, admin), endpoint, method and status",
            ["listener", "endpoint", "method", "status"],
        ),
        latency=Histogram(
            "mlservice_http_request_duration_seconds",
            "Time to answer a request, by listener and endpoint",
            ["listener", "endpoint"],
            buckets=LATENCY_BUCKETS,
        ),
        auth_failures=Counter(
            "mlservice_auth_failures",
            "Rejected requests by listener and reason (missing, malformed, stale, wrong_key)",
            ["listener", "reason"],
        ),
        training_runs=Counter(
            "mlservice_training_runs",
            "Training runs by outcome (success, failed_tenants, not_started, cut_short, "
            "log_not_written, crashed, stopped)",
            ["outcome"],
        ),
        training_run_seconds=Histogram(
            "mlservice_training_run_duration_seconds",
            "Wall time of whole training runs",
            buckets=TRAINING_BUCKETS,
        ),
        training_running=Gauge(
            "mlservice_training_running",
            "1 while a training run is in progress",
            multiprocess_mode="livemax",
        ),
        tenant_trainings=Counter(
            "mlservice_tenant_trainings",
            "Tenant trainings by tenant and outcome (trained, skipped, failed)",
            ["tenant", "outcome"],
        ),
        tenant_training_seconds=Histogram(
            "mlservice_tenant_training_duration_seconds",
            "Wall time of one tenant's training, loading included",
            ["tenant"],
            buckets=TRAINING_BUCKETS,
        ),
        downloads=Counter(
            "mlservice_downloads",
            "Export files read by the data source, by file kind and status (ok, error)",
            ["file", "status"],
        ),
        download_seconds=Histogram(
            "mlservice_download_duration_seconds",
            "Time to read one export file, by file kind",
            ["file"],
            buckets=LATENCY_BUCKETS[4:] + (10, 30, 60, 120),
        ),
        reloads=Counter(
            "mlservice_model_reloads",
            "Model versions loaded by web workers, by tenant and outcome (loaded, failed)",
            ["tenant", "outcome"],
        ),
        retrain_requests=Counter(
            "mlservice_retrain_requests",
            "POST /retrain by outcome (accepted, running, unavailable)",
            ["outcome"],
        ),
        refreshes=Counter(
            "mlservice_refreshes",
            "Tenant refreshes by outcome (published, unchanged, skipped, failed)",
            ["tenant", "outcome"],
        ),
        refresh_users=Counter(
            "mlservice_refresh_users_folded",
            "Users folded into served models by refreshes, by tenant",
            ["tenant"],
        ),
        refresh_lag_seconds=Histogram(
            "mlservice_refresh_lag_seconds",
            "Freshness lag of a published refresh: from the change (a posted event's "
            "receipt, else the last check that saw none) to publication",
            buckets=(1, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
        ),
        refresh_seconds=Histogram(
            "mlservice_refresh_seconds",
            "Wall time of one tenant's refresh (check, load, fold-in, publish)",
            buckets=LATENCY_BUCKETS[6:] + (10, 30, 60, 120, 300),
        ),
        events=Counter(
            "mlservice_events",
            "POST /interactions records by outcome (accepted, rejected)",
            ["outcome"],
        ),
    )

"""One function per thing worth counting; each records into :func:`definitions.metrics`."""

from __future__ import annotations

from service.metrics.definitions import metrics

#: Exit status of ``python -m service.trainer_run`` -> run outcome label.
RUN_OUTCOMES = {
    0: "success",
    1: "failed_tenants",
    2: "not_started",
    3: "cut_short",
    4: "log_not_written",
    130: "stopped",
}


def run_outcome(exit_code: int, stopping: bool) -> str:
    """The ``outcome`` label of a finished training run."""
    if stopping and exit_code != 0:
        return "stopped"
    return RUN_OUTCOMES.get(exit_code, "crashed")


def training_run(outcome: str, seconds: float) -> None:
    """A whole training run finished (scheduler)."""
    m = metrics()
    m.training_runs.labels(outcome).inc()
    m.training_run_seconds.observe(seconds)


def training_running(running: bool) -> None:
    """A run started (True) or ended (False)."""
    metrics().training_running.set(1 if running else 0)


def tenant_training(tenant: str, outcome: str, seconds: float) -> None:
    """One tenant of a run finished (training child)."""
    m = metrics()
    m.tenant_trainings.labels(tenant, outcome).inc()
    m.tenant_training_seconds.labels(tenant).observe(seconds)


def download(kind: str, ok: bool, seconds: float) -> None:
    """The data source delivered (or failed to deliver) one export file."""
    m = metrics()
    m.downloads.labels(kind, "ok" if ok else "error").inc()
    m.download_seconds.labels(kind).observe(seconds)


def request(listener: str, endpoint: str, method: str, status: str, seconds: float) -> None:
    """One answered HTTP request."""
    m = metrics()
    m.requests.labels(listener, endpoint, method, status).inc()
    m.latency.labels(listener, endpoint).observe(seconds)


def auth_failure(listener: str, reason: str) -> None:
    """One rejected request."""
    metrics().auth_failures.labels(listener, reason).inc()


def model_reload(tenant: str, ok: bool) -> None:
    """A worker loaded (or failed to load) a tenant's new version."""
    metrics().reloads.labels(tenant, "loaded" if ok else "failed").inc()


def retrain_request(outcome: str) -> None:
    """``POST /retrain`` answered."""
    metrics().retrain_requests.labels(outcome).inc()


def refresh(tenant: str, outcome: str, seconds: float, users: int, lag: float | None) -> None:
    """One tenant's refresh finished (refresh child or ``mlservice refresh``)."""
    m = metrics()
    m.refreshes.labels(tenant, outcome).inc()
    m.refresh_seconds.observe(seconds)
    if users:
        m.refresh_users.labels(tenant).inc(users)
    if lag is not None:
        m.refresh_lag_seconds.observe(lag)


def events(outcome: str, count: int) -> None:
    """Records of one ``POST /interactions`` accepted or rejected."""
    metrics().events.labels(outcome).inc(count)

"""The ``/health-check`` steps (contract §4.5, §6.3, §13.3, §13.10, §13.15).

With ``ML_TOTARA_URL`` the Totara steps run in order and stop at the first
error; without it (export-folder mode) they are skipped. The model fields are
always added, also after a failed Totara step, plus per-tenant keys
(``model_version_<t>``, ...) that Totara displays verbatim.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from mlcore.config import Settings
from mlcore.errors import ConfigError
from mlcore.serving.tenant_model import TenantModel
from mlcore.totara.tls import tls_verify
from mlcore.training.candidates import CandidateRecord
from mlcore.training.train_log import last_training_summary
from service.model_summary import served_ndcg
from service.training_status import WHOLE_RUN, LastTraining, last_trainings

log = logging.getLogger(__name__)

NO_HOSTNAME = "Unable to get Totara instance hostname"
NO_DNS = "Unable to resolve the Totara instance hostname: {}"
NO_CONTACT = "Unable to communicate with Totara: {}"
NOT_OK = "Could not connect to Totara instance. Please check your URL is correct."
STATUS_PATH = "/totara/webapi/ajax.php"
STATUS_QUERY = {
    "operationName": "totara_webapi_status_nosession",
    "variables": {},
    "extensions": {},
}
STATUS_TIMEOUT = 1.5


DNS_TIMEOUT = 1.0


class _StepFailed(Exception):
    pass


def resolve_host(
    hostname: str,
    timeout: float = DNS_TIMEOUT,
    lookup: Callable[[str], str] = socket.gethostbyname,
) -> str:
    """IPv4 address of ``hostname``, giving up after ``timeout`` seconds.

    ``socket.gethostbyname`` has no timeout and a broken resolver can block for
    many seconds, longer than Totara waits; the lookup runs in a daemon thread.

    Raises:
        OSError: Resolution failed or timed out.
    """
    result: list[str | OSError] = []
    worker = threading.Thread(
        target=lambda: result.append(_lookup(lookup, hostname)), name="dns", daemon=True
    )
    worker.start()
    worker.join(timeout)
    if not result:
        raise OSError(f"timed out after {timeout:g} s")
    if isinstance(result[0], OSError):
        raise result[0]
    return result[0]


def _lookup(lookup: Callable[[str], str], hostname: str) -> str | OSError:
    try:
        return lookup(hostname)
    except OSError as exc:
        return exc


class HealthCheck:
    """Builds the health-check body.

    Args:
        settings: ``totara_url``, TLS settings and ``logs_dir`` apply.
        session: HTTP client for the GraphQL status query.
        resolve: Hostname -> IP address string (raises ``OSError``).
        timer: Monotonic seconds, for ``elapsed_seconds``.
    """

    def __init__(
        self,
        settings: Settings,
        session: requests.Session,
        resolve: Callable[[str], str] = resolve_host,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._settings = settings
        self._session = session
        self._resolve = resolve
        self._timer = timer

    def run(self, models: Mapping[str, TenantModel]) -> dict[str, Any]:
        """The body: ``success``, ``totara`` and, on failure, ``errors``."""
        block: dict[str, Any] = {}
        errors: list[str] = []
        if self._settings.totara_url:
            try:
                self._totara_steps(block)
            except _StepFailed as failure:
                errors.append(str(failure))
        block.update(self._model_fields(models))
        body: dict[str, Any] = {"success": not errors, "totara": block}
        if errors:
            body["errors"] = errors
        return body

    def _totara_steps(self, block: dict[str, Any]) -> None:
        url = self._settings.totara_url.rstrip("/")
        block["url"] = url
        hostname = urlsplit(url).hostname
        if not hostname:
            raise _StepFailed(NO_HOSTNAME)
        try:
            block["totara_ip"] = self._resolve(hostname)
        except OSError as exc:
            raise _StepFailed(NO_DNS.format(exc)) from None
        started = self._timer()
        try:
            response = self._session.post(
                url + STATUS_PATH,
                json=STATUS_QUERY,
                timeout=STATUS_TIMEOUT,
                verify=tls_verify(self._settings),
            )
            response.raise_for_status()
        except (requests.RequestException, ConfigError) as exc:
            raise _StepFailed(NO_CONTACT.format(exc)) from None
        finally:
            block["elapsed_seconds"] = round(self._timer() - started, 3)
        if not _status_ok(response):
            raise _StepFailed(NOT_OK)

    def _model_fields(self, models: Mapping[str, TenantModel]) -> dict[str, str]:
        trainings = last_trainings(self._settings.train_log_path)
        if not models:
            return {"recommendation_model": "false", **training_fields(models, trainings)}
        log_path = self._settings.train_log_path
        fields = {"recommendation_model": "true", "logs_file_exists": _flag(log_path.exists())}
        try:
            summary = last_training_summary(log_path)
        except Exception:  # noqa: BLE001 - a broken log must not break monitoring
            log.exception("cannot read %s for the health check", log_path)
            summary = None
        if summary is not None:
            fields["last_recommendation_model_training"] = summary
        for tenant in sorted(models):
            fields.update(tenant_fields(tenant, models[tenant]))
        fields.update(training_fields(models, trainings))
        return fields


def tenant_fields(tenant: str, model: TenantModel) -> dict[str, str]:
    """New per-tenant keys: version, training time, validation NDCG, backend, message,
    ``model_fallback_<t>`` when a kept version stands in for a broken current one, and
    ``model_candidates_<t>`` when candidates were trained (NDCG@10, weight, seconds)."""
    manifest = model.manifest
    trained_at = manifest.get("trained_at")
    fields = {
        f"model_version_{tenant}": model.version,
        f"model_trained_at_{tenant}": _iso(trained_at),
        f"model_validation_ndcg_{tenant}": _validation_ndcg(manifest),
        f"model_backend_{tenant}": str(manifest.get("backend", "")),
        f"model_message_{tenant}": model.message,
    }
    if model.fallback is not None:
        fields[f"model_fallback_{tenant}"] = (
            f"current version {model.fallback.current} cannot be served: "
            f"{model.fallback.reason}; serving kept version {model.version}"
        )
    candidates = _candidates(manifest)
    if candidates:
        fields[f"model_candidates_{tenant}"] = candidates
    return fields


def training_fields(
    models: Mapping[str, TenantModel], trainings: Mapping[str, LastTraining]
) -> dict[str, str]:
    """Per-tenant keys for failed latest trainings (``train_summary.log``).

    A tenant without a model says why in ``model_message_<t>``; a tenant whose
    latest training failed while an older model serves gets
    ``model_last_training_<t>``. A run that failed before any tenant shows as
    ``model_message_all`` while nothing is served.
    """
    fields: dict[str, str] = {}
    for tenant, training in sorted(trainings.items()):
        if not training.failed or (tenant == WHOLE_RUN and models):
            continue
        if tenant in models:
            fields[f"model_last_training_{tenant}"] = (
                f"failed ({training.timestamp}): {training.message}; "
                f"version {models[tenant].version} keeps serving"
            )
        else:
            fields[f"model_message_{tenant}"] = (
                f"No model: the last training ({training.timestamp}) failed: {training.message}"
            )
    return fields


def _candidates(manifest: Mapping[str, Any]) -> str:
    """``"lightfm ndcg 0.1049 weight 1 30 s; ease ..."`` from the manifest's selection."""
    selection = manifest.get("selection")
    if not isinstance(selection, Mapping) or not isinstance(selection.get("candidates"), list):
        return ""
    records = [CandidateRecord.from_dict(c) for c in selection["candidates"] if isinstance(c, Mapping)]
    return "; ".join(record.summary() for record in records)


def _status_ok(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        body = body["data"]
    status = body.get("totara_webapi_status") if isinstance(body, dict) else None
    return isinstance(status, dict) and status.get("status") == "ok"


def _validation_ndcg(manifest: Mapping[str, Any]) -> str:
    ndcg = served_ndcg(manifest)
    return "" if ndcg is None else f"{ndcg:.4f}"


def _iso(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    return datetime.fromtimestamp(float(value), UTC).isoformat(timespec="seconds")


def _flag(value: bool) -> str:
    return "true" if value else "false"

"""Data source plugin ``totara``: downloads export files from a Totara site over HTTP.

Selected when ``ML_TOTARA_URL`` is set. Each file is fetched with
``GET <url>/pluginfile.php/1/ml_recommender/export/<name>`` and fresh token
headers (contract §6.1, §3.3). Answers: 200 is the file; 204 for ``tenants.csv``
means "no multitenancy" (tenant ``0``); 202 means "export not ready" and is
retried with a doubling, capped wait; anything else is a :class:`DataSourceError`
whose message never contains the key or a token. TLS certificates are verified by
default (``ML_TLS_VERIFY``, ``ML_CA_BUNDLE``). See ``docs/totara-source.md``.

Time: ``ML_DOWNLOAD_TIMEOUT`` bounds connecting and each read, which a server sending
one byte at a time never exceeds; ``ML_DOWNLOAD_DEADLINE`` bounds each request from
connecting to its last byte. ``requests`` has no total deadline, so every request
runs in a helper thread that is given up at the deadline (its socket shut down, so
the thread ends too).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from mlcore.config import Settings
from mlcore.errors import ConfigError, DataSourceError
from mlcore.hookspecs import hookimpl
from mlcore.plugin_records import DataSourceRecord
from mlcore.totara.tls import tls_verify
from mlcore.totara.token import signed_headers

log = logging.getLogger(__name__)

EXPORT_PATH = "/pluginfile.php/1/ml_recommender/export/"
TENANTS_FILE = "tenants.csv"
#: What ``tenants.csv`` means when Totara answers 204 (multitenancy off).
NO_MULTITENANCY = b"tenants\n0\n"
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class TotaraSourceOptions:
    """Options of the ``totara`` data source (timeouts and retries are settings).

    Attributes:
        url: Base URL of the Totara site; empty means ``ML_TOTARA_URL``.
        max_file_bytes: Largest file accepted; a larger answer is refused while
            streaming. 0: ``ML_MAX_EXPORT_BYTES``.
        max_retry_wait: Cap in seconds of the doubling wait between 202 retries.
    """

    url: str = ""
    max_file_bytes: int = 0
    max_retry_wait: float = 600.0


@dataclass(frozen=True)
class DownloadPolicy:
    """How hard to try: from ``ML_DOWNLOAD_*`` settings and the options.

    Attributes:
        timeout: Seconds for connecting and for each read.
        deadline: Seconds for one request in total, connecting to last byte.
        retries: Retries after a 202 answer (so at most ``retries + 1`` requests).
        retry_wait: Seconds before the first retry; doubles for each further one.
        max_retry_wait: Cap of the wait.
        max_file_bytes: Largest file accepted.
        size_setting: What sets ``max_file_bytes``, named in the error.
    """

    timeout: float = 30.0
    deadline: float = 600.0
    retries: int = 3
    retry_wait: float = 60.0
    max_retry_wait: float = 600.0
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    size_setting: str = "ML_MAX_EXPORT_BYTES"

    def wait_before_retry(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        return float(min(self.retry_wait * 2 ** (retry - 1), self.max_retry_wait))


class TotaraSource:
    """Reads export files from Totara's ``pluginfile.php`` endpoint.

    Args:
        base_url: ``ML_TOTARA_URL``; trailing ``/`` is stripped (contract §13.3).
        key: The shared secret (never logged).
        session: The HTTP session (tests pass one pointed at a fake Totara).
        policy: Timeouts, retries and size limit.
        verify: ``requests`` ``verify=``: True, a CA bundle path, or False.
        clock: Unix time for the token headers.
        sleep: Waits between 202 retries (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        session: requests.Session,
        policy: DownloadPolicy = DownloadPolicy(),
        verify: bool | str = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.session = session
        self.policy = policy
        self.verify = verify
        self.clock = clock
        self.sleep = sleep
        self._warned_insecure = False

    def read_file(self, name: str) -> bytes:
        url = self._file_url(name)
        for attempt in range(self.policy.retries + 1):
            if attempt:
                self.sleep(self.policy.wait_before_retry(attempt))
            answer = self._within_deadline(url, name)
            if answer.status == 200:
                return answer.body
            if answer.status == 204 and name == TENANTS_FILE:
                return NO_MULTITENANCY
            if answer.status != 202:
                raise DataSourceError(self._status_message(name, answer.status, answer.location))
            log.info("Totara answered 202 (export not ready) for %s, attempt %d", name, attempt + 1)
        raise DataSourceError(
            f"Totara still answers 202 (export not ready) for {name} after "
            f"{self.policy.retries + 1} requests to {self.describe()}; "
            "check that Totara's recommender export task has completed"
        )

    def describe(self) -> str:
        return f"Totara at {redact_url(self.base_url)}"

    def _file_url(self, name: str) -> str:
        if not self.base_url.lower().startswith(("http://", "https://")):
            raise DataSourceError(
                f"ML_TOTARA_URL {redact_url(self.base_url)!r} must start with http:// or "
                f"https://; {name} was not requested"
            )
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise DataSourceError(f"refusing export file name {name!r}")
        return self.base_url + EXPORT_PATH + name

    def _within_deadline(self, url: str, name: str) -> _Answer:
        """One request in a helper thread, given up after ``policy.deadline`` seconds."""
        transfer = _Transfer(lambda: self._request(url, name, transfer))
        worker = threading.Thread(target=transfer.run, name=f"download {name}", daemon=True)
        worker.start()
        worker.join(self.policy.deadline)
        if worker.is_alive():
            transfer.abandon()
            raise DataSourceError(
                f"downloading {name} from {self.describe()} took longer than "
                f"{self.policy.deadline:g} s (ML_DOWNLOAD_DEADLINE); it was abandoned"
            )
        return transfer.result()

    def _request(self, url: str, name: str, transfer: _Transfer) -> _Answer:
        response = self._get(url, name)
        transfer.response = response
        with response:
            status = response.status_code
            if status == 200:
                return _Answer(status, self._read_body(response, name))
            return _Answer(status, location=redact_url(response.headers.get("Location", "")))

    def _get(self, url: str, name: str) -> requests.Response:
        headers = signed_headers(self._key, self.clock)
        try:
            with warnings.catch_warnings():
                if self.verify is False:
                    self._warn_insecure_once()
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                # Redirects are not followed: the token headers must not reach another host.
                return self.session.get(
                    url,
                    headers=headers,
                    timeout=self.policy.timeout,
                    verify=self.verify,
                    stream=True,
                    allow_redirects=False,
                )
        except requests.exceptions.Timeout:
            raise DataSourceError(
                f"downloading {name} from {self.describe()} timed out after "
                f"{self.policy.timeout:g} s (ML_DOWNLOAD_TIMEOUT)"
            ) from None
        except requests.exceptions.SSLError as exc:
            raise DataSourceError(
                f"TLS error downloading {name} from {self.describe()}: {self._scrub(exc)}; "
                "set ML_CA_BUNDLE to the CA that signed Totara's certificate"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise DataSourceError(
                f"cannot download {name} from {self.describe()}: {self._scrub(exc)}"
            ) from None

    def _read_body(self, response: requests.Response, name: str) -> bytes:
        limit = self.policy.max_file_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise DataSourceError(self._too_big(name, f"declares {declared} bytes"))
        body = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
                body += chunk
                if len(body) > limit:
                    raise DataSourceError(self._too_big(name, f"sent more than {limit} bytes"))
        except requests.exceptions.RequestException as exc:
            raise DataSourceError(
                f"download of {name} from {self.describe()} broke off after {len(body)} bytes: "
                f"{self._scrub(exc)}"
            ) from None
        # With a Content-Encoding, Content-Length counts compressed bytes (urllib3
        # already refuses a short compressed body).
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if declared.isdigit() and not encoded and len(body) != int(declared):
            raise DataSourceError(
                f"download of {name} from {self.describe()} is truncated: "
                f"{len(body)} of {declared} bytes"
            )
        return bytes(body)

    def _too_big(self, name: str, what: str) -> str:
        return (
            f"{name} from {self.describe()} {what}, more than the limit of "
            f"{self.policy.max_file_bytes} bytes ({self.policy.size_setting})"
        )

    def _status_message(self, name: str, status: int, location: str = "") -> str:
        if 300 <= status < 400:
            return (
                f"Totara answered HTTP {status} for {name} from {self.describe()}, a redirect "
                f"to {location or 'an unnamed location'}; redirects are not followed, so the "
                "token is never sent elsewhere: set ML_TOTARA_URL to the site's final address"
            )
        hints = {
            204: "Totara has no such file (204 is only expected for tenants.csv)",
            404: "check ML_TOTARA_KEY (equal to Totara's ml_service_key), that both clocks "
            "agree within 30 s, and that the file is part of the export",
        }
        hint = hints.get(status, "Totara or a proxy in front of it reported an error")
        return f"Totara answered HTTP {status} for {name} from {self.describe()}: {hint}"

    def _warn_insecure_once(self) -> None:
        if not self._warned_insecure:
            self._warned_insecure = True
            log.warning(
                "TLS certificate verification towards %s is OFF (ML_TLS_VERIFY=false); "
                "anyone on the path can read the export and the token",
                redact_url(self.base_url),
            )

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc)
        if self._key:
            text = text.replace(self._key, "***")
        return text


@dataclass(frozen=True)
class _Answer:
    """Status of one request; the body of a 200, the ``Location`` of a redirect."""

    status: int
    body: bytes = b""
    location: str = ""


@dataclass
class _Transfer:
    """One request running in a helper thread: its outcome, and its response to abandon."""

    work: Callable[[], _Answer]
    response: requests.Response | None = None
    _outcome: list[_Answer | BaseException] = field(default_factory=list)

    def run(self) -> None:
        try:
            self._outcome.append(self.work())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._outcome.append(exc)

    def result(self) -> _Answer:
        outcome = self._outcome[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def abandon(self) -> None:
        """Shut the response's socket, so a read blocked in the helper thread ends now."""
        connection = getattr(getattr(self.response, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)


def redact_url(url: str) -> str:
    """``url`` without user name, password, query or fragment (for messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _make(
    *,
    options: TotaraSourceOptions,
    settings: Settings,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> TotaraSource:
    url = options.url or settings.totara_url
    if not url:
        raise ConfigError("The totara data source needs ML_TOTARA_URL (the Totara site's URL)")
    if not settings.effective_key:
        raise ConfigError("The totara data source needs ML_TOTARA_KEY (Totara's ml_service_key)")
    policy = DownloadPolicy(
        timeout=settings.download_timeout,
        deadline=settings.download_deadline,
        retries=max(0, settings.download_retries),
        retry_wait=max(0.0, settings.download_retry_wait),
        max_retry_wait=options.max_retry_wait,
        max_file_bytes=options.max_file_bytes or settings.max_export_bytes,
        size_setting=(
            "totara option max_file_bytes" if options.max_file_bytes else "ML_MAX_EXPORT_BYTES"
        ),
    )
    return TotaraSource(
        url,
        settings.effective_key,
        session=session if session is not None else requests.Session(),
        policy=policy,
        verify=tls_verify(settings),
        sleep=sleep,
    )


@hookimpl
def mlcore_data_sources() -> list[DataSourceRecord]:
    return [
        DataSourceRecord(
            name="totara",
            factory=_make,
            options_type=TotaraSourceOptions,
            description="Downloads the export from a Totara site (ML_TOTARA_URL, ML_TOTARA_KEY)",
        )
    ]

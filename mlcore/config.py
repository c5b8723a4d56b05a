"""Settings from ``ML_*`` environment variables and an optional TOML file.

The original service's variables keep their names, meanings and defaults
(contract §10). New settings are ``ML_*`` too. Precedence: environment, then the
file named by ``ML_CONFIG_FILE`` (keys are the variable names, e.g.
``ML_NUM_THREADS = 2``), then the defaults below. Secrets come only from the
environment and never appear in ``repr`` or logs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlcore.errors import QUOTE_LIMIT, ConfigError, quoted, shortened

Algorithm = Literal["hybrid", "partial", "mf"]
SeenItems = Literal["exclude", "downrank"]
UnknownUser = Literal["popular", "error"]
LogFormat = Literal["text", "json"]

#: Settings that may only come from the environment (never from a file).
SECRET_VARIABLES = frozenset({"ML_TOTARA_KEY", "ML_ADMIN_KEY"})

#: The fixed key the original uses in testing mode (FLASK_ENV=Testing). Tests only.
TESTING_KEY = "secretkey"


@dataclass(frozen=True)
class Settings:
    """Every setting of the service, CLI and trainer. See README "Configuration"."""

    totara_url: str = ""
    totara_key: str = field(default="", repr=False)
    models_dir: Path = Path("data/models")
    logs_dir: Path = Path("data/logs")
    retrain_freq_minutes: float = 1440.0
    num_threads: int = 4
    algorithm: Algorithm = "hybrid"
    bind: str = "127.0.0.1:5000"
    dev: bool = False
    environment: str = "Production"
    # New settings of this project.
    recommender: str = "lightfm"
    recommender_options: Mapping[str, Any] = field(default_factory=dict)
    data_source: str = ""
    data_source_options: Mapping[str, Any] = field(default_factory=dict)
    data_dir: Path | None = None
    model_store: str = "filesystem"
    model_store_options: Mapping[str, Any] = field(default_factory=dict)
    keep_versions: int = 5
    seed: int = 42
    workers: int = 2
    max_n_items: int = 1000
    seen_items: SeenItems = "exclude"
    unknown_user: UnknownUser = "popular"
    tls_verify: bool = True
    ca_bundle: str = ""
    download_timeout: float = 30.0
    download_retries: int = 3
    download_retry_wait: float = 60.0
    tuning_trials: int = 20
    tuning_timeout: float = 240.0
    training_budget: float = 280.0
    reload_interval: float = 2.0
    admin_bind: str = "127.0.0.1:5001"
    admin_key: str = field(default="", repr=False)
    log_format: LogFormat = "text"
    access_log: bool = True
    log_user_ids: bool = False
    training_retry_minutes: float = 2.0
    tuning_report_dir: Path = Path("tuning-report")
    metrics_dir: Path | None = None
    download_deadline: float = 600.0
    training_run_deadline: float = 0.0
    max_export_bytes: int = 2 * 1024**3
    blend: str = "auto"
    training_wall_cap: float = 900.0
    executor: str = "local"
    executor_options: Mapping[str, Any] = field(default_factory=dict)
    training_processes: int = 1
    refresh_interval: float = 300.0
    event_intake: bool = False
    event_max_bytes: int = 1024 * 1024
    event_max_records: int = 10_000

    @property
    def testing(self) -> bool:
        """True in the original's testing mode (``FLASK_ENV=Testing``)."""
        return self.environment == "Testing"

    @property
    def effective_key(self) -> str:
        """The shared secret; the fixed testing key only in testing mode."""
        if self.testing and not self.totara_key:
            return TESTING_KEY
        return self.totara_key

    @property
    def data_source_name(self) -> str:
        """The data source: explicit, else ``totara`` with a URL, else ``export-folder``."""
        if self.data_source:
            return self.data_source
        return "totara" if self.totara_url else "export-folder"

    @property
    def run_deadline_seconds(self) -> float:
        """Seconds a scheduled training run may take: ``ML_TRAINING_RUN_DEADLINE``, or
        one retrain interval when that is 0."""
        return self.training_run_deadline or self.retrain_freq_minutes * 60.0

    @property
    def train_log_path(self) -> Path:
        """``<ML_LOGS_DIR>/train_summary.log`` (contract §8.10)."""
        return self.logs_dir / "train_summary.log"

    @property
    def prometheus_dir(self) -> Path:
        """``ML_METRICS_DIR``, else ``<ML_LOGS_DIR>/prometheus``."""
        return self.metrics_dir or self.logs_dir / "prometheus"


# variable name -> (field name, parser)
def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true/false")


def _parse_json_object(text: str) -> dict[str, Any]:
    value = json.loads(text) if text.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _parse_blend(text: str) -> str:
    """``auto``, ``off`` or a comma-separated list of backend names (normalised)."""
    value = text.strip().lower()
    if value in ("auto", "off"):
        return value
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names or any(not name.replace("-", "").replace("_", "").isalnum() for name in names):
        raise ValueError("expected auto, off or a comma-separated list of recommender names")
    return ",".join(names)


def _choice(*choices: str) -> Any:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return text

    return parse


VARIABLES: dict[str, tuple[str, Any, str]] = {
    "ML_TOTARA_URL": (
        "totara_url",
        str,
        "Base URL of the Totara site; selects the `totara` data source",
    ),
    "ML_TOTARA_KEY": (
        "totara_key",
        str,
        "Shared secret, Totara's $CFG->ml_service_key (environment only)",
    ),
    "ML_MODELS_DIR": ("models_dir", Path, "Model store folder"),
    "ML_LOGS_DIR": ("logs_dir", Path, "Folder of train_summary.log and trainer logs"),
    "ML_RECOMMENDATION_RETRAIN_FREQ": (
        "retrain_freq_minutes",
        float,
        "Minutes between training runs",
    ),
    "ML_NUM_THREADS": ("num_threads", int, "Threads for training"),
    "ML_RECOMMENDATION_ALGORITHM": (
        "algorithm",
        _choice("hybrid", "partial", "mf"),
        "LightFM mode",
    ),
    "ML_BIND": ("bind", str, "Listen address host:port; `*` means all interfaces"),
    "ML_DEV": ("dev", _parse_bool, "1 runs one worker with reload-friendly logging"),
    "FLASK_ENV": ("environment", lambda t: t.strip().title(), "Production, Development or Testing"),
    "ML_RECOMMENDER": ("recommender", str, "Recommender plugin name"),
    "ML_RECOMMENDER_OPTIONS": (
        "recommender_options",
        _parse_json_object,
        "JSON object of the recommender's options",
    ),
    "ML_DATA_SOURCE": (
        "data_source",
        str,
        "Data-source plugin name (default: totara with a URL, else export-folder)",
    ),
    "ML_DATA_SOURCE_OPTIONS": (
        "data_source_options",
        _parse_json_object,
        "JSON object of the data source's options (e.g. max_file_bytes)",
    ),
    "ML_MODEL_STORE_OPTIONS": (
        "model_store_options",
        _parse_json_object,
        "JSON object of the model store's options (e.g. verify)",
    ),
    "ML_DATA_DIR": ("data_dir", Path, "Export folder for the export-folder data source"),
    "ML_MODEL_STORE": ("model_store", str, "Model-store plugin name"),
    "ML_KEEP_VERSIONS": ("keep_versions", int, "Model versions kept per tenant"),
    "ML_SEED": ("seed", int, "Seed of splits, tuning and training"),
    "ML_WORKERS": ("workers", int, "gunicorn worker processes"),
    "ML_MAX_N_ITEMS": ("max_n_items", int, "Largest n_items accepted by the API"),
    "ML_SEEN_ITEMS": (
        "seen_items",
        _choice("exclude", "downrank"),
        "exclude positives, or the original's downrank",
    ),
    "ML_UNKNOWN_USER": (
        "unknown_user",
        _choice("popular", "error"),
        "popular items, or the original's error",
    ),
    "ML_TLS_VERIFY": ("tls_verify", _parse_bool, "Verify Totara's TLS certificate"),
    "ML_CA_BUNDLE": ("ca_bundle", str, "CA bundle file for Totara's certificate"),
    "ML_DOWNLOAD_TIMEOUT": ("download_timeout", float, "Seconds per export download"),
    "ML_DOWNLOAD_RETRIES": ("download_retries", int, "Retries after a 202 answer"),
    "ML_DOWNLOAD_RETRY_WAIT": (
        "download_retry_wait",
        float,
        "Seconds before the first retry (doubles)",
    ),
    "ML_TUNING_TRIALS": (
        "tuning_trials",
        int,
        "Hyperparameter trials per tenant (0 disables tuning)",
    ),
    "ML_TUNING_TIMEOUT": (
        "tuning_timeout",
        float,
        "CPU seconds of tuning per backend and tenant at most",
    ),
    "ML_TRAINING_BUDGET": (
        "training_budget",
        float,
        "Process CPU seconds per tenant from loading to the end of the final fit, tuning "
        "and blend partners included, so a busy machine trains the same model "
        "(0: no limit but ML_TUNING_TIMEOUT)",
    ),
    "ML_RELOAD_INTERVAL": (
        "reload_interval",
        float,
        "Seconds between a worker's checks for new models",
    ),
    "ML_ADMIN_BIND": (
        "admin_bind",
        str,
        "Admin listener host:port (/metrics, dashboard, /retrain); empty disables it",
    ),
    "ML_ADMIN_KEY": (
        "admin_key",
        str,
        "Key of the admin listener (bearer or basic password; environment only); "
        "required when ML_ADMIN_BIND is not loopback",
    ),
    "ML_LOG_FORMAT": ("log_format", _choice("text", "json"), "text, or json: one object per line"),
    "ML_ACCESS_LOG": ("access_log", _parse_bool, "Log one line per request (0 turns it off)"),
    "ML_LOG_USER_IDS": (
        "log_user_ids",
        _parse_bool,
        "1 keeps totara_user_id in access-log query strings (default: replaced by -)",
    ),
    "ML_TRAINING_RETRY_MINUTES": (
        "training_retry_minutes",
        float,
        "First retry after a failed training that left a tenant without a model "
        "(doubles, capped by ML_RECOMMENDATION_RETRAIN_FREQ)",
    ),
    "ML_TUNING_REPORT_DIR": (
        "tuning_report_dir",
        Path,
        "Report folder of mlservice tune, shown on the admin dashboard",
    ),
    "ML_METRICS_DIR": (
        "metrics_dir",
        Path,
        "Prometheus multiprocess folder (default <ML_LOGS_DIR>/prometheus; emptied at start)",
    ),
    "ML_DOWNLOAD_DEADLINE": (
        "download_deadline",
        float,
        "Seconds one export download may take in total, connecting to last byte",
    ),
    "ML_TRAINING_RUN_DEADLINE": (
        "training_run_deadline",
        float,
        "Seconds a scheduled training run may take (0: one retrain interval)",
    ),
    "ML_MAX_EXPORT_BYTES": (
        "max_export_bytes",
        int,
        "Largest export file accepted, in bytes (gzip counted decoded)",
    ),
    "ML_BLEND": (
        "blend",
        lambda t: _parse_blend(t),
        "auto: also train ease, sequence and implicit-als and serve a blend when it beats "
        "ML_RECOMMENDER on validation; off: ML_RECOMMENDER alone; or a comma-separated "
        "list of partner backends",
    ),
    "ML_TRAINING_WALL_CAP": (
        "training_wall_cap",
        float,
        "Wall-clock seconds per tenant after which no further candidate starts, logged "
        "(a safety cap; the budget itself is ML_TRAINING_BUDGET CPU seconds; 0: none)",
    ),
    "ML_EXECUTOR": (
        "executor",
        str,
        "Executor plugin that runs the trainer's units of work: local (this machine) or dask",
    ),
    "ML_EXECUTOR_OPTIONS": (
        "executor_options",
        _parse_json_object,
        'JSON object of the executor\'s options (dask: {"address": "tcp://host:8786"})',
    ),
    "ML_TRAINING_PROCESSES": (
        "training_processes",
        int,
        "local executor: tenants trained at once, each in its own process, sharing "
        "ML_NUM_THREADS (1: one after another in the training process, as before)",
    ),
    "ML_REFRESH_INTERVAL": (
        "refresh_interval",
        float,
        "Seconds between refresh cycles that fold changed users (and posted events) into "
        "the served models between full retrains (0: no refreshes)",
    ),
    "ML_EVENT_INTAKE": (
        "event_intake",
        _parse_bool,
        "Accept signed interaction events on POST /interactions (folded in by the next refresh)",
    ),
    "ML_EVENT_MAX_BYTES": (
        "event_max_bytes",
        int,
        "Largest POST /interactions body, in bytes",
    ),
    "ML_EVENT_MAX_RECORDS": (
        "event_max_records",
        int,
        "Most records in one POST /interactions body",
    ),
    "ML_OFFENSIVE_LANGUAGE_LENGTH": ("", str, "Accepted and ignored (original)"),
    "ML_MODELS_GIT_HTTPS": ("", str, "Accepted and ignored (original)"),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) and ``ML_CONFIG_FILE``.

    Raises:
        ConfigError: Naming the variable (and file) whose value is invalid.
    """
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, tuple[str, str]] = {}
    config_file = env.get("ML_CONFIG_FILE", "")
    if config_file:
        for name, value in _read_config_file(Path(config_file)).items():
            raw[name] = (
                str(value) if not isinstance(value, dict) else json.dumps(value),
                config_file,
            )
    for name in VARIABLES:
        if name in env:
            raw[name] = (env[name], "environment")
    values: dict[str, Any] = {}
    for name, (text, origin) in raw.items():
        field_name, parse, _ = VARIABLES[name]
        if not field_name:
            continue
        try:
            values[field_name] = parse(text)
        except (ValueError, json.JSONDecodeError) as exc:
            problem = shortened(str(exc), QUOTE_LIMIT)
            raise ConfigError(f"{name}={quoted(text)} ({origin}) is invalid: {problem}") from None
    settings = Settings(**values)
    return _validated(settings)


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"ML_CONFIG_FILE {path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"ML_CONFIG_FILE {path}: invalid TOML: {exc}") from None
    unknown = sorted(set(data) - set(VARIABLES))
    if unknown:
        raise ConfigError(f"ML_CONFIG_FILE {path}: unknown setting(s) {', '.join(unknown)}")
    secret = sorted(set(data) & SECRET_VARIABLES)
    if secret:
        raise ConfigError(
            f"ML_CONFIG_FILE {path}: {', '.join(secret)} may only be set in the environment"
        )
    return data


def _validated(settings: Settings) -> Settings:
    checks = [
        (settings.retrain_freq_minutes > 0, "ML_RECOMMENDATION_RETRAIN_FREQ must be > 0"),
        (settings.num_threads >= 1, "ML_NUM_THREADS must be >= 1"),
        (settings.keep_versions >= 1, "ML_KEEP_VERSIONS must be >= 1"),
        (settings.workers >= 1, "ML_WORKERS must be >= 1"),
        (settings.max_n_items >= 1, "ML_MAX_N_ITEMS must be >= 1"),
        (settings.tuning_trials >= 0, "ML_TUNING_TRIALS must be >= 0"),
        (settings.training_budget >= 0, "ML_TRAINING_BUDGET must be >= 0"),
        (settings.training_retry_minutes > 0, "ML_TRAINING_RETRY_MINUTES must be > 0"),
        (settings.download_deadline > 0, "ML_DOWNLOAD_DEADLINE must be > 0"),
        (settings.training_run_deadline >= 0, "ML_TRAINING_RUN_DEADLINE must be >= 0"),
        (settings.max_export_bytes >= 1, "ML_MAX_EXPORT_BYTES must be >= 1"),
        (settings.training_wall_cap >= 0, "ML_TRAINING_WALL_CAP must be >= 0"),
        (settings.training_processes >= 1, "ML_TRAINING_PROCESSES must be >= 1"),
        (settings.refresh_interval >= 0, "ML_REFRESH_INTERVAL must be >= 0"),
        (settings.event_max_bytes >= 1, "ML_EVENT_MAX_BYTES must be >= 1"),
        (settings.event_max_records >= 1, "ML_EVENT_MAX_RECORDS must be >= 1"),
        (
            settings.totara_url == ""
            or settings.totara_url.lower().startswith(("http://", "https://")),
            "ML_TOTARA_URL must start with http:// or https://",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    return settings


def settings_with(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with some fields changed (validated)."""
    return _validated(dataclasses.replace(settings, **changes))

"""Settings from ``ML_*`` variables and ``ML_CONFIG_FILE``: defaults, parsing, errors, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcore.config import TESTING_KEY, VARIABLES, Settings, load_settings, settings_with
from mlcore.errors import ConfigError

KEY = "s3cr3t-Key-value"


def test_defaults_are_the_contracts() -> None:
    settings = load_settings({})
    # Contract §10.
    assert settings.totara_url == "" and settings.totara_key == ""
    assert settings.models_dir == Path("data/models")
    assert settings.logs_dir == Path("data/logs")
    assert settings.retrain_freq_minutes == 1440
    assert settings.num_threads == 4
    assert settings.algorithm == "hybrid"
    assert settings.bind == "127.0.0.1:5000"
    assert settings.dev is False
    assert settings.environment == "Production" and not settings.testing
    assert settings.train_log_path == Path("data/logs/train_summary.log")
    assert settings == Settings()


def test_every_variable_is_parsed_into_its_field() -> None:
    environ = {
        "ML_TOTARA_URL": "https://totara.example/",
        "ML_TOTARA_KEY": KEY,
        "ML_MODELS_DIR": "/srv/models",
        "ML_RECOMMENDATION_RETRAIN_FREQ": "30.5",
        "ML_NUM_THREADS": "2",
        "ML_RECOMMENDATION_ALGORITHM": "mf",
        "ML_DEV": "1",
        "FLASK_ENV": "testing",
        "ML_RECOMMENDER_OPTIONS": '{"epochs": 3, "loss": "bpr"}',
        "ML_KEEP_VERSIONS": "7",
        "ML_SEEN_ITEMS": "downrank",
        "ML_UNKNOWN_USER": "error",
        "ML_TLS_VERIFY": "no",
        "ML_DATA_DIR": "/data/export",
        "ML_OFFENSIVE_LANGUAGE_LENGTH": "1500",
        "ML_MODELS_GIT_HTTPS": "1",
    }
    settings = load_settings(environ)
    assert settings.totara_url == "https://totara.example/"
    assert settings.models_dir == Path("/srv/models") and settings.data_dir == Path("/data/export")
    assert settings.retrain_freq_minutes == 30.5 and settings.num_threads == 2
    assert settings.algorithm == "mf" and settings.dev is True
    assert settings.environment == "Testing" and settings.testing
    assert settings.recommender_options == {"epochs": 3, "loss": "bpr"}
    assert settings.keep_versions == 7 and settings.tls_verify is False
    assert (settings.seen_items, settings.unknown_user) == ("downrank", "error")
    assert settings.data_source_name == "totara"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("ML_NUM_THREADS", "two", "ML_NUM_THREADS='two' (environment) is invalid"),
        ("ML_RECOMMENDATION_ALGORITHM", "deep", "expected one of hybrid, partial, mf"),
        ("ML_DEV", "maybe", "ML_DEV='maybe'"),
        ("ML_RECOMMENDER_OPTIONS", "{bad json", "ML_RECOMMENDER_OPTIONS"),
        ("ML_RECOMMENDER_OPTIONS", "[1, 2]", "expected a JSON object"),
        ("ML_RECOMMENDATION_RETRAIN_FREQ", "0", "ML_RECOMMENDATION_RETRAIN_FREQ must be > 0"),
        ("ML_NUM_THREADS", "0", "ML_NUM_THREADS must be >= 1"),
        ("ML_KEEP_VERSIONS", "0", "ML_KEEP_VERSIONS must be >= 1"),
        ("ML_TOTARA_URL", "totara.example", "ML_TOTARA_URL must start with http"),
        ("ML_SEEN_ITEMS", "hide", "ML_SEEN_ITEMS"),
        ("ML_TRAINING_BUDGET", "-1", "ML_TRAINING_BUDGET must be >= 0"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_settings({name: value})


def test_the_key_never_shows_in_repr_or_errors() -> None:
    settings = load_settings({"ML_TOTARA_KEY": KEY})
    assert settings.totara_key == KEY and settings.effective_key == KEY
    assert KEY not in repr(settings) and KEY not in str(settings)


def test_testing_key_only_in_testing_mode() -> None:
    assert load_settings({}).effective_key == ""
    assert load_settings({"FLASK_ENV": "Testing"}).effective_key == TESTING_KEY
    assert load_settings({"FLASK_ENV": "Testing", "ML_TOTARA_KEY": KEY}).effective_key == KEY


def test_data_source_defaults_to_the_export_folder_without_a_url() -> None:
    assert load_settings({}).data_source_name == "export-folder"
    assert load_settings({"ML_DATA_SOURCE": "mine"}).data_source_name == "mine"


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mlservice.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_config_file_values_with_environment_precedence(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        'ML_NUM_THREADS = 2\nML_DEV = true\nML_MODELS_DIR = "/m"\n'
        "ML_RECOMMENDATION_RETRAIN_FREQ = 60\n[ML_RECOMMENDER_OPTIONS]\nepochs = 5\n",
    )
    settings = load_settings({"ML_CONFIG_FILE": path, "ML_NUM_THREADS": "3"})
    assert settings.num_threads == 3  # the environment wins
    assert settings.dev is True and settings.models_dir == Path("/m")
    assert settings.retrain_freq_minutes == 60.0
    assert settings.recommender_options == {"epochs": 5}


def test_config_file_errors_name_the_file_and_the_setting(tmp_path: Path) -> None:
    secret = _file(tmp_path, f'ML_TOTARA_KEY = "{KEY}"\n')
    with pytest.raises(
        ConfigError, match="ML_TOTARA_KEY may only be set in the environment"
    ) as info:
        load_settings({"ML_CONFIG_FILE": secret})
    assert KEY not in str(info.value)
    admin = _file(tmp_path, f'ML_ADMIN_KEY = "{KEY}"\n')
    with pytest.raises(ConfigError, match="ML_ADMIN_KEY may only be set in the environment"):
        load_settings({"ML_CONFIG_FILE": admin})
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({"ML_CONFIG_FILE": _file(tmp_path, "ML_NUM_THREAD = 2\n")})
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings({"ML_CONFIG_FILE": _file(tmp_path, "ML_NUM_THREADS = \n")})
    bad_value = _file(tmp_path, 'ML_NUM_THREADS = "many"\n')
    with pytest.raises(ConfigError, match=r"ML_NUM_THREADS='many' \(.*mlservice.toml\)"):
        load_settings({"ML_CONFIG_FILE": bad_value})
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings({"ML_CONFIG_FILE": str(tmp_path / "missing.toml")})


def test_settings_with_validates() -> None:
    assert settings_with(Settings(), num_threads=8).num_threads == 8
    with pytest.raises(ConfigError, match="ML_WORKERS"):
        settings_with(Settings(), workers=0)


_INT_VARIABLES = [name for name, (_f, parse, _m) in VARIABLES.items() if parse is int]


@given(st.sampled_from(_INT_VARIABLES), st.integers(1, 10**9))
def test_integer_variables_round_trip(name: str, value: int) -> None:
    settings = load_settings({name: str(value)})
    assert getattr(settings, VARIABLES[name][0]) == value


@given(st.floats(0.001, 1e9, allow_nan=False))
def test_float_variables_round_trip(value: float) -> None:
    settings = load_settings({"ML_RECOMMENDATION_RETRAIN_FREQ": repr(value)})
    assert settings.retrain_freq_minutes == value
    settings = load_settings({"ML_TRAINING_BUDGET": repr(value)})
    assert settings.training_budget == value


@given(st.sampled_from(["1", "true", "TRUE", "yes", "on", "0", "false", "no", "off", ""]))
def test_boolean_spellings(text: str) -> None:
    expected = text.lower() in ("1", "true", "yes", "on")
    assert load_settings({"ML_DEV": text}).dev is expected

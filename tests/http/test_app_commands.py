"""Pure parts of the serve/call/demo commands (the processes are tested in test_serve_gunicorn)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from mlcore.errors import ConfigError
from mlcore.totara.token import make_token
from service.commands.call_command import signed_request_headers
from service.commands.demo_command import demo_environment
from service.commands.serve_command import NO_KEY, serve


def test_call_headers_are_totaras() -> None:
    headers = signed_request_headers("abc123", 123456.9)
    assert headers == {
        "X-Totara-Time": "123456",
        "X-Totara-Ml-Key": "a44934344c553000cb198d77cae685d33563617a01b17dc60d45a5557ad9c21d",
        "User-Agent": "TotaraBot/1.0",
    }
    assert headers["X-Totara-Ml-Key"] == make_token("123456", "abc123")


def test_demo_environment_makes_a_demo_only_key_and_uses_the_folder(tmp_path: Path) -> None:
    base = {"ML_TOTARA_URL": "https://totara.example", "PATH": "/bin"}
    first = demo_environment(base, tmp_path, None)
    second = demo_environment(base, tmp_path, None)
    assert first["ML_TOTARA_KEY"].startswith("demo-")
    assert first["ML_TOTARA_KEY"] != second["ML_TOTARA_KEY"]
    assert "ML_TOTARA_URL" not in first
    assert first["ML_DATA_SOURCE"] == "export-folder"
    assert first["ML_DATA_DIR"] == str(tmp_path / "export")
    # Models and logs: the folders every command uses (ML_MODELS_DIR, ML_LOGS_DIR).
    assert "ML_MODELS_DIR" not in first and "ML_LOGS_DIR" not in first
    assert first["ML_BIND"] == "127.0.0.1:5000" and first["PATH"] == "/bin"


def test_demo_environment_keeps_a_real_key_and_bind(tmp_path: Path) -> None:
    environ = demo_environment({"ML_TOTARA_KEY": "mine"}, tmp_path, "127.0.0.1:6000")
    assert environ["ML_TOTARA_KEY"] == "mine" and environ["ML_BIND"] == "127.0.0.1:6000"


@pytest.mark.parametrize("environ", [{}, {"ML_TOTARA_KEY": ""}, {"FLASK_ENV": "production"}])
def test_serve_refuses_without_key(environ: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        serve({**environ, "ML_MODELS_DIR": str(tmp_path / "m")}, trainer=False)
    assert str(error.value) == NO_KEY
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("bind", "expected"),
    [("*:5000", "0.0.0.0:5000"), ("127.0.0.1:5000", "127.0.0.1:5000"), ("[::1]:80", "[::1]:80")],
)
def test_gunicorn_listen_address(bind: str, expected: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", Path(__file__).resolve().parents[2] / "service" / "gunicorn.conf.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.listen_address(bind) == expected
    assert module.wsgi_app == "service.wsgi:application" and module.preload_app is False


def test_gunicorn_master_imports_nothing_heavy() -> None:
    """The config file and the WSGI module load no numpy, Falcon or model library."""
    import subprocess
    import sys

    code = (
        "import runpy, sys; runpy.run_path('service/gunicorn.conf.py'); import service.wsgi; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'numpy', 'falcon', 'lightfm', 'implicit', 'scipy', 'sklearn', 'requests'}))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

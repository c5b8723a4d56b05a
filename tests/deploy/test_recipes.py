"""The deployment recipes in ``deploy/``: what each promises, checked where this machine can.

``docker build`` runs only where a Docker daemon answers (none does in this project's CI);
nginx checks the compose configuration for real (``nginx -t``).
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.nginx_support import nginx_binary

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2 and "COPY --from=build" in text
    assert re.search(r"^USER mlservice$", text, re.M) and "useradd --system" in text
    assert re.search(r"^HEALTHCHECK ", text, re.M)
    for source in re.findall(r"^COPY (?!--)(\S+)", text, re.M):
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv*" in ignored and ".git" in ignored


def test_compose_puts_nginx_in_front_with_the_repository_config() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    service, nginx = compose["services"]["mlservice"], compose["services"]["nginx"]
    assert (DEPLOY / service["build"]["dockerfile"].removeprefix("deploy/")).exists()
    assert "5000" not in " ".join(service.get("ports", []))  # Totara reaches it through nginx
    assert all(p.startswith("127.0.0.1:") for p in service.get("ports", []))
    mounted = [volume.split(":")[0] for volume in nginx["volumes"]]
    for source in mounted:
        if source.startswith("./nginx/"):
            assert (DEPLOY / source).exists(), source
    assert nginx["depends_on"]["mlservice"]["condition"] == "service_healthy"
    assert "ML_TOTARA_KEY" in (DEPLOY / "mlservice.env.example").read_text()


def test_systemd_and_supervisor_stop_the_whole_group() -> None:
    unit = (DEPLOY / "systemd" / "mlservice.service").read_text()
    for line in (
        "KillMode=control-group",
        "Restart=on-failure",
        "EnvironmentFile=/etc/mlservice/mlservice.env",
    ):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), line
    assert "Environment=ML_TOTARA_KEY" not in unit
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(DEPLOY / "supervisor" / "mlservice.conf")
    program = parser["program:mlservice"]
    assert program["stopasgroup"] == program["killasgroup"] == program["autorestart"] == "true"
    assert (
        program["command"].endswith("mlservice serve'")
        and "ML_TOTARA_KEY" not in program["command"]
    )


def test_compose_nginx_config_is_valid(tmp_path: Path) -> None:
    binary = nginx_binary()
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed for a test certificate)")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
         "-keyout", str(tmp_path / "tls.key"), "-out", str(tmp_path / "tls.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()
    text = text.replace("/etc/nginx/mlservice/", f"{DEPLOY}/nginx/")
    text = text.replace("/etc/nginx/certs/", f"{tmp_path}/").replace(
        "mlservice:5000", "127.0.0.1:5000"
    )
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    checked = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(config), "-g", f"pid {tmp_path}/nginx.pid;"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.slow
def test_docker_build_where_a_daemon_runs() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True).returncode != 0:
        pytest.skip("no Docker daemon on this machine (docker build runs where one does)")
    built = subprocess.run(
        [docker, "build", "-f", "deploy/Dockerfile", "-t", "mlservice:test", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-3000:]


def test_scale_out_compose_wires_scheduler_workers_store_and_service() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.scale-out.yaml").read_text())
    services = compose["services"]
    assert {"s3", "scheduler", "worker", "mlservice", "nginx"} <= set(services)
    extras = services["mlservice"]["build"]["args"]["EXTRAS"].split(",")
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert {"dask", "s3"} <= set(extras) <= set(setup["options.extras_require"])
    assert "ARG EXTRAS" in (DEPLOY / "Dockerfile").read_text()
    scheduler_port = services["scheduler"]["command"][
        services["scheduler"]["command"].index("--port") + 1
    ]
    worker, service = services["worker"], services["mlservice"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["command"][0] == f"tcp://scheduler:{scheduler_port}"
    for name in ("ML_EXECUTOR", "ML_EXECUTOR_OPTIONS", "ML_MODEL_STORE", "ML_MODEL_STORE_OPTIONS"):
        assert worker["environment"][name] == service["environment"][name], name
    assert service["environment"]["ML_EXECUTOR"] == "dask"
    assert (
        json.loads(service["environment"]["ML_EXECUTOR_OPTIONS"])["address"] == worker["command"][0]
    )
    store = json.loads(service["environment"]["ML_MODEL_STORE_OPTIONS"])
    assert store["endpoint_url"].startswith("http://s3:")
    for source in (volume.split(":")[0] for volume in services["nginx"]["volumes"]):
        if source.startswith("./nginx/"):
            assert (DEPLOY / source).exists(), source

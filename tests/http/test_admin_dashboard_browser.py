"""The admin dashboard of a real ``mlservice serve`` in Debian's headless Chromium.

The browser loads the page, rolls a tenant back and asks for a training run with the
page's own buttons (real form POSTs with the page's CSRF token), and a page on
another port that submits the same form by itself is refused. The screenshot goes to
the test's folder, or to ``$MLSERVICE_SCREENSHOT`` (how ``docs/images`` is made).
Skips only when Chromium or chromedriver cannot be had.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from mlcore.config import load_settings
from mlcore.demo.export import DemoConfig, write_demo_export
from plugins.filesystem_store.store import FilesystemModelStore
from service.trainer_control import TrainerControl
from service.trainer_run import run_once
from tests.support.app_support import KEY
from tests.support.browser import chromium
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)

pytestmark = pytest.mark.slow


@dataclass
class Admin:
    url: str
    store: FilesystemModelStore
    control: TrainerControl
    folder: Path


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    folder = tmp_path_factory.mktemp("admin")
    write_demo_export(
        folder / "export", DemoConfig(tenants=2, users=60, items=30, interactions=900)
    )
    (folder / "report").mkdir()
    (folder / "report" / "summary.md").write_text("# Tuning report\n")
    port, admin_port = free_port(), free_port()
    environ = serve_environ(
        folder,
        port,
        KEY,
        ML_ADMIN_BIND=f"127.0.0.1:{admin_port}",
        ML_DATA_DIR=str(folder / "export"),
        ML_RECOMMENDER="popularity",
        ML_TUNING_TRIALS="0",
        ML_TUNING_REPORT_DIR=str(folder / "report"),
    )
    settings = load_settings(environ)
    run_once(settings)
    run_once(settings)  # two versions: one to roll back to
    log = folder / "serve.log"
    process = start_serve(log, environ)
    try:
        wait_until_serving(f"http://127.0.0.1:{admin_port}", process, log)
        yield Admin(
            f"http://127.0.0.1:{admin_port}",
            FilesystemModelStore(folder / "models"),
            TrainerControl(folder / "logs"),
            folder,
        )
    finally:
        stop_serve(process)


def wait_for(condition: Callable[[], Any], limit: float = 30.0) -> Any:
    deadline = time.monotonic() + limit
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


def test_dashboard_rollback_and_retrain_in_chromium(admin: Admin, tmp_path: Path) -> None:
    before = admin.store.versions("0")
    assert len(before) == 2 and admin.store.current_version("0") == before[1]
    with chromium(tmp_path / "profile") as browser:
        browser.get(admin.url + "/")
        assert browser.title == "mlservice admin"
        page = browser.find_element("tag name", "body").text
        assert before[1] in page and "popularity" in page and "too small" in page
        assert "summary.md" in page
        shot = Path(os.environ.get("MLSERVICE_SCREENSHOT", tmp_path / "dashboard.png"))
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

        browser.find_element("id", "rollback-0").click()
        flash = wait_for(lambda: browser.find_elements("id", "flash"))
        assert flash[0].text.startswith("Rolled back")
        assert admin.store.current_version("0") == before[0]

        browser.find_element("id", "retrain-all").click()
        flash = wait_for(lambda: browser.find_elements("id", "flash"))
        assert flash[0].text.startswith("Training requested")
        state = wait_for(lambda: (s := admin.control.state()) and s.last_run and s)
        assert state.last_run.outcome == "success" and not state.running
        browser.get(admin.url + "/")
        assert "Last run: success" in browser.find_element("tag name", "body").text
    assert admin.store.current_version("0") not in before  # the run published a new version


def test_a_form_on_another_site_cannot_retrain(admin: Admin, tmp_path: Path) -> None:
    page = (
        f'<form id="f" method="post" action="{admin.url}/retrain">'
        '<input name="tenant" value="0"></form><script>document.getElementById("f").submit()'
        "</script>"
    ).encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Evil)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    runs_before = _accepted(admin.url)
    try:
        with chromium(tmp_path / "profile") as browser:
            browser.get(f"http://127.0.0.1:{server.server_address[1]}/")
            wait_for(lambda: browser.current_url.startswith(admin.url))
            text = wait_for(lambda: browser.find_element("tag name", "body").text)
    finally:
        server.shutdown()
        server.server_close()
    assert "403 Forbidden" in text and "refused" in text
    assert admin.control.pending() is None and _accepted(admin.url) == runs_before


def _accepted(url: str) -> float:
    metrics = requests.get(url + "/metrics", timeout=5).text
    for line in metrics.splitlines():
        if line.startswith('mlservice_retrain_requests_total{outcome="accepted"}'):
            return float(line.split()[-1])
    return 0.0

"""``mlservice serve`` over real HTTP with ``ML_MODEL_STORE=s3`` against moto's S3 server.

Two gunicorn workers copy the current version from the bucket into one local cache,
answer ``/user-items`` exactly as the in-process app does over the same model, and
switch to a version published while they run. Skips without moto.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import falcon.testing
import requests

from mlcore.config import Settings
from mlcore.totara.token import make_token
from service.app import create_app
from tests.support.app_support import KEY, tiny_artifact
from tests.support.moto_s3 import CREDENTIALS, SECRET_KEY, MotoS3, s3_store
from tests.support.serve_process import (
    free_port,
    serve_environ,
    start_serve,
    stop_serve,
    wait_until_serving,
)

QUERIES = [
    f"totara_user_id={user}&item_type={component}&tenant=0&n_items=5"
    for user in ("2", "5", "9")
    for component in ("container_course", "engage_article")
]


def signed_get(base: str, path: str) -> requests.Response:
    now = str(int(time.time()))
    headers = {"X-Totara-Ml-Key": make_token(now, KEY), "X-Totara-Time": now}
    return requests.get(base + path, headers={**headers, "User-Agent": "TotaraBot/1.0"}, timeout=5)


def expected(store: object) -> list[object]:
    """The in-process app's answers over ``store`` (a host of its own)."""
    client = falcon.testing.TestClient(create_app(Settings(totara_key=KEY), store))
    answers = []
    for query in QUERIES:
        now = str(int(time.time()))
        headers = {"X-Totara-Time": now, "X-Totara-Ml-Key": make_token(now, KEY)}
        answers.append(client.simulate_get("/user-items", query_string=query, headers=headers).json)
    return answers


def served(base: str) -> list[object]:
    return [signed_get(base, f"/user-items?{query}").json() for query in QUERIES]


def test_serve_answers_from_s3_and_picks_up_a_new_version(aws_env: MotoS3, tmp_path: Path) -> None:
    bucket = aws_env.new_bucket()
    options = aws_env.options(bucket, prefix="prod")
    trainer = s3_store(options, tmp_path / "trainer")
    first = trainer.publish("0", tiny_artifact("0", seed=0))
    port = free_port()
    environ = serve_environ(tmp_path, port, KEY, ML_MODEL_STORE="s3", **CREDENTIALS)
    environ["ML_MODEL_STORE_OPTIONS"] = json.dumps(options)
    for other in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        environ.pop(other, None)
    log = tmp_path / "serve.log"
    process = start_serve(log, environ)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, log)
        old = expected(s3_store(options, tmp_path / "check1"))
        assert served(base) == old
        second = trainer.publish("0", tiny_artifact("0", seed=5))
        fresh = expected(s3_store(options, tmp_path / "check2"))
        assert fresh != old
        deadline, streak = time.monotonic() + 30, 0
        while streak < 10:  # both workers: ten answers in a row from the new version
            assert time.monotonic() < deadline, "the new version was not picked up"
            streak = streak + 1 if served(base) == fresh else 0
        health = signed_get(base, "/health-check").json()
        assert health["totara"]["model_version_0"] == second
    finally:
        stop_serve(process, grace=15)
    cache = tmp_path / "models" / "s3-cache" / bucket / "prod" / "tenants" / "0" / "versions"
    assert sorted(p.name for p in cache.iterdir()) == [first, second]  # one copy per host
    text = log.read_text()
    assert SECRET_KEY not in text and "Traceback" not in text

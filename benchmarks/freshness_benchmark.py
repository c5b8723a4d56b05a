"""Freshness: seconds from new activity to a changed ``/user-items``, with the refresh cycle.

``python -m benchmarks.freshness_benchmark [--runs 5] [--interval 10]``

Writes a demo export, trains it once with the default configuration, starts
``mlservice serve`` with ``ML_REFRESH_INTERVAL=<interval>`` over the export folder
and the event intake on, then measures, ``--runs`` times each (polling
``/user-items`` every 0.25 s over HTTP on 127.0.0.1):

* ``export``: a learner's top three courses are appended to the export (rewritten
  atomically, as an LMS export is) as new interactions; until none of them is in
  the learner's ``/user-items`` any more;
* ``new_learner``: a learner not in the export is added to ``user_data`` with five
  interactions (the five most popular courses); until their ``/user-items`` is
  personalised: it no longer holds those five, which the unknown-user popularity
  fallback lists first;
* ``event``: the same as ``export``, posted to ``POST /interactions`` instead.

Prints one JSON object: per kind every measured time and the median, plus the
machine and its load average.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.common import command_line, load_average, machine
from mlcore.totara.token import signed_headers
from tests.support.export_rows import append_rows

ROOT = Path(__file__).resolve().parents[1]
KEY = "freshness-benchmark-key"


def env_for(folder: Path, port: int, interval: float) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ.update(
        ML_DATA_DIR=str(folder / "export"),
        ML_MODELS_DIR=str(folder / "models"),
        ML_LOGS_DIR=str(folder / "logs"),
        ML_BIND=f"127.0.0.1:{port}",
        ML_ADMIN_BIND="",
        ML_WORKERS="2",
        ML_TOTARA_KEY=KEY,
        ML_REFRESH_INTERVAL=str(interval),
        ML_EVENT_INTAKE="1",
        ML_NUM_THREADS="1",
        ML_TRAINING_BUDGET="60",
    )
    return environ


def mlservice(environ: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "service.cli", *args], env=environ, cwd=ROOT, check=True)


class Service:
    """The running service: signed GETs and POSTs."""

    def __init__(self, base: str) -> None:
        self.base = base

    def user_items(self, user: str) -> list[str]:
        answer = requests.get(
            f"{self.base}/user-items",
            params={
                "tenant": "0",
                "totara_user_id": user,
                "item_type": "container_course",
                "n_items": 20,
            },
            headers=signed_headers(KEY, time.time),
            timeout=10,
        )
        answer.raise_for_status()
        # /user-items answers bare ids; exports and events use the prefixed ids.
        return [f"container_course{item[0]}" for item in answer.json()["items"]]

    def post_events(self, user: str, items: list[str], now: int) -> None:
        records = [
            {"tenant": "0", "user_id": user, "item_id": item, "rating": 1, "timestamp": now + n}
            for n, item in enumerate(items)
        ]
        answer = requests.post(
            f"{self.base}/interactions",
            data=json.dumps(records),
            headers=signed_headers(KEY, time.time),
            timeout=10,
        )
        answer.raise_for_status()


def seconds_until(condition, timeout: float = 120.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            return float("inf")
        time.sleep(0.25)
    return time.monotonic() - started


def measure(service: Service, export: Path, kind: str, run: int) -> float:
    now = 2_000_000_000 + run * 100
    if kind == "new_learner":
        user = f"fresh-learner-{run}"
        popular = service.user_items(user)[:5]  # an unknown learner: the popularity fallback
        with open(export / "user_data_0.csv", encoding="utf-8") as handle:
            header = next(csv.reader(handle))
        append_rows(export / "user_data_0.csv", [[user, *([""] * (len(header) - 1))]])
        append_rows(
            export / "user_interactions_0.csv",
            [[user, item, "1", str(now + n)] for n, item in enumerate(popular)],
        )
        return seconds_until(lambda: not set(service.user_items(user)[:10]) & set(popular))
    user = str(10 + run * 7 + (0 if kind == "export" else 3))  # demo users are 2, 3, ...
    top = service.user_items(user)[:3]
    if kind == "export":
        append_rows(
            export / "user_interactions_0.csv",
            [[user, item, "1", str(now + n)] for n, item in enumerate(top)],
        )
    else:
        service.post_events(user, top, now)
    return seconds_until(lambda: not set(service.user_items(user)) & set(top))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--interactions", type=int, default=40_000)
    parser.add_argument("--port", type=int, default=5613)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="freshness-") as name:
        folder = Path(name)
        environ = env_for(folder, args.port, args.interval)
        mlservice(
            environ,
            "demo-data",
            str(folder / "export"),
            "--tenants",
            "1",
            "--users",
            str(args.users),
            "--items",
            str(args.items),
            "--interactions",
            str(args.interactions),
            "--seed",
            "7",
        )
        mlservice(environ, "train", "--quiet")
        loads = [load_average()]
        with open(folder / "serve.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve"],
                env=environ,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            service = Service(f"http://127.0.0.1:{args.port}")
            seconds_until(lambda: _up(service.base), timeout=60)
            results: dict[str, list[float]] = {"export": [], "new_learner": [], "event": []}
            for run in range(args.runs):
                for kind in results:
                    results[kind].append(round(measure(service, folder / "export", kind, run), 2))
                    loads.append(load_average())
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=60)
        report = {
            "command": command_line(),
            "machine": machine(),
            "load_average": {"min": min(loads), "max": max(loads)},
            "interval": args.interval,
            "tenant": {"users": args.users, "items": args.items, "interactions": args.interactions},
            **{
                kind: {"seconds": times, "median": statistics.median(times)}
                for kind, times in results.items()
            },
        }
    print(json.dumps(report, indent=2))
    return 0


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    sys.exit(main())

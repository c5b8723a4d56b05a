"""Load with model swaps: concurrent Totara-like clients while new versions are published.

``mlservice serve --no-trainer`` (gunicorn) serves a synthetic tenant from a
filesystem store on 127.0.0.1. Client threads send signed ``/user-items`` and
``/similar-items`` requests, each on a new connection like Totara's HTTP client,
for a fixed time; new versions of the tenant are published at fixed moments. Every
answer is checked (HTTP 200, ``success: true``); the result reports requests,
failures, throughput and latency percentiles. ``tests/reliability/test_reliability_load.py``
runs :func:`run_load` for a few seconds on tiny models; this script runs it
longer on a realistic tenant:

    .venv/bin/python benchmarks/load_benchmark.py --seconds 30 --clients 8 --workers 2

Nothing is asserted here: the numbers are recorded in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LoadResult:
    """What the clients saw.

    Attributes:
        latencies: Seconds per completed request (successful or not).
        failures: One line per failed request (transport error, status or body).
        answers: ``(path index, body)`` of every successful answer.
        seconds: Wall time of the run.
    """

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    answers: list[tuple[int, bytes]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(np.array(self.latencies) * 1000, q)) if self.latencies else 0.0


def signed_headers(key: str) -> dict[str, str]:
    """Totara's request headers (contract §3.2) at the current time."""
    from mlcore.totara.token import make_token

    now = str(int(time.time()))
    return {
        "X-Totara-Time": now,
        "X-Totara-Ml-Key": make_token(now, key),
        "User-Agent": "TotaraBot/1.0",
        "Connection": "close",
    }


def run_load(
    port: int,
    key: str,
    paths: Sequence[str],
    *,
    clients: int,
    seconds: float,
    events: Sequence[tuple[float, Callable[[], None]]] = (),
    timeout: float = 2.0,
) -> LoadResult:
    """``clients`` threads request ``paths`` round-robin for ``seconds``; ``events`` run on time.

    Args:
        port: The service's port on 127.0.0.1.
        key: The shared key to sign with.
        paths: Request paths with query strings.
        clients: Concurrent client threads (each request on a new connection).
        seconds: Duration of the load.
        events: ``(seconds after start, action)``, e.g. publishing a new version.
        timeout: Per-request timeout; Totara's total timeout is 2 s (§5.2).
    """
    result = LoadResult()
    lock = threading.Lock()
    started = time.perf_counter()
    stop = started + seconds

    def client(offset: int) -> None:
        index = offset
        while time.perf_counter() < stop:
            which = index % len(paths)
            begun = time.perf_counter()
            failure, body = _one_request(port, paths[which], key, timeout)
            elapsed = time.perf_counter() - begun
            with lock:
                result.latencies.append(elapsed)
                if failure:
                    at = begun - started
                    result.failures.append(
                        f"at {at:.2f} s, {elapsed:.2f} s: {paths[which]}: {failure}"
                    )
                else:
                    result.answers.append((which, body))
            index += clients

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for at, action in sorted(events, key=lambda event: event[0]):
        time.sleep(max(0.0, started + at - time.perf_counter()))
        action()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def _one_request(port: int, path: str, key: str, timeout: float) -> tuple[str, bytes]:
    """``("", body)`` for a 200 ``success: true`` answer, else ``(reason, b"")``."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", path, headers=signed_headers(key))
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}", b""
    if response.status != 200 or not body.startswith(b'{"success": true'):
        return f"HTTP {response.status} {body[:200]!r}", b""
    return "", body


def slow_client_probe(port: int, key: str, path: str, slow: int, hold: float = 0.0) -> str:
    """Open ``slow`` connections that never finish their headers, then time one request.

    With ``hold`` > 0, keep probing (Totara's 2 s timeout each) for up to ``hold``
    seconds and report when a request was answered again: how long the slow
    connections kept the workers (gunicorn kills a sync worker silent for ``timeout``).

    Returns:
        ``"answered <status> in <s> s"`` or ``"failed after <s> s: <error>"``, and with
        ``hold`` the time until the first answer.
    """
    held = []
    try:
        for _ in range(slow):
            connection = socket.create_connection(("127.0.0.1", port))
            connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line
            held.append(connection)
        time.sleep(0.5)
        begun = time.perf_counter()
        failure, _ = _one_request(port, path, key, timeout=2.0)
        elapsed = time.perf_counter() - begun
        first = (
            f"failed after {elapsed:.2f} s: {failure}"
            if failure
            else f"answered 200 in {elapsed:.2f} s"
        )
        while failure and hold and time.perf_counter() - begun < hold:
            failure, _ = _one_request(port, path, key, timeout=2.0)
        if hold:
            waited = time.perf_counter() - begun
            first += f"; {'no answer' if failure else 'answered again'} after {waited:.1f} s"
        return first
    finally:
        for connection in held:
            connection.close()


# -- the benchmark ----------------------------------------------------------------------


def synthetic_artifact(users: int, items: int, dim: int, seed: int) -> object:
    """A factor model over a synthetic tenant: items spread over the five components."""
    import scipy.sparse as sp

    from mlcore.dataset import Dataset
    from mlcore.interfaces import ServingArrays
    from mlcore.item_types import COMPONENTS
    from mlcore.serving.artifact import build_artifact

    rng = np.random.default_rng(seed)
    types = item_types(items)
    pairs = np.unique(rng.integers(0, [users, items], (users * 10, 2)), axis=0)
    dataset = Dataset(
        tenant="0",
        user_ids=np.array([str(u + 2) for u in range(users)]),
        item_ids=np.array([f"{COMPONENTS[t]}{i + 1}" for i, t in enumerate(types)]),
        item_types=types,
        user_index=pairs[:, 0].astype(np.int32),
        item_index=pairs[:, 1].astype(np.int32),
        ratings=np.ones(len(pairs), dtype=np.int8),
        timestamps=np.full(len(pairs), 1_700_000_000, dtype=np.int64),
        user_features=sp.csr_matrix((users, 0), dtype=np.float32),
        user_feature_names=(),
        item_features=sp.csr_matrix((items, 0), dtype=np.float32),
        item_feature_names=(),
    )
    serving = ServingArrays(
        kind="factors",
        user_factors=rng.normal(size=(users, dim)).astype(np.float32),
        user_bias=rng.normal(size=users).astype(np.float32),
        item_factors=rng.normal(size=(items, dim)).astype(np.float32),
        item_bias=rng.normal(size=items).astype(np.float32),
    )
    return build_artifact(dataset, serving, backend="synthetic", algorithm="mf", details={})


def item_types(items: int) -> np.ndarray:
    """Component index of each synthetic item: five contiguous blocks (ids ``<component><k + 1>``)."""
    from mlcore.item_types import COMPONENTS

    return np.sort(np.arange(items) % len(COMPONENTS)).astype(np.int8)


def start_service(
    models: Path, logs: Path, port: int, key: str, workers: int, reload_interval: float = 2.0
) -> subprocess.Popen[bytes]:
    """``mlservice serve --no-trainer`` in its own process group; returns once it answers.

    The port is open as soon as the gunicorn master binds it, before any worker has
    booted and loaded the models, so readiness is an HTTP answer from a worker.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ.update(
        ML_MODELS_DIR=str(models),
        ML_LOGS_DIR=str(logs),
        ML_BIND=f"127.0.0.1:{port}",
        ML_WORKERS=str(workers),
        ML_TOTARA_KEY=key,
        ML_RELOAD_INTERVAL=str(reload_interval),
        ML_ADMIN_BIND="",  # no admin listener: port 5001 may be taken on a shared machine
    )
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "serve-output.log", "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--no-trainer"],
            cwd=ROOT,
            env=environ,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/")
                if connection.getresponse().status == 200:
                    return process
            finally:
                connection.close()
        except OSError:
            time.sleep(0.1)
    stop_service(process)
    raise RuntimeError("service did not start:\n" + (logs / "serve-output.log").read_text())


def stop_service(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--swaps", type=int, default=2, help="versions published during the run")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument(
        "--slow-clients",
        type=int,
        default=0,
        help="instead of the load: hold this many unfinished requests open, time one request",
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="with --slow-clients: keep probing this many seconds, report the first answer",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from mlcore.item_types import COMPONENTS
    from plugins.filesystem_store.store import FilesystemModelStore

    key = "load-benchmark-key"
    rng = np.random.default_rng(3)
    types = item_types(args.items)
    paths = [
        f"/user-items?totara_user_id={rng.integers(2, args.users + 2)}"
        f"&item_type={COMPONENTS[rng.integers(0, 5)]}&tenant=0&n_items=25"
        for _ in range(500)
    ] + [
        f"/similar-items?totara_item_id={COMPONENTS[types[k]]}{k + 1}&tenant=0&n_items=15"
        for k in rng.integers(0, args.items, 100)
    ]
    with tempfile.TemporaryDirectory(prefix="load-benchmark-") as scratch:
        store = FilesystemModelStore(Path(scratch) / "models")
        artifacts = [
            synthetic_artifact(args.users, args.items, args.dim, seed)
            for seed in range(args.swaps + 1)
        ]
        store.publish("0", artifacts[0])  # type: ignore[arg-type]
        port = free_port()
        process = start_service(
            Path(scratch) / "models", Path(scratch) / "logs", port, key, args.workers
        )
        step = args.seconds / (args.swaps + 1)
        events = [
            (step * (k + 1), lambda a=artifact: store.publish("0", a))  # type: ignore[misc]
            for k, artifact in enumerate(artifacts[1:])
        ]
        try:
            if args.slow_clients:
                print(slow_client_probe(port, key, paths[0], args.slow_clients, args.hold))
                return 0
            result = run_load(
                port, key, paths, clients=args.clients, seconds=args.seconds, events=events
            )
        finally:
            stop_service(process)
    print(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"| {args.clients} clients, {args.workers} workers, {args.seconds:g} s, "
        f"{args.swaps} swaps, {args.users} users x {args.items} items x {args.dim} "
        f"| {result.requests} | {len(result.failures)} | {result.throughput:.0f} "
        f"| {result.percentile_ms(50):.1f} | {result.percentile_ms(99):.1f} "
        f"| {max(result.latencies) * 1000 if result.latencies else 0:.1f} |"
    )
    for failure in result.failures[:10]:
        print("failure:", failure)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())

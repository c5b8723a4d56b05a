"""Serving speed and memory of ``/user-items`` (issue 4; results in ``benchmarks/README.md``).

Three measurements on one synthetic tenant (default 20,000 items in five types,
10,000 users, 64 factors), published with the filesystem store:

* ``compute``: one request's work in-process: :class:`mlcore.serving.tenant_model.TenantModel`
  (memory-mapped arrays, one type slice, argpartition) against the original's
  approach (``LightFM.predict`` for every item with one thread, then sort and filter).
* ``http``: ``mlservice serve`` (gunicorn, ``--workers``) on 127.0.0.1 under a bounded
  load generator (``wrk`` with a Lua script of random Totara requests when installed,
  else Python threads), token headers as Totara sends them.
* memory: PSS/RSS of every worker (``/proc/<pid>/smaps_rollup``) and of the model's
  memory-mapped ``.npy`` files (``/proc/<pid>/smaps``), after the load.

Run: ``.venv/bin/python benchmarks/serving_benchmark.py all`` (``--worker-class
gthread`` to compare). Nothing here is asserted: numbers are recorded by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine  # noqa: E402
from mlcore.dataset import Dataset  # noqa: E402
from mlcore.interfaces import ServingArrays  # noqa: E402
from mlcore.item_types import COMPONENTS  # noqa: E402
from mlcore.serving.artifact import build_artifact  # noqa: E402
from mlcore.totara.token import make_token  # noqa: E402
from plugins.filesystem_store.store import FilesystemModelStore  # noqa: E402
from service.model_holder import _loaded  # noqa: E402

KEY = "benchmark-key"


def synthetic_dataset(users: int, items: int, interactions: int, seed: int) -> Dataset:
    """Users ``2..``, items spread evenly over the five components, random interactions."""
    rng = np.random.default_rng(seed)
    types = np.sort(np.arange(items) % len(COMPONENTS)).astype(np.int8)
    item_ids = np.array([f"{COMPONENTS[t]}{i + 1}" for i, t in enumerate(types)])
    pairs = np.unique(rng.integers(0, [users, items], (interactions, 2)), axis=0)
    return Dataset(
        tenant="0",
        user_ids=np.array([str(u + 2) for u in range(users)]),
        item_ids=item_ids,
        item_types=types,
        user_index=pairs[:, 0].astype(np.int32),
        item_index=pairs[:, 1].astype(np.int32),
        ratings=rng.integers(0, 2, len(pairs)).astype(np.int8),
        timestamps=np.full(len(pairs), 1_700_000_000, dtype=np.int64),
        user_features=sp.csr_matrix((users, 0), dtype=np.float32),
        user_feature_names=(),
        item_features=sp.csr_matrix((items, 0), dtype=np.float32),
        item_feature_names=(),
    )


def fit_lightfm(dataset: Dataset, dim: int, seed: int) -> object:
    from lightfm import LightFM

    model = LightFM(no_components=dim, loss="warp", learning_schedule="adadelta", random_state=seed)
    model.fit(dataset.interactions.tocoo(), epochs=1, num_threads=1)
    return model


def publish(dataset: Dataset, model: object, folder: Path) -> FilesystemModelStore:
    """Export the LightFM model's arrays exactly as serving uses them, publish them."""
    serving = ServingArrays(
        kind="factors",
        user_factors=model.user_embeddings,  # type: ignore[attr-defined]
        user_bias=model.user_biases,  # type: ignore[attr-defined]
        item_factors=model.item_embeddings,  # type: ignore[attr-defined]
        item_bias=model.item_biases,  # type: ignore[attr-defined]
    )
    store = FilesystemModelStore(folder)
    store.publish(
        "0", build_artifact(dataset, serving, backend="lightfm", algorithm="mf", details={})
    )
    return store


def percentiles(seconds: list[float]) -> dict[str, float]:
    values = np.array(seconds) * 1000
    return {
        "mean_ms": float(values.mean()),
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
    }


def bench_compute(
    dataset: Dataset, model: object, store: FilesystemModelStore, requests: int
) -> dict:
    """Wall-clock and CPU time (``process_time``, robust on a busy machine) per request."""
    rng = np.random.default_rng(1)
    served = _loaded(store, "0", store.current_version("0") or "")
    users = rng.integers(0, dataset.n_users, requests)
    kinds = rng.integers(0, len(COMPONENTS), requests)
    all_items = np.arange(dataset.n_items, dtype=np.int32)
    offsets = dataset.type_offsets

    def numpy_request(user: int, kind: int) -> None:
        served.recommend(user, COMPONENTS[kind], 10)

    def lightfm_request(user: int, kind: int) -> None:
        scores = model.predict(user, all_items, num_threads=1)  # type: ignore[attr-defined]
        order = np.argsort(-scores, kind="stable")
        order[(order >= offsets[kind]) & (order < offsets[kind + 1])][:10]

    report: dict = {"requests": requests}
    for name, request in (
        ("tenantmodel", numpy_request),
        ("lightfm_predict_sort", lightfm_request),
    ):
        wall, cpu = [], []
        for user, kind in zip(users.tolist(), kinds.tolist(), strict=True):
            started, started_cpu = time.perf_counter(), time.process_time()
            request(user, kind)
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started)
        report[name] = {"wall": percentiles(wall), "cpu": percentiles(cpu)}
    for clock in ("wall", "cpu"):
        report[f"speedup_{clock}_mean"] = (
            report["lightfm_predict_sort"][clock]["mean_ms"]
            / report["tenantmodel"][clock]["mean_ms"]
        )
    return report


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_service(models: Path, port: int, workers: int, worker_class: str) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ML_", "FLASK_"))}
    environ.update(
        ML_MODELS_DIR=str(models),
        ML_LOGS_DIR=str(models.parent / "logs"),
        ML_BIND=f"127.0.0.1:{port}",
        ML_WORKERS=str(workers),
        ML_TOTARA_KEY=KEY,
        ML_ADMIN_BIND="",  # no admin listener: port 5001 may be taken on a shared machine
    )
    if worker_class != "sync":
        environ["GUNICORN_CMD_ARGS"] = f"--worker-class {worker_class} --threads 4"
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--no-trainer"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=open(models.parent / "serve.log", "wb"),  # noqa: SIM115 - child owns it
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    import requests

    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/health-check", headers=token_headers(), timeout=5).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("service did not start:\n" + (models.parent / "serve.log").read_text())


def token_headers() -> dict[str, str]:
    now = str(int(time.time()))
    return {
        "X-Totara-Time": now,
        "X-Totara-Ml-Key": make_token(now, KEY),
        "User-Agent": "TotaraBot/1.0",
    }


WRK_SCRIPT = """
math.randomseed(7)
local types = {"container_course", "container_workspace", "engage_article",
               "engage_microlearning", "totara_playlist"}
request = function()
  local user = math.random(2, %d)
  local kind = types[math.random(1, 5)]
  return wrk.format("GET", "/user-items?totara_user_id=" .. user .. "&item_type=" .. kind ..
                    "&tenant=0&n_items=10")
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %%d, \\"errors\\": %%d, \\"non2xx\\": %%d, " ..
    "\\"seconds\\": %%f, \\"p50_ms\\": %%f, \\"p99_ms\\": %%f, \\"mean_ms\\": %%f}\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
"""


def load_wrk(
    base: str, users: int, seconds: int, connections: int, scratch: Path, close: bool
) -> dict:
    script = scratch / "user_items.lua"
    script.write_text(WRK_SCRIPT % (users + 1))
    sent = {**token_headers(), **({"Connection": "close"} if close else {})}
    headers = [arg for name, value in sent.items() for arg in ("-H", f"{name}: {value}")]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), *headers, base]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("JSON "))
    result = json.loads(line[5:])
    result["requests_per_second"] = result["requests"] / result["seconds"]
    mode = "Connection: close, a new connection per request like Totara" if close else "keep-alive"
    result["generator"] = f"wrk -t1 -c{connections} ({mode})"
    return result


def load_threads(base: str, users: int, seconds: int, connections: int) -> dict:
    """Fallback generator: ``connections`` threads, one new connection per request (like Totara)."""
    import http.client

    port = int(base.rsplit(":", 1)[1])
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds
    rng = np.random.default_rng(7)
    paths = [
        f"/user-items?totara_user_id={u}&item_type={COMPONENTS[t]}&tenant=0&n_items=10"
        for u, t in zip(rng.integers(2, users + 2, 5000), rng.integers(0, 5, 5000), strict=True)
    ]

    def worker(offset: int) -> None:
        index = offset
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", paths[index % len(paths)], headers=token_headers())
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status != 200:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
            latencies.append(time.perf_counter() - started)
            index += connections

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "requests_per_second": len(latencies) / elapsed,
        **percentiles(latencies),
        "generator": f"{connections} Python threads, new connection per request",
    }


def process_tree(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_of(pid: int, models: Path) -> dict[str, float]:
    """Whole-process PSS/RSS and the PSS/RSS of mapped files under ``models`` (MiB)."""
    rollup = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts[0] in ("Rss:", "Pss:"):
            rollup[parts[0][:-1].lower()] = int(parts[1]) / 1024
    model_rss = model_pss = 0.0
    inside = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split()
        if "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
            inside = len(parts) >= 6 and parts[5].startswith(str(models))
        elif inside and parts[0] == "Rss:":
            model_rss += int(parts[1]) / 1024
        elif inside and parts[0] == "Pss:":
            model_pss += int(parts[1]) / 1024
    return {**rollup, "model_rss": model_rss, "model_pss": model_pss}


def bench_http(
    store_dir: Path,
    users: int,
    workers: int,
    worker_class: str,
    seconds: int,
    connections: int,
    close: bool,
) -> dict:
    port = free_port()
    process = start_service(store_dir, port, workers, worker_class)
    try:
        base = f"http://127.0.0.1:{port}"
        masters = process_tree(process.pid)
        worker_pids = [pid for master in masters for pid in process_tree(master)]
        cpu_before = sum(cpu_seconds(pid) for pid in worker_pids)
        if shutil.which("wrk"):
            load = load_wrk(base, users, seconds, connections, store_dir.parent, close)
        else:
            load = load_threads(base, users, seconds, connections)
        cpu_used = sum(cpu_seconds(pid) for pid in worker_pids) - cpu_before
        # CPU per request is robust on a busy machine; the capacity estimate assumes
        # the workers get every core (the load generator elsewhere).
        load["worker_cpu_ms_per_request"] = 1000 * cpu_used / max(load["requests"], 1)
        load["capacity_estimate_rps"] = (
            min(workers, os.cpu_count() or 1) * 1000 / load["worker_cpu_ms_per_request"]
        )
        memory = {pid: memory_of(pid, store_dir) for pid in worker_pids}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    model_files = sum(f.stat().st_size for f in store_dir.rglob("*.npy")) / 2**20
    return {
        "workers": workers,
        "worker_class": worker_class,
        "load": load,
        "memory_mib": memory,
        "model_files_mib": model_files,
        "workers_model_pss_total_mib": sum(m["model_pss"] for m in memory.values()),
        "one_worker_model_rss_mib": max((m["model_rss"] for m in memory.values()), default=0.0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("compute", "http", "all"))
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2_000, help="compute: requests timed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--close", action="store_true", help="wrk sends Connection: close (Totara's pattern)"
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="mlservice-serving-"))
    try:
        dataset = synthetic_dataset(args.users, args.items, args.users * 20, seed=0)
        model = fit_lightfm(dataset, args.dim, seed=0)
        store = publish(dataset, model, scratch / "models")
        report: dict = {
            "machine": machine(),
            "users": args.users,
            "items": args.items,
            "dim": args.dim,
        }
        if args.what in ("compute", "all"):
            report["compute"] = bench_compute(dataset, model, store, args.requests)
        if args.what in ("http", "all"):
            report["http"] = bench_http(
                scratch / "models",
                args.users,
                args.workers,
                args.worker_class,
                args.seconds,
                args.connections,
                args.close,
            )
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load on ``ingest-serve``: many searches from concurrent clients, with latency percentiles and errors.

Sends ``--requests`` searches (default 1,000) from ``--clients`` threads at once (default 8),
each over its own keep-alive connection, with real query texts: the queries of the retrieval
collections in ``../shared/data/ir`` (English and Chinese), shuffled. Prints p50/p95/p99 of the
time a client waits for an answer, the server's own ``took_ms`` beside it, the throughput and
the errors (any answer but 200), with the CPU model, its flags and the load average before and
after, since the machine is shared and its load moves the figures.

    .venv/bin/python bench/serve_load.py --demo                     # samples/ with the hashing model
    .venv/bin/python bench/serve_load.py --many-files 25000         # bench/many_files.py's corpus (minutes)
    .venv/bin/python bench/serve_load.py --config config.yaml       # a store already built
    .venv/bin/python bench/serve_load.py --url http://127.0.0.1:8000 --token T

With ``--demo`` or ``--config`` the server is started here as its own process (``ingest-serve``
on a free port), so it does not share this process's interpreter lock with the clients.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_QUERIES = str(REPO.parent / "shared" / "data" / "ir" / "*" / "queries.jsonl")
# The hashing model at MiniLM's width, so Chroma does the work it would for a real model; it
# covers every language, so Chinese queries use both sides of the hybrid search too.
DEMO_CONFIG = {
    "default_model": "hashing",
    "models": {"hashing": {"kind": "hashing", "dimension": 384, "max_seq_length": 256,
                           "languages": ["multilingual"], "dense_weights": {"default": 0.5}}},
    "store": {"path": "store"},
    "connectors": {"ocr": False},
}
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx_vnni", "amx_bf16", "amx_int8")
_WORD = re.compile(r"[^\W_]")


def load_queries(pattern: str, count: int, seed: int) -> list[str]:
    """``count`` query texts from the files matching ``pattern``, shuffled, repeated if too few."""
    texts = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    texts = [text.strip()[:1000] for text in texts if _WORD.search(text)]
    if not texts:
        raise SystemExit(f"no queries found in {pattern}")
    random.Random(seed).shuffle(texts)
    return [texts[i % len(texts)] for i in range(count)]


def machine() -> dict[str, object]:
    info: dict[str, object] = {"cpu": "unknown", "flags": [], "cores": os.cpu_count(),
                               "usable_cores": len(os.sched_getaffinity(0))}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = re.search(r"model name\s*:\s*(.+)", cpuinfo).group(1)  # type: ignore[union-attr]
        flags = set(re.search(r"flags\s*:\s*(.+)", cpuinfo).group(1).split())  # type: ignore[union-attr]
        info["flags"] = [flag for flag in CPU_FLAGS if flag in flags]
    except (OSError, AttributeError):
        pass
    return info


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(config: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.serve.cli", "--config", str(config), "--port", str(port)], cwd=REPO,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"ingest-serve exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("ingest-serve did not answer /health within 120 s")


def build_store(folder: Path, source: Path) -> Path:
    """``source`` ingested with the hashing model into a store in ``folder``; returns the config file."""
    import yaml

    from pipeline import ingest
    from pipeline.config import load_settings

    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(DEMO_CONFIG), encoding="utf-8")
    report = ingest([source], config=load_settings(config))
    print(f"store: {report.files_ingested} files, {report.chunks_added} chunks from {source} ({report.seconds:.1f} s)")
    return config


def many_files(count: int, folder: Path) -> Path:
    """bench/many_files.py's corpus of ``count`` small files of real sentences (kept in ``folder``)."""
    sys.path.insert(0, str(REPO / "bench"))
    from real_corpus import write_corpus

    write_corpus(folder / str(count), count)  # the folder bench/many_files.py uses for the same count
    return folder / str(count)


class Client(threading.Thread):
    """One client: its own connection, taking queries from a shared iterator until none are left."""

    def __init__(self, url: str, token: str | None, work: list[tuple[int, str]], lock: threading.Lock,
                 body: dict[str, object], results: list[tuple[float, int, float | None]]) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        self.work, self.lock, self.body, self.results = work, lock, body, results

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        while True:
            with self.lock:
                if not self.work:
                    return
                _, query = self.work.pop()
            payload = json.dumps({**self.body, "query": query}).encode()
            started = time.perf_counter()
            try:
                connection.request("POST", "/search", payload, self.headers)
                response = connection.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                status, data = 0, b""
            elapsed = (time.perf_counter() - started) * 1000
            took = json.loads(data).get("took_ms") if status == 200 else None
            with self.lock:
                self.results.append((elapsed, status, took))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run_load(url: str, token: str | None, queries: list[str], clients: int, body: dict[str, object]) -> dict:
    work = list(enumerate(queries))[::-1]
    lock = threading.Lock()
    results: list[tuple[float, int, float | None]] = []
    threads = [Client(url, token, work, lock, body, results) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies = [elapsed for elapsed, _, _ in results]
    took = [value for _, status, value in results if status == 200 and value is not None]
    errors: dict[str, int] = {}
    for _, status, _ in results:
        if status != 200:
            errors[str(status)] = errors.get(str(status), 0) + 1
    return {
        "requests": len(results), "clients": clients, "seconds": round(wall, 2),
        "per_second": round(len(results) / wall, 1), "errors": sum(errors.values()), "errors_by_status": errors,
        "p50_ms": round(percentile(latencies, 0.50), 1), "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1), "max_ms": round(max(latencies), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "server_p50_ms": round(percentile(took, 0.50), 1) if took else None,
        "server_p95_ms": round(percentile(took, 0.95), 1) if took else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--demo", action="store_true", help="ingest samples/ with the hashing model into a temporary store")
    where.add_argument("--config", type=Path, help="serve the store of this config file")
    where.add_argument("--url", help="a running ingest-serve")
    where.add_argument("--many-files", type=int, metavar="N", help="a store of N generated files (bench/many_files.py)")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "rag-bench-many-files",
                        help="where --many-files keeps its corpus between runs")
    parser.add_argument("--token", default=os.environ.get("INGEST_SERVE_TOKEN"), help="bearer token (default: $INGEST_SERVE_TOKEN)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--mode", choices=["hybrid", "dense", "lexical"], help="default: the server's retrieval.mode")
    parser.add_argument("--queries", default=DEFAULT_QUERIES, help="glob of BEIR queries.jsonl files")
    parser.add_argument("--warmup", type=int, default=20, help="searches sent first and not counted")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    queries = load_queries(args.queries, args.requests + args.warmup, args.seed)
    body: dict[str, object] = {"k": args.k} | ({"mode": args.mode} if args.mode else {})
    process = None
    with tempfile.TemporaryDirectory(prefix="serve-load-") as scratch:
        config = args.config
        if args.demo:
            config = build_store(Path(scratch), REPO / "samples")
        elif args.many_files:
            config = build_store(Path(scratch), many_files(args.many_files, args.folder))
        url = args.url
        if config is not None:
            process, url = start_server(config)
        try:
            run_load(url, args.token, queries[: args.warmup], 1, body)
            load_before = os.getloadavg()
            figures = run_load(url, args.token, queries[args.warmup :], args.clients, body)
            load_after = os.getloadavg()
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    result = {**figures, "k": args.k, "mode": args.mode or "server default", "queries": args.queries,
              "machine": machine(), "load_before": [round(x, 2) for x in load_before],
              "load_after": [round(x, 2) for x in load_after]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    info = result["machine"]
    print(f"{figures['requests']} searches from {args.clients} clients in {figures['seconds']} s "
          f"({figures['per_second']}/s), {figures['errors']} errors {figures['errors_by_status'] or ''}")
    print(f"client latency ms: p50 {figures['p50_ms']}  p95 {figures['p95_ms']}  p99 {figures['p99_ms']}  "
          f"max {figures['max_ms']}  (server took_ms p50 {figures['server_p50_ms']}, p95 {figures['server_p95_ms']})")
    print(f"cpu: {info['cpu']}, {info['usable_cores']} usable cores, flags: {' '.join(info['flags']) or '-'}")  # type: ignore[index]
    print(f"load average before {result['load_before']}, after {result['load_after']}")


if __name__ == "__main__":
    main()

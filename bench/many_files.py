"""Many small files: the write path's speed, against Chroma's own batched upsert rate.

Makes ``--files`` small text files of real sentences (default 25,000, about five chunks each;
``bench/real_corpus.py``; kept in ``--folder`` for the next run), ingests them into a fresh
store with the ``hashing`` model (384 dimensions, so Chroma does the same work as for MiniLM,
and no model time hides the rest), and prints:

- chunks/s end to end, with the CPU seconds of the main process and of the parse workers;
- peak RSS of the main process and of the largest worker;
- an unchanged re-run, in a fresh process, as a user would run it (``ingest`` on the command line);
- query latency (p50, p95) over the result: hybrid, dense and lexical, and hybrid with a `where`
  filter (Chinese chunks only), one real question at a time (the four shared sets' queries);
- disk used by the store (Chroma) and by the local state (manifest, BM25 index);
- Chroma alone: the same stored vectors, texts and metadata upserted into a fresh collection in
  batches of the store's batch size (``--chroma-sample`` chunks of them).

    .venv/bin/python bench/many_files.py                     # 25,000 files
    .venv/bin/python bench/many_files.py --files 100000      # about 500,000 chunks
    .venv/bin/python bench/many_files.py --files 2000        # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from real_corpus import queries, write_corpus  # noqa: E402  (bench/)

from pipeline import Ingestor, Retriever  # noqa: E402
from pipeline.config import settings_from_dict  # noqa: E402


def bench_settings(store: Path):
    return settings_from_dict(
        {
            "default_model": "hashing",
            # Registered for both languages (like the default model), so every hybrid query is
            # embedded and searched on both sides; the default model's weights.
            "models": {"hashing": {"kind": "hashing", "dimension": 384, "max_seq_length": 256,
                                   "batch_size": 64, "call_batches": 8, "languages": ["en", "zh"],
                                   "dense_weights": {"en": 0.5, "zh": 0.3, "default": 0.3}}},
            "store": {"path": str(store)},
        }
    )


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def unchanged_rerun(folder: Path, store: Path) -> dict[str, object]:
    """`ingest` again in a fresh process, as a user would; its own seconds and the wall time."""
    config = store.parent / "bench-config.json"  # JSON is YAML
    config.write_text(json.dumps(bench_settings(store).model_dump(mode="json")))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", str(folder), "--config", str(config), "--json", "-v"],
        capture_output=True, text=True, cwd=REPO, check=False,
    )
    wall = time.perf_counter() - started
    report = json.loads(done.stdout)
    return {
        "unchanged_files": report["files_unchanged"], "run_s": round(report["seconds"], 2),
        "process_wall_s": round(wall, 2),
        "model_loaded": "was loaded" in done.stderr and "was not loaded" not in done.stderr,
    }


def query_latency(settings, count: int) -> dict[str, float]:
    texts = queries(count)
    figures = {}
    for label, mode, where in (("hybrid", "hybrid", None), ("dense", "dense", None), ("lexical", "lexical", None),
                               ("hybrid_where", "hybrid", {"language": "zh"})):
        retriever = Retriever(settings=settings, mode=mode)
        retriever.search(texts[0], k=10, where=where)  # opens the store and the index, loads nothing else later
        times = []
        for text in texts:
            started = time.perf_counter()
            retriever.search(text, k=10, where=where)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        figures[f"query_{label}_p50_ms"] = round(statistics.median(times), 1)
        figures[f"query_{label}_p95_ms"] = round(times[int(0.95 * (len(times) - 1))], 1)
    return figures


def disk_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def chroma_alone(collection, sample: int, batch: int) -> dict[str, float]:
    """Chroma's own rate for the same records, upserted in the store's batch size."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    got = collection.get(limit=sample, include=["embeddings", "documents", "metadatas"])
    with tempfile.TemporaryDirectory() as path:
        client = chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))
        target = client.create_collection("bench", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
        started = time.perf_counter()
        for start in range(0, len(got["ids"]), batch):
            end = start + batch
            target.upsert(ids=got["ids"][start:end], embeddings=got["embeddings"][start:end],
                          documents=got["documents"][start:end], metadatas=got["metadatas"][start:end])
        seconds = time.perf_counter() - started
    return {"chroma_alone_chunks": len(got["ids"]), "chroma_alone_batch": batch,
            "chroma_alone_chunks_per_s": round(len(got["ids"]) / seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=25_000)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "rag-bench-many-files")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--chroma-sample", type=int, default=20_000, help="chunks for the Chroma-alone figure")
    args = parser.parse_args()

    folder = args.folder / str(args.files)
    write_corpus(folder, args.files)
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(scratch) / "store"
        settings = bench_settings(store)
        ingestor = Ingestor(settings=settings)
        cpu_self, cpu_children = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        report = ingestor.run([folder])
        seconds = time.perf_counter() - started
        cpu_self = cpu_seconds(resource.RUSAGE_SELF) - cpu_self
        cpu_children = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_children
        chunks = ingestor.store.count()
        steps = {f"main_{step}_s": round(seconds, 1) for step, seconds in report.step_seconds.items()}
        figures: dict[str, object] = {
            "files": report.files_ingested, "files_failed": report.files_failed, "chunks": chunks,
            "ingest_s": round(seconds, 1), "chunks_per_s": round(chunks / seconds, 1),
            "main_cpu_s": round(cpu_self, 1), "worker_cpu_s": round(cpu_children, 1),
            "peak_rss_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "peak_rss_worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            **steps,
        }
        for key, value in figures.items():  # printed now: the rest takes minutes more
            print(f"{key:>26}: {value}", flush=True)
        figures = unchanged_rerun(folder, store)
        figures.update(query_latency(settings, args.queries))
        figures["disk_chroma_mb"] = disk_mb(store) - disk_mb(store / "lexical") - (store / "ingest-manifest.sqlite3").stat().st_size / 2**20
        figures["disk_lexical_mb"] = disk_mb(store / "lexical")
        figures.update(chroma_alone(ingestor.store.collection, args.chroma_sample, ingestor.store.batch_size))
        figures["load_average"] = " ".join(f"{load:.2f}" for load in os.getloadavg())
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

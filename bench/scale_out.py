"""The same folder through the three set-ups: local line into an embedded store, local line
into a Chroma server, and the Ray engine (local cluster) into the server; plus the server's
raw upsert rate and the bare model's rate at 1 and 2 threads (what one actor can do).

Every run starts from an empty store and includes model loading and, for Ray, starting the
cluster; the load average is printed beside each figure because other jobs may share the CPUs.

    .venv/bin/python bench/scale_out.py                      # 200 files of Cranfield abstracts
    .venv/bin/python bench/scale_out.py --files 400 --actors 1 --cpus-per-actor 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from pipeline import ingest  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from tests.chroma_server import ChromaServerProcess  # noqa: E402

CRANFIELD = REPO.parent / "shared" / "data" / "ir" / "cranfield" / "corpus.jsonl"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def make_folder(folder: Path, files: int, per_file: int = 3) -> None:
    """``files`` text files of ``per_file`` Cranfield abstracts each (about one chunk apiece)."""
    docs = [json.loads(line) for line in CRANFIELD.read_text(encoding="utf-8").splitlines()]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        picked = [docs[(n * per_file + i) % len(docs)] for i in range(per_file)]
        (folder / f"doc-{n:05d}.txt").write_text(
            "\n\n".join(f"{d['title']}\n{d['text']}" for d in picked), encoding="utf-8"
        )


def _config(path: Path, store: str, ray: str = "") -> Path:
    path.write_text(f"store:\n  {store}\n{ray}", encoding="utf-8")
    return path


def run(label: str, folder: Path, config: Path, engine: str) -> dict[str, object]:
    load_before = _load()
    report = ingest(folder, config=load_settings(config), engine=engine)
    row = {
        "setup": label, "files": report.files_ingested, "chunks": report.chunks_added, "seconds": round(report.seconds, 1),
        "chunks_per_s": round(report.chunks_added / report.seconds, 1), "load_before": load_before, "load_after": _load(),
    }
    print(json.dumps(row), flush=True)
    return row


def model_rate(texts: list[str], threads: int) -> dict[str, object]:
    import torch

    from pipeline.embedders import load_embedder
    from pipeline.steps.embed import EmbedStage

    settings = load_settings(REPO / "config.yaml")
    name, spec = settings.model_spec(None)
    torch.set_num_threads(threads)
    stage = EmbedStage(embedder=load_embedder(name, spec, settings.models), retry=settings.retry)
    stage.warm_up()
    stage.run(texts[:16])
    load_before = _load()
    started = time.perf_counter()
    stage.run(texts)
    seconds = time.perf_counter() - started
    row = {"setup": f"bare model, {threads} thread(s)", "chunks": len(texts), "seconds": round(seconds, 1),
           "chunks_per_s": round(len(texts) / seconds, 1), "load_before": load_before, "load_after": _load()}
    print(json.dumps(row), flush=True)
    return row


def upsert_rate(url: str, count: int = 10_000, batch: int = 1000) -> dict[str, object]:
    import chromadb

    host, port = url.removeprefix("http://").split(":")
    client = chromadb.HttpClient(host=host, port=int(port))
    collection = client.create_collection("upsert-rate", configuration={"hnsw": {"space": "cosine"}})
    vectors = np.random.default_rng(0).normal(size=(count, 384)).astype(np.float32)
    load_before = _load()
    started = time.perf_counter()
    for start in range(0, count, batch):
        ids = [f"id-{i}" for i in range(start, start + batch)]
        collection.upsert(ids=ids, embeddings=vectors[start : start + batch], documents=["some text " * 40] * batch,
                          metadatas=[{"doc_id": f"d{i // 10}", "chunk_index": i} for i in range(start, start + batch)])
    seconds = time.perf_counter() - started
    row = {"setup": f"chroma server upsert, batches of {batch}", "chunks": count, "seconds": round(seconds, 1),
           "chunks_per_s": round(count / seconds, 1), "load_before": load_before, "load_after": _load()}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--cpus-per-actor", type=float, default=1.0)
    parser.add_argument("--skip", default="", help="comma-separated: model,upsert,embedded,server,ray")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throwaway local cluster
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        work = Path(tmp)
        folder = work / "docs"
        make_folder(folder, args.files)
        print(json.dumps({"cpus": os.cpu_count(), "files": args.files, "load": _load()}), flush=True)
        if "model" not in skip:
            texts = [p.read_text(encoding="utf-8").split("\n\n")[0] for p in sorted(folder.iterdir())[:200]]
            model_rate(texts, 1)
            model_rate(texts, 2)
        server = ChromaServerProcess(work / "chroma").start()
        try:
            if "upsert" not in skip:
                upsert_rate(server.url)
            if "embedded" not in skip:
                run("local line, embedded store", folder, _config(work / "embedded.yaml", "path: embedded"), "local")
            if "server" not in skip:
                config = _config(work / "server.yaml", f"url: {server.url}\n  collection_prefix: local")
                run("local line, Chroma server", folder, config, "local")
            if "ray" not in skip:
                ray = (f"ray:\n  num_cpus: {os.cpu_count()}\n  object_store_mb: 512\n  embed_actors: {args.actors}\n"
                       f"  cpus_per_actor: {args.cpus_per_actor}\n")
                config = _config(work / "ray.yaml", f"url: {server.url}\n  collection_prefix: ray", ray)
                run(f"ray engine, {args.actors} actor(s) x {args.cpus_per_actor} CPU, Chroma server", folder, config, "ray")
        finally:
            server.stop()


if __name__ == "__main__":
    main()

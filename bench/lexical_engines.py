"""The lexical engines compared: the SQLite index against tantivy, on quality and at scale.

Quality: BM25 MAP@10 / nDCG@10 on Cranfield, CISI, CMRC 2018 and QBQTC, each engine indexing
the whole documents with the project's tokenizer (the evaluation harness's BM25 row).

Scale: ``--chunks`` chunks made of real sentences (English from Cranfield and CISI, Chinese
from CMRC 2018 and QBQTC; four to eight sentences a chunk, five chunks a file, half the files
in each language), indexed file batch by file batch as ingest does (200 files a commit); then
the real queries of the four sets (tokenised, k = 100, the query API's candidates), one at a
time. Each engine runs in a process of its own, so its memory is its own.

    .venv/bin/python bench/lexical_engines.py --quality
    .venv/bin/python bench/lexical_engines.py --chunks 100000
    .venv/bin/python bench/lexical_engines.py --chunks 1000000 --queries 100
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sqlite_lexical import SqliteLexicalIndex  # noqa: E402  (bench/, the engine tantivy replaced)

from pipeline.embedders.precision import cpu_flags  # noqa: E402
from pipeline.evaluation.datasets import load_dataset  # noqa: E402
from pipeline.evaluation.metrics import evaluate, mean, without_self_hits  # noqa: E402
from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex  # noqa: E402
from pipeline.retrieval.tokens import Tokenizer  # noqa: E402

IR = REPO.parent / "shared" / "data" / "ir"
SETS = ("cranfield", "cisi", "cmrc2018_retrieval", "qbqtc")
ENGINES = {"sqlite": SqliteLexicalIndex, "tantivy": LexicalIndex}
CHUNKS_PER_FILE = 5
FILES_PER_COMMIT = 200
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def quality(tokenizer: Tokenizer) -> None:
    print(f"{'set':20s} " + " ".join(f"{name + ' MAP@10':>15s} {name + ' nDCG@10':>16s}" for name in ENGINES))
    for name in SETS:
        dataset = load_dataset(IR / name)
        docs = [IndexedChunk(doc_id, doc_id, tokenizer.term_counts(doc.full_text))
                for doc_id, doc in dataset.corpus.items() if doc.full_text]
        queries = {qid: tokenizer.tokenize(text) for qid, text in dataset.queries.items()}
        cells = []
        for engine in ENGINES.values():
            index = engine(None, tokenizer_fingerprint=tokenizer.fingerprint)
            index.rebuild(docs)
            run = {qid: dict(index.search(terms, 100)) for qid, terms in queries.items()}
            index.close()
            scores = evaluate(dataset.qrels, without_self_hits(run, dataset.queries_in_corpus), ("map@10", "ndcg@10"))
            cells.append(f"{mean(scores, 'map@10'):15.4f} {mean(scores, 'ndcg@10'):16.4f}")
        print(f"{name:20s} " + " ".join(cells), flush=True)


def sentence_pools(tokenizer: Tokenizer) -> dict[str, list[Counter]]:
    """Term counts of every sentence of the four corpora, by language."""
    pools: dict[str, list[Counter]] = {"en": [], "zh": []}
    for name in SETS:
        language = "zh" if name in ("cmrc2018_retrieval", "qbqtc") else "en"
        for line in (IR / name / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            for sentence in _SENTENCE_END.split(f"{doc.get('title', '')} {doc.get('text', '')}"):
                terms = tokenizer.term_counts(sentence)
                if terms:
                    pools[language].append(Counter(terms))
    return pools


def real_queries(tokenizer: Tokenizer) -> list[list[str]]:
    queries = []
    for name in SETS:
        for line in (IR / name / "queries.jsonl").read_text(encoding="utf-8").splitlines():
            terms = tokenizer.tokenize(json.loads(line)["text"])
            if terms:
                queries.append(terms)
    random.Random(3).shuffle(queries)
    return queries


def files(pools: dict[str, list[Counter]], chunks: int, seed: int = 7):
    """(doc id, chunks) per file, built from real sentences; deterministic."""
    rng = random.Random(seed)
    for number in range(-(-chunks // CHUNKS_PER_FILE)):
        pool = pools["en" if number % 2 else "zh"]
        doc_id = f"file-{number:07d}"
        made = []
        for part in range(CHUNKS_PER_FILE):
            terms: Counter = Counter()
            for sentence in rng.sample(pool, rng.randint(4, 8)):
                terms.update(sentence)
            made.append(IndexedChunk(f"{doc_id}-{part}", doc_id, dict(terms)))
        yield doc_id, made


def scale(engine_name: str, chunks: int, tokenizer: Tokenizer, folder: Path, query_count: int) -> dict[str, object]:
    """One engine at one size, in this process: index, then query."""
    pools = sentence_pools(tokenizer)
    queries = real_queries(tokenizer)[:query_count]
    path = folder / (f"{engine_name}.sqlite3" if engine_name == "sqlite" else engine_name)
    index = ENGINES[engine_name](path, tokenizer_fingerprint=tokenizer.fingerprint)
    index.rebuild([])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    indexing = 0.0
    batch: dict[str, list[IndexedChunk]] = {}
    for doc_id, made in files(pools, chunks):
        batch[doc_id] = made
        if len(batch) == FILES_PER_COMMIT:
            started = time.perf_counter()
            index.replace_docs(batch)
            indexing += time.perf_counter() - started
            batch = {}
    if batch:
        started = time.perf_counter()
        index.replace_docs(batch)
        indexing += time.perf_counter() - started
    # One changed file: what the sync pays for it.
    doc_id, made = next(files(pools, CHUNKS_PER_FILE, seed=99))
    started = time.perf_counter()
    index.replace_docs({"file-0000001": [IndexedChunk(c.chunk_id.replace(doc_id, "file-0000001"), "file-0000001", c.terms)
                                         for c in made]})
    one_file_ms = (time.perf_counter() - started) * 1000
    index.search(queries[0], 100)
    times = []
    for terms in queries:
        started = time.perf_counter()
        index.search(terms, 100)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    count = index.count()
    index.close()
    disk = sum(f.stat().st_size for f in path.rglob("*")) if path.is_dir() else sum(
        p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return {
        "engine": engine_name, "chunks": count, "index_s": round(indexing, 1),
        "chunks_per_s": round(count / indexing), "one_file_ms": round(one_file_ms, 1),
        "query_p50_ms": round(statistics.median(times), 2), "query_p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "disk_mb": round(disk / 2**20), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", action="store_true", help="MAP@10 and nDCG@10 on the four sets")
    parser.add_argument("--chunks", type=int, help="index this many chunks with each engine and query them")
    parser.add_argument("--queries", type=int, default=400, help="real queries timed, one at a time (default 400)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="engines to compare (default: all)")
    parser.add_argument("--engine", choices=sorted(ENGINES), help=argparse.SUPPRESS)  # one engine, in-process
    args = parser.parse_args()
    tokenizer = Tokenizer()
    flags = " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in cpu_flags())
    print(f"CPU flags: {flags}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    if args.quality:
        quality(tokenizer)
    if args.chunks and args.engine:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(scale(args.engine, args.chunks, tokenizer, Path(folder), args.queries)), flush=True)
    elif args.chunks:
        for engine in args.engines.split(","):
            command = [sys.executable, __file__, "--chunks", str(args.chunks), "--queries", str(args.queries)]
            done = subprocess.run([*command, "--engine", engine],
                                  capture_output=True, text=True, check=False)
            print(done.stdout.strip().splitlines()[-1] if done.returncode == 0 else done.stderr[-2000:], flush=True)
            print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

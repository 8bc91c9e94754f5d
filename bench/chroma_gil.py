"""Does Chroma's upsert let other Python threads run? A busy loop's rate beside an upsert.

    .venv/bin/python bench/chroma_gil.py

Prints the upsert's time alone and with a Python thread spinning beside it, and the thread's
loop rate alone and during the upsert: a rate that collapses means the upsert holds the GIL.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

import chromadb
import numpy as np
from chromadb.config import Settings

RECORDS, BATCH = 6000, 1000


def main() -> None:
    client = chromadb.PersistentClient(path=tempfile.mkdtemp(), settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("bench", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
    vectors = np.random.default_rng(7).random((RECORDS, 384), dtype=np.float32)
    texts = ["word " * 200] * RECORDS

    def upsert(tag: str) -> None:
        for start in range(0, RECORDS, BATCH):
            rows = range(start, start + BATCH)
            collection.upsert(ids=[f"{tag}{i}" for i in rows], embeddings=vectors[start : start + BATCH],
                              documents=texts[start : start + BATCH], metadatas=[{"n": i} for i in rows])

    started = time.perf_counter()
    upsert("a")
    alone = time.perf_counter() - started
    turns, end = 0, time.perf_counter() + 2.0
    while time.perf_counter() < end:
        turns += 1
    rate_alone = turns / 2.0
    thread = threading.Thread(target=upsert, args=("b",))
    started = time.perf_counter()
    thread.start()
    turns = 0
    while thread.is_alive():
        turns += 1
    beside = time.perf_counter() - started
    print(f"upsert of {RECORDS} records: {alone:.2f} s alone, {beside:.2f} s with a busy thread; the thread's loop: "
          f"{rate_alone:,.0f}/s alone, {turns / beside:,.0f}/s during the upsert; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

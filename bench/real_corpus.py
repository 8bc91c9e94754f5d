"""A large corpus of real sentences for the scale benchmarks, and real queries to ask it.

English sentences come from Cranfield and CISI, Chinese ones from CMRC 2018 and QBQTC. A file
has five paragraphs of four to eight sentences drawn from one language (files alternate), so
it makes about five chunks; the queries are the four sets' own questions. Deterministic: the
same seed gives the same files.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Iterator
from functools import cache
from pathlib import Path

IR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ir"
SETS = {"cranfield": "en", "cisi": "en", "cmrc2018_retrieval": "zh", "qbqtc": "zh"}
PARAGRAPHS_PER_FILE = 5
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


@cache
def sentences() -> dict[str, list[str]]:
    """Every sentence of the four corpora, by language."""
    pools: dict[str, list[str]] = {"en": [], "zh": []}
    for name, language in SETS.items():
        for line in (IR / name / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            text = " ".join(f"{doc.get('title', '')} {doc.get('text', '')}".split())
            pools[language].extend(part for part in _SENTENCE_END.split(text) if len(part) > 3)
    return pools


def paragraphs(files: int, seed: int = 7) -> Iterator[tuple[int, str, list[str]]]:
    """(file number, language, paragraphs) for each file."""
    rng = random.Random(seed)
    pools = sentences()
    for number in range(files):
        language = "en" if number % 2 else "zh"
        joiner = " " if language == "en" else ""
        yield number, language, [
            joiner.join(rng.sample(pools[language], rng.randint(4, 8))) for _ in range(PARAGRAPHS_PER_FILE)
        ]


def write_corpus(folder: Path, files: int) -> None:
    """``files`` text files under ``folder`` (a thousand to a subfolder); kept for the next run."""
    marker = folder / f".complete-{files}"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    for number, _, parts in paragraphs(files):
        sub = folder / f"part-{number // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"file-{number:06d}.txt").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    marker.touch()


def queries(count: int, seed: int = 3) -> list[str]:
    """``count`` real questions of the four sets, shuffled (English and Chinese)."""
    found = [
        text
        for name in SETS
        for line in (IR / name / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        if re.search(r"[^\W_]", text := json.loads(line)["text"])  # a few queries of the sets are empty
    ]
    random.Random(seed).shuffle(found)
    return found[:count]

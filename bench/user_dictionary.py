"""A jieba user dictionary of a corpus's own frequent terms, for ``retrieval.user_dictionary``.

A term is a run of 2-4 consecutive jieba words, 3-6 characters in all, that occurs at least
``--min-count`` times in the corpus and holds together: it makes up at least ``--cohesion`` of
the occurrences of its rarest word (so "国务院 办公厅" qualifies, "中国 发展" does not). A term is
dropped when a longer one containing it occurs nearly as often (it is only ever part of that).

    .venv/bin/python bench/user_dictionary.py ../shared/data/ir/qbqtc eval-report/qbqtc.dict
    .venv/bin/python bench/chinese_tokens.py ../shared/data/ir/qbqtc --user-dictionary eval-report/qbqtc.dict
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.evaluation.datasets import load_dataset  # noqa: E402
from pipeline.retrieval import tokens  # noqa: E402


def word_runs(texts: list[str], tokenizer: tokens.Tokenizer) -> list[list[str]]:
    """Each Han run of the texts as jieba cuts it, after the tokenizer's own conversion."""
    runs = []
    for text in texts:
        for run in tokens._HAN_RUN.findall(tokenizer._to_simplified(text.lower())):
            runs.append(tokenizer._jieba.lcut(run, HMM=True))
    return runs


def frequent_terms(runs: list[list[str]], min_count: int, cohesion: float) -> dict[str, int]:
    words: Counter[str] = Counter(word for run in runs for word in run)
    sequences: Counter[tuple[str, ...]] = Counter()
    for run in runs:
        for start in range(len(run)):
            for size in (2, 3, 4):
                seq = tuple(run[start : start + size])
                if len(seq) < size or not 3 <= len("".join(seq)) <= 6:
                    continue
                if any(word in tokens.CHINESE_STOPWORDS for word in seq):
                    continue
                sequences[seq] += 1
    kept = {
        "".join(seq): count for seq, count in sequences.items()
        if count >= min_count and count >= cohesion * min(words[word] for word in seq)
    }
    # Drop a term that is nearly always inside a longer kept term.
    return {
        term: count for term, count in kept.items()
        if not any(term in longer and longer != term and other >= 0.8 * count for longer, other in kept.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a BEIR folder")
    parser.add_argument("output", type=Path, help="the dictionary file to write")
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--cohesion", type=float, default=0.5)
    parser.add_argument("--tokens", default=tokens.DEFAULT_CHINESE_TOKENS, choices=tokens.CHINESE_TOKENS)
    args = parser.parse_args()
    tokenizer = tokens.Tokenizer(chinese=args.tokens)
    dataset = load_dataset(args.dataset)
    runs = word_runs([doc.full_text for doc in dataset.corpus.values()], tokenizer)
    terms = frequent_terms(runs, args.min_count, args.cohesion)
    ordered = sorted(terms, key=lambda term: (-terms[term], term))
    # No frequency: jieba then gives each word just enough to be cut whole.
    args.output.write_text("".join(f"{term}\n" for term in ordered), encoding="utf-8")
    print(json.dumps({"terms": len(ordered), "top": ordered[:15]}, ensure_ascii=False))


if __name__ == "__main__":
    main()

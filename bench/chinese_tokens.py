"""BM25 with each Chinese tokenisation on BEIR folders: MAP@10, nDCG@10, hit@1, and speed.

The scores are the product's own: pipeline.retrieval's Tokenizer and LexicalIndex (in memory)
and pipeline.evaluation.metrics, as ``ingest-eval --mode beir`` scores
its BM25 line, without the dense models.

    .venv/bin/python bench/chinese_tokens.py ../shared/data/ir/cmrc2018_retrieval eval-report/cmrc-tw \\
        --tokens jieba bigrams simplified-jieba simplified-bigrams [--user-dictionary FILE]

A token choice may also be ``tw2sp-jieba`` (OpenCC's Taiwan-to-mainland phrase conversion),
``script-split`` (jieba for runs OpenCC leaves unchanged, bigrams for traditional runs) or
``simplified-both`` (jieba words and bigrams together, as the default now does),
``words-pairs`` (the default less single characters that jieba did not cut as words) or
``words-pairs-chars`` (the default less stop-word characters), for comparison only. Each choice after
the first gets a paired randomisation p-value of its MAP@10 against the first; with
``--user-dictionary``, each choice is also scored without it and compared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.evaluation.datasets import load_dataset  # noqa: E402
from pipeline.evaluation.metrics import evaluate, mean, without_self_hits  # noqa: E402
from pipeline.evaluation.stats import paired_randomization_p  # noqa: E402
from pipeline.retrieval import tokens  # noqa: E402
from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex  # noqa: E402

METRICS = ("map@10", "ndcg@10", "hit@1")
DEPTH = 100


class Tw2spTokenizer(tokens.Tokenizer):
    """simplified-jieba with OpenCC's tw2sp (Taiwan words to mainland words) instead of t2s."""

    @property
    def _converter(self):
        import opencc

        if not hasattr(self, "_tw2sp"):
            self._tw2sp = opencc.OpenCC("tw2sp")
        return self._tw2sp


class ScriptSplitTokenizer(tokens.Tokenizer):
    """jieba for simplified runs, bigrams for runs that OpenCC t2s would change (traditional)."""

    def tokenize(self, text: str) -> list[str]:
        import opencc

        if not hasattr(self, "_t2s"):
            self._t2s = opencc.OpenCC("t2s")
        out: list[str] = []
        for run in tokens._RUN.findall(text.lower()):
            if tokens._HAN_RUN.fullmatch(run) and self._t2s.convert(run) != run:
                out.extend(tokens._bigrams(run))
            else:
                out.extend(super().tokenize(run))
        return out


class BothTokenizer(tokens.Tokenizer):
    """simplified-jieba's words plus simplified-bigrams' characters and pairs."""

    def tokenize(self, text: str) -> list[str]:
        if not hasattr(self, "_bigram_side"):
            self._bigram_side = tokens.Tokenizer(chinese="simplified-bigrams", stem=self.stem)
        words = [term for term in super().tokenize(text) if tokens._HAN_RUN.fullmatch(term)]
        return words + self._bigram_side.tokenize(text)


class WordsPairsTokenizer(tokens.Tokenizer):
    """The default's terms less single characters (``drop="all"``) or less stop-word characters."""

    def __init__(self, *, drop: str = "all", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.drop = drop

    def tokenize(self, text: str) -> list[str]:
        out = super().tokenize(text)
        words = set(self._jieba.lcut(self._to_simplified(text.lower())))
        if self.drop == "all":
            # a single character stays when jieba cut it as a word (counted once then)
            words -= tokens.CHINESE_STOPWORDS
            return [t for t in out if len(t) != 1 or not tokens._HAN_RUN.fullmatch(t) or t in words]
        return [t for t in out if t not in tokens.CHINESE_STOPWORDS]


def make_tokenizer(choice: str, user_dictionary: str | None) -> tokens.Tokenizer:
    if choice == "tw2sp-jieba":
        return Tw2spTokenizer(chinese="simplified-jieba", user_dictionary=user_dictionary)
    if choice == "simplified-both":
        return BothTokenizer(chinese="simplified-jieba", user_dictionary=user_dictionary)
    if choice in ("words-pairs", "words-pairs-chars"):
        drop = "all" if choice == "words-pairs" else "stopwords"
        return WordsPairsTokenizer(drop=drop, chinese="simplified-jieba-bigrams", user_dictionary=user_dictionary)
    if choice == "script-split":
        return ScriptSplitTokenizer(chinese="jieba", user_dictionary=user_dictionary)
    return tokens.Tokenizer(chinese=choice, user_dictionary=user_dictionary)  # type: ignore[arg-type]


def score(
    folder: Path, choice: str, user_dictionary: str | None, on_disk: Path | None = None
) -> tuple[dict[str, object], dict[str, float]]:
    dataset = load_dataset(folder)
    tokenizer = make_tokenizer(choice, user_dictionary)
    tokenizer.warm_up()
    docs = [(doc_id, doc.full_text) for doc_id, doc in dataset.corpus.items() if doc.full_text]
    started = time.perf_counter()
    terms = [tokenizer.term_counts(text) for _, text in docs]
    seconds = time.perf_counter() - started
    path = on_disk / f"{folder.name}-{choice}" if on_disk else None
    if path is not None and path.exists():
        shutil.rmtree(path)
    index = LexicalIndex(path, tokenizer_fingerprint=tokenizer.fingerprint)
    started = time.perf_counter()
    index.rebuild(IndexedChunk(doc_id, doc_id, counts) for (doc_id, _), counts in zip(docs, terms))
    index_s = time.perf_counter() - started
    started = time.perf_counter()
    run = {qid: dict(index.search(tokenizer.tokenize(text), DEPTH)) for qid, text in dataset.queries.items()}
    query_ms = (time.perf_counter() - started) * 1000 / max(1, len(dataset.queries))
    index.close()
    run = without_self_hits(run, dataset.queries_in_corpus)
    per_query = evaluate(dataset.qrels, run, METRICS)
    row = {
        "dataset": folder.name, "tokens": choice, "user_dictionary": user_dictionary,
        **{metric: round(mean(per_query, metric), 4) for metric in METRICS},
        "chars_per_s": round(sum(len(text) for _, text in docs) / seconds),
        "postings": sum(map(len, terms)), "index_s": round(index_s, 2),
        "query_ms": round(query_ms, 2),
    }
    if path is not None:
        row["index_mb"] = round(path.stat().st_size / 2**20, 1)
    return row, {qid: values["map@10"] for qid, values in per_query.items()}


def _p_value(a: dict[str, float], b: dict[str, float]) -> float:
    qids = sorted(b)
    return round(paired_randomization_p([a.get(q, 0.0) for q in qids], [b[q] for q in qids]), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path, help="BEIR folders")
    parser.add_argument("--tokens", nargs="+", default=list(tokens.CHINESE_TOKENS))
    parser.add_argument("--user-dictionary", help="a jieba user dictionary for every choice")
    parser.add_argument("--on-disk", type=Path, help="build each index as a SQLite file in this folder (time, size)")
    args = parser.parse_args()
    for folder in args.datasets:
        first: dict[str, float] | None = None
        for choice in args.tokens:
            row, per_query = score(folder, choice, args.user_dictionary, args.on_disk)
            if first is None:
                first = per_query
            else:
                row["p_vs_first"] = _p_value(per_query, first)
            if args.user_dictionary:
                plain_row, plain = score(folder, choice, None)
                row["map@10_without_dictionary"] = plain_row["map@10"]
                row["p_vs_without_dictionary"] = _p_value(per_query, plain)
            print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

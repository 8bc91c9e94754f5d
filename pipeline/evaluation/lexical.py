"""The lexical baseline: BM25 (bm25s) with tokens that work for English and for Chinese.

Chinese has no spaces, so a whitespace tokenizer would make a whole sentence one token.
CJK text is cut into single characters plus overlapping character pairs (bigrams), the
usual choice for Chinese BM25 without a dictionary; other text into lower-cased words,
English stop words removed. No stemming.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from pipeline.cjk import CJK_RANGES

# Anserini's BM25 defaults, which BEIR's BM25 baselines use.
K1, B = 0.9, 0.4

_RUN = re.compile(rf"[{CJK_RANGES}]+|[^\W_{CJK_RANGES}]+")
_CJK_RUN = re.compile(rf"[{CJK_RANGES}]+")


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """Words for Latin script, characters and character bigrams for CJK."""
    tokens: list[str] = []
    for run in _RUN.findall(text.lower()):
        if _CJK_RUN.fullmatch(run):
            tokens.extend(run)
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif run not in stopwords:
            tokens.append(run)
    return tokens


class BM25Retriever:
    """BM25 over a fixed set of texts; ``search`` returns {id: score} for each query."""

    def __init__(self, ids: list[str], texts: list[str], *, k1: float = K1, b: float = B) -> None:
        import bm25s

        # bm25s sets its logger to DEBUG when imported; its per-call messages are noise here.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.ids = ids
        self.stopwords = _stopwords()
        self.index = bm25s.BM25(k1=k1, b=b)
        self.index.index([tokenize(text, self.stopwords) for text in texts], show_progress=False)
        self.vocabulary = set(self.index.vocab_dict)

    def search(self, queries: list[str], k: int = 100) -> list[dict[str, float]]:
        k = min(k, len(self.ids))
        tokenized = [[t for t in tokenize(q, self.stopwords) if t in self.vocabulary] for q in queries]
        results: list[dict[str, float]] = [{} for _ in queries]
        answerable = [i for i, tokens in enumerate(tokenized) if tokens]
        if not answerable or k == 0:
            return results
        documents, scores = self.index.retrieve(
            [tokenized[i] for i in answerable], k=k, show_progress=False, n_threads=1
        )
        for row, i in enumerate(answerable):
            # A document that shares no term scores 0; it was not found, only padded in.
            results[i] = {
                self.ids[int(doc)]: float(score)
                for doc, score in zip(documents[row], scores[row])
                if score > 0 and np.isfinite(score)
            }
        return results

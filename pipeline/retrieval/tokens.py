"""Lexical tokens for BM25 that work for English and for Chinese.

Chinese has no spaces, so a whitespace tokenizer would make a whole sentence one token.
Runs of Chinese characters are cut into dictionary words by jieba (or, with
``chinese="bigrams"``, into single characters plus overlapping pairs, which needs no
dictionary); kana and Hangul runs always into characters plus pairs. Other text becomes
lower-cased words, English stop words dropped, reduced to their Snowball stem
("turbulent", "turbulence" -> "turbul"), as Lucene's English analyzer does.

A :class:`Tokenizer` is picklable, so the parse workers can tokenise the chunks they make.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from functools import cached_property
from importlib import metadata
from typing import Literal

from pipeline.language import CJK_RANGES, HAN_RANGES

ChineseTokens = Literal["jieba", "bigrams"]

# Chinese function words and question words: in a question they match nearly every chunk and
# add only noise ("项目的预算金额是多少？" is about 项目, 预算 and 金额).
CHINESE_STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 等 之 其 这 那 这个 那个 这些 那些 有 也 都 就 而 并 被 把 将 对 于 从 以 为 由 "
    "中 上 下 吗 呢 吧 啊 呀 么 什么 哪 哪个 哪些 哪里 谁 何 多少 几 怎么 怎样 如何 为什么 是否 是不是 请问 "
    "一个 我 你 他 她 它 我们 你们 他们 自己 会 能 可以 要 所 着 过 地 得".split()
)

_RUN = re.compile(rf"[{HAN_RANGES}]+|[{CJK_RANGES}]+|[^\W_{CJK_RANGES}]+")
_HAN_RUN = re.compile(rf"[{HAN_RANGES}]+")
_CJK_RUN = re.compile(rf"[{CJK_RANGES}]+")


def _bigrams(run: str) -> list[str]:
    return [*run, *(run[i : i + 2] for i in range(len(run) - 1))]


class Tokenizer:
    """Text -> BM25 terms; the same instance (settings) must index and query a collection."""

    def __init__(self, *, chinese: ChineseTokens = "jieba", stem: bool = True, stopwords: bool = True) -> None:
        if chinese not in ("jieba", "bigrams"):
            raise ValueError(f"chinese tokens must be 'jieba' or 'bigrams', not {chinese!r}")
        self.chinese = chinese
        self.stem = stem
        self.stopwords = stopwords

    def __getstate__(self) -> dict[str, object]:
        return {"chinese": self.chinese, "stem": self.stem, "stopwords": self.stopwords}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever the same text could get other terms: index and queries must agree."""
        parts = {"settings": self.__getstate__(), "rules": 2}
        for package in ("jieba", "PyStemmer", "bm25s"):
            try:
                parts[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                parts[package] = None
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    @cached_property
    def _stopwords(self) -> frozenset[str]:
        if not self.stopwords:
            return frozenset()
        from bm25s.stopwords import STOPWORDS_EN

        return frozenset(STOPWORDS_EN)

    @cached_property
    def _chinese_stopwords(self) -> frozenset[str]:
        return CHINESE_STOPWORDS if self.stopwords else frozenset()

    @cached_property
    def _stemmer(self):  # noqa: ANN202 - Stemmer.Stemmer, imported lazily
        if not self.stem:
            return None
        import Stemmer

        return Stemmer.Stemmer("english")

    @cached_property
    def _jieba(self):  # noqa: ANN202 - jieba.Tokenizer, imported lazily
        import jieba

        # jieba logs the building of its dictionary at INFO on every process start.
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        return tokenizer

    def warm_up(self) -> None:
        """Load the dictionary and stemmer now rather than on the first text."""
        if self.chinese == "jieba":
            _ = self._jieba
        _ = self._stemmer, self._stopwords

    def tokenize(self, text: str) -> list[str]:
        """The terms of ``text``, in order, repeats kept (term frequency counts them)."""
        tokens: list[str] = []
        words: list[str] = []
        for run in _RUN.findall(text.lower()):
            if _HAN_RUN.fullmatch(run):
                if self.chinese == "jieba":
                    tokens.extend(word for word in self._jieba.lcut(run, HMM=True) if word not in self._chinese_stopwords)
                else:
                    tokens.extend(_bigrams(run))
            elif _CJK_RUN.fullmatch(run):
                tokens.extend(_bigrams(run))
            elif len(run) > 1 and run not in self._stopwords:
                words.append(run)
        if words:
            tokens.extend(self._stemmer.stemWords(words) if self._stemmer is not None else words)
        return tokens

    def term_counts(self, text: str) -> dict[str, int]:
        return dict(Counter(self.tokenize(text)))
